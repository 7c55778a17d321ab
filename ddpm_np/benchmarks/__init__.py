"""Benchmarks that print figures (never timed tests): `ddpm-np bench conv|unet|profile|scaling|
train` and `python -m ddpm_np.benchmarks.levers`. docs/performance.md quotes them, each with its
command.

- unet.py: a convolution per shape, and the UNet's training step and forward pass, against this
  machine's GEMM rate; bounds.py: the convolutions' matrix products alone (what bounds them);
- profile.py: where a step's time goes, layer by layer; levers.py: each lever of the fast tier
  against what it replaced; scaling.py: cost against batch and image size;
- parallel.py: data-parallel training under mpiexec; flops.py, tools.py: what they share.
"""
