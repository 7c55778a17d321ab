"""DDPM on the Boltzmann distribution of a 2-D double-well potential (energy histogram).

Trains a time-conditioned MLP with L_simple (Algorithm 1), samples 2,000 points with the ancestral
sampler (Algorithm 2), measures them (energy distance against its noise floor, and more in
metrics.json) and draws the figures, all under runs/double-well/. Expected runtime on 2 cores: under
a minute (a few seconds with --quick).

    python demos/double_well.py [--quick] [--seed N] [--steps N] [--out DIR]
"""
import sys

from ddpm_np.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "double-well"] + sys.argv[1:]))
