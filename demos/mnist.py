"""Digits from the shipped class-conditional UNet, top to bottom: load the weights, classifier-
free guidance, DPM-Solver++(2M) in 5 steps, one metric, one figure. Seconds on 2 cores.

The samples are those `ddpm-np demo mnist` draws (same seed, labels, guidance and sampler);
that command also draws the reverse and forward processes (ddpm_np/tasks/mnist_sample.py).
`ddpm-np demo mnist --train` retrains the model first (about an hour; docs/results.md).

    python demos/mnist.py [--seed N] [--guidance W] [--out DIR]
"""
import argparse
import time
from pathlib import Path

import numpy as np

from ddpm_np.diffusion import dpm_solver_sample, guided_eps_model
from ddpm_np.metrics import load_classifier
from ddpm_np.tasks.mnist_sample import CLIP, DEMO_SAMPLER, GUIDANCE, resolve_checkpoint
from ddpm_np.plotting import image_grid
from ddpm_np.run.loading import load_for_sampling

# -- config -----------------------------------------------------------------------------------
p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--seed", type=int, default=0)
p.add_argument("--guidance", type=float, default=GUIDANCE, help="w (default 0.5)")
p.add_argument("--out", default="runs/mnist-script", help="folder for the figure")
args = p.parse_args()
per_digit = 8
steps = DEMO_SAMPLER[1]                          # DPM-Solver++(2M) steps
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)

# -- model: the EMA weights of the shipped UNet and its noise schedule --------------------------
model, schedule, meta = load_for_sampling(resolve_checkpoint("mnist"))
print(f"UNet, {model.num_parameters():,} parameters, trained {meta['step']} steps, T = "
      f"{schedule.T}")

# -- sampling: ε̃ = (1 + w)·ε_θ(x_t, t, y) − w·ε_θ(x_t, t, ∅), then the solver ----------------
y = np.repeat(np.arange(10), per_digit)          # a row per digit
eps_model = guided_eps_model(model, y, args.guidance)
t0 = time.perf_counter()
x = dpm_solver_sample(eps_model, (len(y), 1, 28, 28), schedule, np.random.default_rng(args.seed),
                      steps=steps, clip_x0=CLIP, progress=False)
x = np.clip(x, -1, 1)
print(f"{len(y)} digits in {time.perf_counter() - t0:.1f} s")

# -- one metric: how many the project's digit classifier reads as the digit asked for ---------
probs, _ = load_classifier().predict(x.astype(np.float32))
print(f"{np.mean(probs.argmax(1) == y):.1%} read as the requested digit")

# -- one figure -------------------------------------------------------------------------------
image_grid(x, out / "samples_grid.png", nrow=per_digit, row_labels=[str(d) for d in range(10)],
           title=f"DPM-Solver++(2M)-{steps}, guidance {args.guidance}")
print(f"wrote {out / 'samples_grid.png'}")
