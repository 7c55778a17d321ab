"""Benchmarks that print figures (never timed tests): `ddpm-np bench conv|unet|profile|scaling|
train|busy|calibrate` and `python -m ddpm_np.benchmarks.levers`. docs/performance.md quotes
them, each with its command.

- unet.py: a convolution per shape, and the UNet's training step and forward pass, against this
  machine's GEMM rate; bounds.py: the convolutions' matrix products alone (what bounds them);
- profile.py: where a step's time goes, layer by layer; levers.py: each lever of the fast tier
  against what it replaced; scaling.py: cost against batch and image size;
- parallel.py: data-parallel training under mpiexec; busy.py: the demo, a tutorial chapter and
  a training step, quiet and beside two busy loops; calibrate.py: this machine's choices for
  the fast tier (nn/fast/tuning.py); flops.py, tools.py: what they share.
"""

BENCHMARKS = ("conv", "unet", "profile", "train", "scaling", "busy", "calibrate")
BATCHED = ("conv", "unet", "profile", "train", "calibrate")     # take --batch
UNREPEATED = ("busy", "calibrate")                              # take no --repeats
BYTES_PER_EXAMPLE = 20 * 2**20      # a UNet training step's activations and gradients, per image


def run_benchmark(what: str = "conv", batch: int | None = None, repeats: int | None = None,
                  figure=None, quick: bool = False, overwrite: bool = False):
    """`ddpm-np bench WHAT`: print one benchmark's figures (`batch`: default 64, `repeats`:
    default 5, each refused where it has no effect; `figure`: scaling's curves, .png, not
    replaced without `overwrite`; `quick`: busy's small workloads). A batch that would not fit
    this machine's memory is refused before any work."""
    from ..checks import check_int, check_memory
    if what not in BENCHMARKS:
        raise ValueError(f"benchmark must be one of {', '.join(BENCHMARKS)}, got {what!r}")
    if figure and what != "scaling":
        raise ValueError("--figure applies to bench scaling")
    if quick and what != "busy":
        raise ValueError("--quick applies to bench busy")
    if batch is not None and what not in BATCHED:
        raise ValueError(f"--batch applies to bench {', '.join(BATCHED)}, not {what}")
    if repeats is not None and what in UNREPEATED:
        raise ValueError(f"--repeats does not apply to bench {what}")
    batch = check_int(64 if batch is None else batch, "batch")
    repeats = check_int(5 if repeats is None else repeats, "repeats", high=1000)
    if what in BATCHED:
        check_memory(batch * BYTES_PER_EXAMPLE, f"bench {what} at batch {batch} (--batch)")
    if what == "calibrate":
        from .calibrate import bench_calibrate
        return bench_calibrate(batch=batch)
    if what == "busy":
        from .busy import bench_busy
        return bench_busy(quick=quick)
    if what == "scaling":
        from ..run.folders import check_file
        from .scaling import bench_scaling
        if figure:
            check_file(figure, (".png",), overwrite, "--figure")
        return bench_scaling(figure=figure, repeats=min(repeats, 3))
    if what == "train":
        from .parallel import bench_train
        return bench_train(batch=batch, repeats=repeats)
    if what == "profile":
        from .profile import bench_profile
        return bench_profile(batch=batch, repeats=repeats)
    from .unet import bench_conv, bench_unet
    return (bench_conv if what == "conv" else bench_unet)(batch=batch, repeats=repeats)
