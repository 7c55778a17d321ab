"""Samples from any checkpoint: what `ddpm-np sample` does, as a function a Python user can call.

An image model (its checkpoint has a `sample_shape`) is sampled with x̂_0 clipped to the data
range and, if it is class-conditional, with labels and classifier-free guidance
(`mnist_sample.sample_images`); a 2-D model with its own parameterisation turned into ε.
Under `mpiexec -n K` the model's calls are split across the processes (parallel/sharding.py):
every process returns all the samples, the same for any K.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_float, check_int, check_memory
from ..diffusion import as_eps_model, ddim_sample, ddpm_sample, dpm_solver_sample
from ..diffusion.guidance import MAX_GUIDANCE
from ..diffusion.solvers import SPACINGS
from ..run.loading import load_for_sampling
from ..parallel import sharded, world
from .mnist_sample import (GUIDANCE, SAMPLER_STEPS, NonFiniteSamples, resolve_checkpoint,
                           sample_images)

SAMPLERS = ("ddpm", "ddim", "dpm++2m")
# What `ddpm-np sample` draws with unless told: the few-step solver that matches DDIM-50 on the
# shipped model at 15 steps (docs/results.md, the few-step table).
DEFAULT_SAMPLER = "dpm++2m"


class SamplingError(Exception):
    """Sampling cannot run as asked (the message says why and what is allowed)."""


def sample_checkpoint(checkpoint, n: int, sampler: str = DEFAULT_SAMPLER,
                      steps: int | None = None, eta: float = 0.0, seed: int = 0,
                      digit: int | None = None, guidance: float | None = None,
                      progress: bool = True,
                      images_only: bool = False, spacing: str = "trailing"):
    """(samples, info) from a checkpoint path, or "mnist" for the shipped model.

    sampler: "dpm++2m" (the default: DPM-Solver++(2M), `steps`, default 15, time steps spaced
    by `spacing`), "ddim" (`steps`, default 50; `eta` its noise) or "ddpm" (all T steps, or with
    a learned variance `steps` of a respaced chain); digit: the class to draw
    (class-conditional models; default: classes in turn); guidance: w (default 0.5 for
    class-conditional models, none otherwise). info: the sampler, the guidance used, and
    whether the samples are images. `images_only`: refuse a model that is not an image model.
    Every argument is checked before sampling; samples that are not finite raise
    NonFiniteSamples.
    """
    check_int(n, "n")
    check_int(seed, "seed", low=0)
    eta = check_float(eta, "eta", low=0, high=1)
    if guidance is not None:
        check_float(guidance, "guidance", low=0, high=MAX_GUIDANCE)
    model, schedule, meta = load_for_sampling(resolve_checkpoint(checkpoint))
    if images_only and "sample_shape" not in meta:
        raise SamplingError(f"{checkpoint} holds a model of 2-D points, not images: a grid "
                            "picture needs an image model")
    if sampler not in SAMPLERS:
        raise SamplingError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    if steps is not None and sampler == "ddpm" and not getattr(model, "learn_sigma", False):
        raise SamplingError("steps apply to the DDIM and DPM-Solver samplers, and to DDPM with a "
                            "learned variance; this model's variance is fixed, so DDPM takes "
                            "all T steps")
    if eta and sampler != "ddim":
        raise SamplingError("eta applies to the DDIM sampler only")
    if spacing not in SPACINGS:
        raise SamplingError(f"spacing must be one of {', '.join(SPACINGS)}, got {spacing!r}")
    steps = steps or (min(SAMPLER_STEPS[sampler], schedule.T) if sampler != "ddpm" else None)
    if steps is not None and steps > schedule.T:
        raise SamplingError(f"steps {steps} exceed the model's T = {schedule.T}")
    conditional = getattr(model, "num_classes", None) is not None
    if (digit is not None or guidance) and not conditional:
        raise SamplingError("a digit and guidance need a class-conditional model")
    if guidance is None:
        guidance = GUIDANCE if conditional else 0.0
    if digit is not None and not 0 <= digit < model.num_classes:
        raise SamplingError(f"digit must lie in 0..{model.num_classes - 1}, got {digit}")
    shape = meta.get("sample_shape") or [model.config().get("dim", 2)]
    check_memory(n * _bytes_per_sample(model, meta),
                 f"sampling {n} samples of shape {tuple(shape)} (the checkpoint's)")
    rng = np.random.default_rng(seed)
    model = sharded(model, world())
    with np.errstate(over="ignore", invalid="ignore"):     # a blow-up is reported below
        x = _draw(model, schedule, meta, n, rng, sampler, steps, eta, digit, guidance, progress,
                  spacing)
    bad = ~np.isfinite(x).reshape(n, -1).all(axis=1)
    if bad.any():
        raise NonFiniteSamples(f"{int(bad.sum())} of {n} samples are not finite (NaN or Inf): "
                               "the model's output overflowed; nothing was written")
    steps = schedule.T if sampler == "ddpm" and steps is None else steps
    info = {"sampler": sampler, "steps": steps, "guidance": guidance,
            "image": "sample_shape" in meta,
            "sampler_name": {"ddpm": "DDPM", "ddim": "DDIM", "dpm++2m": "DPM-Solver++(2M)"}[
                sampler] + f", {steps} steps" + (f", guidance {guidance}" if conditional else "")}
    return (np.clip(x, -1, 1) if info["image"] else x), info


def _bytes_per_sample(model, meta) -> int:
    """About how much memory one sample takes: images are drawn in batches of 100, so only the
    result grows with n (and its copy when the batches are joined); 2-D points go through the
    MLP all at once, with a few dozen activations of its width each."""
    if "sample_shape" in meta:
        return 2 * 4 * int(np.prod(meta["sample_shape"]))
    return 4 * 64 * model.config().get("hidden", 128)


def _draw(model, schedule, meta, n, rng, sampler, steps, eta, digit, guidance, progress, spacing):
    conditional = getattr(model, "num_classes", None) is not None
    eps_model = as_eps_model(model, schedule,
                             meta.get("train_config", {}).get("parameterization", "eps"))
    if "sample_shape" in meta:
        labels = None
        if conditional:
            labels = np.full(n, digit) if digit is not None else np.arange(n) % model.num_classes
        return sample_images(eps_model, schedule, n, rng, labels, guidance, sampler, steps,
                             progress=progress, eta=eta, clip=False, spacing=spacing)
    shape = (n, model.config().get("dim", 2))
    if sampler == "ddpm":
        return ddpm_sample(eps_model, shape, schedule, rng, progress=progress)
    if sampler == "dpm++2m":
        return dpm_solver_sample(eps_model, shape, schedule, rng, steps=steps, spacing=spacing,
                                 progress=progress)
    return ddim_sample(eps_model, shape, schedule, rng, steps=steps, eta=eta, progress=progress)


def sample_to_files(checkpoint, n: int, out=None, grid=None, overwrite=False,
                    **options) -> tuple[np.ndarray, dict]:
    """`ddpm-np sample`: `sample_checkpoint(checkpoint, n, **options)` saved to `out` (.npy)
    and/or drawn as a picture into `grid`; at least one of them, both checked before the work.
    Nothing is written anywhere else. Returns (samples, info)."""
    from pathlib import Path

    from ..run.checkpoint import atomic_write
    from ..run.folders import GRID_SUFFIXES, check_file
    from ..parallel import on_root
    from ..plotting import image_grid
    if not out and not grid:
        raise SamplingError("nothing to write: give --out FILE.npy for the array, --grid "
                            "PICTURE.png for a picture, or both")
    if out:
        check_file(out, (".npy",), overwrite, "--out")
    if grid:
        check_file(grid, GRID_SUFFIXES, overwrite, "--grid")
    x, info = sample_checkpoint(checkpoint, n, images_only=bool(grid), **options)
    if out:
        atomic_write(Path(out), lambda f: np.save(f, x))
    if grid:
        on_root(image_grid)(x, grid, nrow=10, title=info["sampler_name"])
    return x, info
