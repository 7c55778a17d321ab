"""DDPM on an equal-weight mixture of two well-separated Gaussians.

Trains a time-conditioned MLP with L_simple (Algorithm 1), samples 2,000 points with the ancestral
sampler (Algorithm 2), measures them (energy distance against its noise floor, and more in
metrics.json) and draws the figures, all under runs/two-gaussians/. Expected runtime on 2 cores: under
a minute (a few seconds with --quick).

    python demos/two_gaussians.py [--quick] [--seed N] [--steps N] [--out DIR]
"""
import sys

from ddpm_np.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "two-gaussians"] + sys.argv[1:]))
