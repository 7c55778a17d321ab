"""MNIST sampling and figures: what `ddpm-np demo mnist` and `ddpm-np sample` call."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..run.checkpoint import atomic_write
from ..data.mnist import load_mnist, to_model_range
from ..data.own import is_own
from ..diffusion import (as_eps_model, ddim_sample, ddpm_sample, dpm_solver_sample,
                         guided_eps_model, q_sample)
from ..diffusion.learned_variance import (ancestral_sample, eps_only, guided_with_variance,
                                          with_variance)
from .. import plotting
from ..metrics import weights_path

PRETRAINED = "mnist.npz"
DEMO_FILES = ("demo.json", "samples_grid.png", "reverse_strip.png", "forward_strip.png",
              "reverse.gif")
# What `ddpm-np demo mnist` samples with: the fewest model evaluations whose Fréchet ratio stays
# below 3 with room for the ±15% a 1,000-sample measurement moves, and ≥ 95% read as requested
# (the few-steps table in docs/results.md).
DEMO_SAMPLER = ("dpm++2m", 5)
# The steps a deterministic sampler takes when none are asked for.
SAMPLER_STEPS = {"ddim": 50, "dpm++2m": 15}


class NonFiniteSamples(Exception):
    """The sampler produced NaN or Inf: nothing is written as if it were a result."""
CLIP = 1.0   # images live in [−1, 1]: clip x̂_0 there at every step (as Ho et al.'s sampler does)
# Classifier-free guidance weight w used by default (ε = (1+w)·ε(x, y) − w·ε(x, ∅)): the one
# that met both targets of the guidance sweep (Fréchet ratio ≤ 3, ≥ 95% read as the requested
# digit); the sweep and its command are in docs/results.md.
GUIDANCE = 0.5


def resolve_checkpoint(name_or_path) -> Path:
    """`mnist` names the shipped pretrained model; anything else is a path."""
    if str(name_or_path) == "mnist":
        return weights_path(PRETRAINED)
    return Path(name_or_path)


def sample_images(model, schedule, n, rng, labels=None, guidance=0.0, sampler="ddim",
                  steps=None, batch_size=100, progress=True, eta=0.0, clip=True,
                  spacing="trailing", shape=(1, 28, 28)):
    """n images (n, *shape) (default MNIST's 1×28×28), in batches (bounded memory). labels:
    (n,) or None. steps: the
    sampler's (default SAMPLER_STEPS; "ddpm" takes all T, or with a learned variance `steps`
    of a respaced chain if given). With `clip` the result is clipped to [−1, 1]; without, a
    value that overflowed stays visible."""
    if steps is None and sampler in SAMPLER_STEPS:
        steps = min(SAMPLER_STEPS[sampler], schedule.T)
    out = []
    for i in tqdm(range(0, n, batch_size), desc="sampling", disable=not progress or
                  n <= batch_size, leave=False):
        m = min(batch_size, n - i)
        y = None if labels is None else np.asarray(labels[i:i + m])
        learned = sampler == "ddpm" and getattr(model, "learn_sigma", False)
        if learned:
            eps_model = guided_with_variance(model, y, guidance) if model.num_classes \
                is not None else with_variance(model)
        elif model.num_classes is not None:
            eps_model = guided_eps_model(eps_only(model), y, guidance if y is not None else 0.0)
        else:
            eps_model = eps_only(model)
        batch = (m, *shape)
        if learned:                         # Algorithm 2 with the learned Σ_θ
            x = ancestral_sample(eps_model, batch, schedule, rng, steps=steps, clip_x0=CLIP,
                                 progress=progress and n <= batch_size)
        elif sampler == "ddpm":
            x = ddpm_sample(eps_model, batch, schedule, rng, clip_x0=CLIP,
                            progress=progress and n <= batch_size)
        elif sampler == "dpm++2m":
            x = dpm_solver_sample(eps_model, batch, schedule, rng, steps=steps, spacing=spacing,
                                  clip_x0=CLIP, progress=progress and n <= batch_size)
        else:
            x = ddim_sample(eps_model, batch, schedule, rng, steps=steps, eta=eta, clip_x0=CLIP,
                            progress=progress and n <= batch_size)
        out.append(x)
    x = np.concatenate(out)
    return np.clip(x, -1, 1) if clip else x


def figures(model, schedule, out_dir, guidance=GUIDANCE, steps=50, seed=0, data_dir=None,
            progress=True, per_digit: int = 8, log=print, sampler="ddim") -> list:
    """Sample grid (a row per digit), reverse strip (x_t and x̂_0), forward strip on real
    digits, and an animated GIF of the reverse process. `per_digit` samples per row (8: the
    demo's 80 samples take about 35 s on 2 cores). Without the MNIST test files (offline, no
    `--data-dir`) the forward strip is skipped with a message; the rest needs no data."""
    from ..data.mnist import DatasetError
    out_dir = Path(out_dir)
    try:                                   # first, so that a missing file costs no waiting
        real, _ = load_mnist("test", data_dir=data_dir)
    except DatasetError as e:
        real = None
        log(f"note: no forward-process strip, the MNIST test images are unavailable ({e})")
    rng = np.random.default_rng(seed)
    n = 10 * per_digit
    y = np.repeat(np.arange(10), per_digit) if model.num_classes else None
    eps_model = guided_eps_model(eps_only(model), y, guidance) if model.num_classes else \
        eps_only(model)
    run = dpm_solver_sample if sampler == "dpm++2m" else ddim_sample
    x, traj = run(eps_model, (n, 1, 28, 28), schedule, rng, steps=steps, clip_x0=CLIP,
                  progress=progress, return_trajectory=True, trajectory_every=1)
    if not np.all(np.isfinite(x)):
        raise NonFiniteSamples("the samples are not finite (NaN or Inf); no figures were drawn")
    x = np.clip(x, -1, 1)
    paths = [plotting.image_grid(x, out_dir / "samples_grid.png", nrow=per_digit,
                                 title=f"{sampler_name(sampler, steps)} samples, guidance "
                                       f"{guidance}",
                                 row_labels=[str(d) for d in range(10)] if y is not None else None)]
    pick = np.arange(0, n, per_digit)[:6] + per_digit // 2   # one sample of six digits
    ks = np.unique(np.linspace(0, len(traj["t"]) - 1, 8).round().astype(int))
    strip = np.concatenate([np.concatenate([traj["xt"][k][pick], traj["x0_hat"][k][pick]])
                            for k in ks])          # rows: per step, x_t then x̂_0
    rows = strip.reshape(len(ks), 2, len(pick), 1, 28, 28).transpose(2, 1, 0, 3, 4, 5)
    paths.append(plotting.image_grid(np.clip(rows.reshape(-1, 1, 28, 28), -1, 1),
                                     out_dir / "reverse_strip.png", nrow=len(ks),
                                     title="reverse process, t = " + ", ".join(
                                         str(traj["t"][k]) for k in ks)
                                     + "  (per digit: x_t, then x̂_0 below)"))
    if real is not None:
        x0 = to_model_range(real[:6])
        ts = [t for t in (0, 50, 100, 200, 400, 600, 800, 1000) if t <= schedule.T]
        fwd = np.stack([q_sample(x0, t, rng.standard_normal(x0.shape).astype(np.float32),
                                 schedule) for t in ts], 1)           # (6, len(ts), 1, 28, 28)
        paths.append(plotting.image_grid(np.clip(fwd.reshape(-1, 1, 28, 28), -1, 1),
                                         out_dir / "forward_strip.png", nrow=len(ts),
                                         title="forward process q(x_t | x_0), t = "
                                         + ", ".join(map(str, ts))))
    paths.append(plotting.image_gif(np.clip(traj["xt"], -1, 1), traj["t"],
                                    out_dir / "reverse.gif", nrow=per_digit))
    return paths


def load_image_model(checkpoint, steps: int | None = None, mnist: bool = True):
    """(model, schedule, meta) of an MNIST checkpoint (or "mnist", the shipped one), or with
    `mnist=False` of any image model; a CheckpointError names what else it is. `steps`: DDIM
    steps to check against its T."""
    from ..run.checkpoint import CheckpointError
    from ..run.loading import load_for_sampling
    model, schedule, meta = load_for_sampling(resolve_checkpoint(checkpoint))
    data = meta.get("data") or {}
    images = data.get("kind", "images" if meta["model"].get("kind") == "unet" else None)
    digits = meta.get("sample_shape") == [1, 28, 28] and not is_own(data) and \
        data.get("dataset") != "fashion-mnist"      # the digit classifier reads digits only
    if not (digits if mnist else images == "images"):
        what = f"{data['dataset']} data" if "dataset" in data else data.get("kind", "? data")
        raise CheckpointError(
            f"{checkpoint} holds a {meta['model'].get('kind', '?')} model for {what}, not "
            + ("an MNIST UNet (this command reads digits with the project's digit "
               "classifier); use --checkpoint mnist (the shipped model) or a run of ddpm-np "
               "train --dataset mnist" if mnist else "an MNIST UNet or another image model: "
               "this command needs one"))
    if steps is not None and steps > schedule.T:
        raise CheckpointError(f"{steps} DDIM steps exceed the model's T = {schedule.T}")
    return as_eps_model(model, schedule, parameterization(meta)), schedule, meta


def parameterization(meta) -> str:
    """What a checkpoint's network predicts (eps, x0 or v)."""
    return meta.get("train_config", {}).get("parameterization", "eps")


