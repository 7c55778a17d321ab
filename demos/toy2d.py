"""DDPM on 2-D data, top to bottom: config, data, model, the training loop (Algorithm 1),
sampling (Algorithm 2), one metric, one figure. Under a minute on 2 cores (seconds with
--quick).

It is `ddpm-np demo NAME` written out: the same configuration, seed and random streams, so the
same samples (tests/test_demos.py checks it). That command also writes a checkpoint, more
metrics and more figures (ddpm_np/tasks/toy.py).

    python demos/toy2d.py [spiral|moons|gaussian|two-gaussians|double-well] [--quick]
                          [--seed N] [--out DIR]
"""
import argparse
import time
from pathlib import Path

import numpy as np

from ddpm_np.data import toy2d
from ddpm_np.diffusion import NoiseSchedule, ddpm_sample, diffusion_loss, sample_training_batch
from ddpm_np.metrics import energy_distance, energy_noise_floor
from ddpm_np.models import MLP
from ddpm_np.nn.optim import EMA, Adam, clip_grad_norm, warmup_cosine_lr
from ddpm_np.plotting import scatter_compare

# -- config -----------------------------------------------------------------------------------
p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("name", nargs="?", default="spiral", choices=toy2d.NAMES)
p.add_argument("--quick", action="store_true", help="a tiny run that takes seconds")
p.add_argument("--seed", type=int, default=0)
p.add_argument("--out", help="folder for the figure (default runs/NAME-script)")
args = p.parse_args()
name, quick, seed = args.name, args.quick, args.seed
N_TRAIN = 20_000                                 # training points
T = 50 if quick else 200                         # diffusion steps (T = 1000 needs 5× more)
STEPS = {"gaussian": 3000, "two-gaussians": 3000, "spiral": 5000, "double-well": 4000,
         "moons": 4000}
steps = 100 if quick else STEPS[name]            # training steps
batch_size, lr, warmup, min_lr, grad_clip = 256, 2e-3, 100, 1e-5, 1.0
ema_decay = 0.995 if quick else 0.999
n_samples = 500 if quick else 2000
out = Path(args.out or f"runs/{name}-script")
out.mkdir(parents=True, exist_ok=True)

# -- data: N_TRAIN points of the distribution, from the seed's first random stream -------------
data_rng, model_rng, sample_rng, eval_rng = np.random.default_rng(seed).spawn(4)
x_train = toy2d.sample(name, N_TRAIN, data_rng)                    # (N_TRAIN, 2)

# -- model: ε_θ(x_t, t), a time-conditioned MLP; the noise schedule β_1 … β_T -------------------
model = MLP(dim=2, hidden=32 if quick else 128, num_blocks=2 if quick else 3, rng=model_rng)
# β scaled by 1000/T from Ho et al.'s 1e-4 … 0.02 keeps ᾱ_T ≈ 4e-5 as for T = 1000
schedule = NoiseSchedule.linear(T, beta_1=1e-4 * 1000 / T, beta_T=0.02 * 1000 / T)
params = model.parameters()
opt = Adam(params, lr=lr)
ema = EMA(params, ema_decay)                     # sampling uses the averaged weights
print(f"{name}: {model.num_parameters():,} parameters, T = {T}, {steps} steps")

# -- the training loop: Algorithm 1 -----------------------------------------------------------
rng = np.random.default_rng(seed)                # the training run's own stream
t0 = time.perf_counter()
for k in range(1, steps + 1):
    x0 = x_train[rng.integers(0, N_TRAIN, size=batch_size)]       # x_0 ~ q(x_0)
    t, eps, xt = sample_training_batch(x0, schedule, rng)          # t ~ U{1..T}, ε ~ N(0, I)
    loss, d_eps = diffusion_loss(model(xt, t), x0, eps, t, schedule)   # ‖ε − ε_θ(x_t, t)‖²
    model.zero_grad()
    model.backward(d_eps)                        # ∇_θ by hand, layer by layer
    clip_grad_norm(params, grad_clip)
    opt.lr = warmup_cosine_lr(k, lr, warmup, steps, min_lr)
    opt.step()
    ema.update()
    if k % max(1, steps // 10) == 0:
        print(f"  step {k:5d}  loss {loss:.4f}")
print(f"trained in {time.perf_counter() - t0:.1f} s")

# -- sampling: Algorithm 2, all T steps, with the EMA weights ----------------------------------
ema.swap()
samples = ddpm_sample(model, (n_samples, 2), schedule, sample_rng, progress=False)

# -- one metric: energy distance to fresh data, against what two true samples score ----------
fresh = toy2d.sample(name, n_samples, eval_rng)
ed = energy_distance(samples, fresh)
floor, _ = energy_noise_floor(lambda n, r: toy2d.sample(name, n, r), n_samples, eval_rng)
print(f"energy distance {ed:.4f} (noise floor {floor:.4f}, ratio {ed / floor:.2f})")

# -- one figure -------------------------------------------------------------------------------
scatter_compare(fresh, samples, out / "samples.png",
                f"{name}: data vs DDPM samples (energy distance {ed:.3f}, floor {floor:.3f})")
np.save(out / "samples.npy", samples)
print(f"wrote {out / 'samples.png'} and samples.npy")
