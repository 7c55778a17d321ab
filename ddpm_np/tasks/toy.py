"""The 2-D demos: data → model → train (Algorithm 1) → sample (Algorithm 2) → metrics → figures.

`run_toy_demo(name)` is what `ddpm-np demo NAME` calls; `demos/toy2d.py` writes out its first
half (the same samples). Outputs go under `runs/<name>/` (`runs/<name>-linear/` with
`model="linear"`): checkpoint.npz (+ .json), samples.npy, metrics.json, and the figures
samples.png, forward.png, reverse.png, loss.png, reverse.gif (+ marginals.png for the Gaussians,
energy.png for the double well).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import norm

from ..run.checkpoint import atomic_write
from ..data import toy2d
from ..data.batching import ArrayDataset
from ..diffusion import (NoiseSchedule, ddpm_sample, gaussian_mixture_eps_model,
                         nll_bits_per_dim, q_sample)
from ..diffusion.gaussian import LN2
from ..models import MLP, LinearEps
from ..train import TrainConfig, Trainer
from .. import plotting
from ..metrics import energy_distance, energy_noise_floor, mixture_weights, moment_errors

# Toy data needs fewer steps than images: T = 200 with the linear schedule's β scaled by 1000/T
# (β_1 = 5e-4, β_T = 0.1), which keeps ᾱ_T ≈ 4e-5 as for T = 1000 and makes sampling 5× cheaper.
T_TOY = 200
STEPS = {"gaussian": 3000, "two-gaussians": 3000, "spiral": 5000, "double-well": 4000,
         "moons": 4000}
N_TRAIN, N_SAMPLES, N_VLB = 20_000, 2000, 1000
TOY_MODELS = ("mlp", "linear")
DEMO_FILES = ("checkpoint.npz", "checkpoint.json", "samples.npy", "metrics.json", "samples.png",
              "forward.png", "reverse.png", "loss.png", "reverse.gif", "marginals.png",
              "energy.png")
LINEAR_LR = 1e-2        # the linear model's loss is a convex quadratic: a larger step is safe


def demo_out(name: str, model: str | None = None) -> Path:
    """Where a demo writes by default: runs/NAME (runs/NAME-linear for the linear model)."""
    return Path("runs") / (name if model in (None, "mlp") else f"{name}-{model}")


def toy_schedule(T: int = T_TOY) -> NoiseSchedule:
    return NoiseSchedule.linear(T, beta_1=1e-4 * 1000 / T, beta_T=0.02 * 1000 / T)


def run_toy_demo(name: str, out_dir=None, quick: bool = False, seed: int = 0,
                 steps: int | None = None, progress: bool = True, log=print,
                 model: str = "mlp") -> dict:
    """Train, sample, measure and draw one toy demo; returns the metrics dict. `model`: "mlp"
    (the default) or "linear" (`LinearEps`: a matrix per time step, exact for one Gaussian and
    wrong for anything else)."""
    toy2d.check_name(name)
    if model not in TOY_MODELS:
        raise ValueError(f"model must be one of {', '.join(TOY_MODELS)}, got {model!r}")
    out = Path(out_dir) if out_dir is not None else demo_out(name, model)
    out.mkdir(parents=True, exist_ok=True)
    clock = _Clock()
    run = toy_run(name, model, quick, seed, steps)
    trainer = Trainer(run["net"], run["schedule"], run["data"], run["cfg"], out,
                      meta={"demo": name})
    trainer.run(progress=progress)                                     # Algorithm 1
    clock.lap("train_s")
    trainer.ema.swap()                                                 # sample with the EMA
    samples, traj = ddpm_sample(run["net"], (run["n_samples"], 2), run["schedule"],
                                run["sample_rng"], progress=progress, return_trajectory=True,
                                trajectory_every=max(1, run["T"] // 40))   # Algorithm 2
    atomic_write(out / "samples.npy", lambda f: np.save(f, samples))
    clock.lap("sample_s")
    fresh = toy2d.sample(name, run["n_samples"], run["eval_rng"])
    metrics = toy_metrics(run, samples, fresh, trainer.log["loss"])
    clock.lap("metrics_s")
    figs = toy_figures(run, out, samples, fresh, traj, trainer.log, metrics)
    clock.lap("figures_s")
    metrics["timings"] = dict(clock.laps, total_s=clock.total())
    metrics["files"] = sorted(p.name for p in out.iterdir() if not p.name.endswith(".tmp"))
    text = json.dumps(metrics, indent=1)
    atomic_write(out / "metrics.json", lambda f: f.write(text.encode()))
    ed, floor = metrics["energy_distance"], metrics["energy_noise_floor"]
    log(f"{name}{' (linear model)' if model == 'linear' else ''}: energy distance {ed:.4f} "
        f"(noise floor {floor:.4f}, ratio {ed / floor:.2f}); {clock.total():.1f} s in all")
    log(f"wrote {len(figs)} figures, samples.npy, metrics.json and checkpoint.npz to {out}/")
    return metrics


class _Clock:
    """Seconds per stage of a demo (`lap(name)`: since the last lap) and in all."""

    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.laps = {}

    def lap(self, name):
        now = time.perf_counter()
        self.laps[name], self.last = now - self.last, now

    def total(self):
        return time.perf_counter() - self.start


def toy_run(name, model="mlp", quick=False, seed=0, steps=None) -> dict:
    """A demo's configuration, data and network: T, the schedule, the training config, the
    N_TRAIN points, the ε-network, and the seed's four random streams (data, model, sampling,
    evaluation), as `demos/toy2d.py` makes them."""
    T = 50 if quick else T_TOY
    cfg = TrainConfig(steps=steps or (100 if quick else STEPS[name]), batch_size=256,
                      lr=LINEAR_LR if model == "linear" else 2e-3,
                      warmup_steps=100, ema_decay=0.995 if quick else 0.999,
                      checkpoint_every=1000, seed=seed)
    data_rng, model_rng, sample_rng, eval_rng = np.random.default_rng(seed).spawn(4)
    x_train = toy2d.sample(name, N_TRAIN, data_rng)
    net = LinearEps(dim=2, T=T) if model == "linear" else MLP(
        dim=2, hidden=32 if quick else 128, num_blocks=2 if quick else 3, rng=model_rng)
    data = ArrayDataset(x_train, description={"dataset": name, "n": N_TRAIN, "seed": seed,
                                              "kind": "points", "shape": [2], "classes": None})
    return dict(name=name, model=model, quick=quick, seed=seed, T=T, schedule=toy_schedule(T),
                cfg=cfg, data=data, net=net, n_samples=500 if quick else N_SAMPLES,
                sample_rng=sample_rng, eval_rng=eval_rng)


def toy_metrics(run, samples, fresh, losses) -> dict:
    """The energy distance of the samples to fresh data against its noise floor, and what each
    distribution allows besides: moments, mixture weights, wells, and the bound in bits/dim
    against the exact NLL where the density is known."""
    name, eval_rng, n = run["name"], run["eval_rng"], run["n_samples"]
    ed = energy_distance(samples, fresh)
    floor, floor_sd = energy_noise_floor(lambda k, r: toy2d.sample(name, k, r), n, eval_rng)
    metrics = {"dataset": name, "model": run["model"], "steps": run["cfg"].steps, "T": run["T"],
               "n_samples": n, "seed": run["seed"], "quick": run["quick"],
               "energy_distance": ed, "energy_noise_floor": floor,
               "energy_noise_floor_sd": floor_sd, "energy_ratio": ed / floor,
               "final_loss": float(np.mean(losses[-100:]))}
    if name == "gaussian":
        metrics.update(moment_errors(samples, toy2d.GAUSSIAN_MEAN, toy2d.GAUSSIAN_COV))
    if name == "two-gaussians":
        metrics["mixture_weights"] = mixture_weights(samples, toy2d.TWO_MEANS).tolist()
    if run["model"] == "linear":    # what a linear ε can reach: the data's first two moments
        metrics["moments_vs_data"] = moment_errors(samples, fresh.mean(0), np.cov(fresh.T))
    if name == "double-well":
        metrics["well_occupancy"] = mixture_weights(samples[:, :1], [[-1.0], [1.0]]).tolist()
        metrics["mean_energy"] = float(toy2d.double_well_energy(samples).mean())
        metrics["true_mean_energy"] = float(toy2d.double_well_energy(fresh).mean())
    if toy2d.has_log_prob(name):
        metrics.update(_bound(run))
    return metrics


def _bound(run) -> dict:
    """The variational bound in bits/dim on fresh points against their exact NLL (and, for
    two Gaussians, the bound of the exact optimal ε: how loose the bound itself is)."""
    name, schedule, eval_rng = run["name"], run["schedule"], run["eval_rng"]
    x_eval = toy2d.sample(name, 200 if run["quick"] else N_VLB, eval_rng)
    bpd, se, _ = nll_bits_per_dim(run["net"], x_eval, schedule, eval_rng, decoder="gaussian")
    exact = float(-toy2d.log_prob(name, x_eval).mean() / 2 / LN2)
    found = dict(vlb_bits_per_dim=bpd, vlb_stderr=se, exact_nll_bits_per_dim=exact,
                 vlb_gap_bits_per_dim=bpd - exact)
    if name == "two-gaussians":
        opt = gaussian_mixture_eps_model(toy2d.TWO_MEANS, [toy2d.TWO_STD] * 2, [0.5, 0.5],
                                         schedule)
        found["vlb_optimal_model_bits_per_dim"] = nll_bits_per_dim(
            opt, x_eval, schedule, eval_rng, decoder="gaussian")[0]
    return found


def toy_figures(run, out, samples, fresh, traj, log, metrics) -> list:
    """samples.png, forward.png, reverse.png, loss.png, reverse.gif, and marginals.png or
    energy.png where the distribution has them."""
    name, T, schedule = run["name"], run["T"], run["schedule"]
    of_linear = " of the linear model" if run["model"] == "linear" else ""
    figs = [plotting.scatter_compare(
        fresh, samples, out / "samples.png",
        f"{name}: data vs DDPM samples{of_linear} (energy distance "
        f"{metrics['energy_distance']:.3f}, noise floor {metrics['energy_noise_floor']:.3f})")]
    ts_fwd = [0, T // 20, T // 10, T // 4, T // 2, T]
    x0 = fresh[:1000].astype(np.float64)
    frames = [q_sample(x0, t, run["eval_rng"].standard_normal(x0.shape), schedule)
              for t in ts_fwd]
    figs.append(plotting.process_strip(frames, ts_fwd, out / "forward.png",
                                       f"forward process q(x_t | x_0), {name}"))
    strip = np.unique(np.linspace(0, len(traj["t"]) - 1, 6).round().astype(int))
    figs.append(plotting.process_strip(traj["xt"][strip, :1000], traj["t"][strip],
                                       out / "reverse.png",
                                       f"reverse process p_θ(x_(t−1) | x_t), {name} "
                                       "(orange), data behind (grey)", data=fresh[:1000]))
    figs.append(plotting.loss_curve(log["step"], log["loss"], out / "loss.png",
                                    f"{name}: L_simple during training"))
    figs.append(plotting.reverse_gif(traj["xt"][:, :1000], traj["t"], out / "reverse.gif",
                                     data=fresh[:1000], fps=10))
    if name in ("gaussian", "two-gaussians"):
        figs.append(plotting.marginals(fresh, samples, out / "marginals.png",
                                       _true_marginals(name), f"{name}: marginals"))
    if name == "double-well":
        figs.append(plotting.energy_histogram(toy2d.double_well_energy(fresh),
                                              toy2d.double_well_energy(samples),
                                              out / "energy.png", toy2d.DW_KT,
                                              "double well: energy of true vs generated samples"))
    return figs


def _true_marginals(name):
    if name == "gaussian":
        m, c = toy2d.GAUSSIAN_MEAN, toy2d.GAUSSIAN_COV
        return [lambda g, d=d: norm.pdf(g, m[d], np.sqrt(c[d, d])) for d in (0, 1)]
    mu, s = toy2d.TWO_MEANS, toy2d.TWO_STD
    return [lambda g, d=d: 0.5 * norm.pdf(g, mu[0, d], s) + 0.5 * norm.pdf(g, mu[1, d], s)
            for d in (0, 1)]