def sampler_name(sampler, steps) -> str:
    return f"{'DPM-Solver++(2M)' if sampler == 'dpm++2m' else 'DDIM'}-{steps}"


def run_mnist_demo(out_dir, checkpoint="mnist", guidance=GUIDANCE, steps=None, seed=0,
                   data_dir=None, progress=True, log=print, sampler=None) -> dict:
    """Draw digits from a checkpoint (default: the shipped model) and write the figures.
    Without `sampler` and `steps`, the demo's sampler: the fewest steps that meet the quality bar
    (DEMO_SAMPLER); with `steps` alone, that sampler; with `sampler` alone, its SAMPLER_STEPS."""
    t0 = time.perf_counter()
    if sampler is None and steps is None:
        sampler, steps = DEMO_SAMPLER
        log(f"sampler: {sampler_name(sampler, steps)}, the fewest model evaluations that meet "
            "the quality bar on the shipped model (docs/results.md)")
    sampler = sampler or DEMO_SAMPLER[0]
    steps = steps or SAMPLER_STEPS[sampler]
    model, schedule, meta = load_image_model(checkpoint, steps)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = figures(model, schedule, out_dir, guidance, steps, seed, data_dir, progress, log=log,
                    sampler=sampler)
    info = {"checkpoint": str(checkpoint), "step": meta.get("step"), "guidance": guidance,
            "sampler": sampler_name(sampler, steps), "seconds": time.perf_counter() - t0}
    text = json.dumps(info, indent=1)
    atomic_write(out_dir / "demo.json", lambda f: f.write(text.encode()))
    log(f"drew {len(paths)} figures in {info['seconds']:.0f} s to {out_dir}/")
    return info
