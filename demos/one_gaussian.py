"""DDPM on one anisotropic Gaussian (not centred at the origin).

Trains a time-conditioned MLP with L_simple (Algorithm 1), samples 2,000 points with the ancestral
sampler (Algorithm 2), measures them (energy distance against its noise floor, and more in
metrics.json) and draws the figures, all under runs/gaussian/. Expected runtime on 2 cores: under
a minute (a few seconds with --quick).

    python demos/one_gaussian.py [--quick] [--seed N] [--steps N] [--out DIR]
"""
import sys

from ddpm_np.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "gaussian"] + sys.argv[1:]))
