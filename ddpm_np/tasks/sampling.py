"""Samples from any checkpoint: what `ddpm-np sample` does, as a function a Python user can call.

What is drawn follows the checkpoint (`data_kind`): images of its `sample_shape` with x̂_0
clipped to the data range and, for a class-conditional model, labels (a class by number or by
the name the checkpoint keeps) and classifier-free guidance (`mnist_sample.sample_images`);
lattice fields (N, 1, L, L); points (N, D). Each model's own parameterisation is turned into ε.
sample_files.py writes them in the data's format and units.
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


def default_sampler(kind: str, T: int, steps=None) -> tuple[str, int | None]:
    """(sampler, steps) unless told: for points, DDIM along all T steps (the probability-flow
    ODE: an MLP's 200 steps cost little, and at T = 200 it keeps a narrow component's variance
    within 1%, where the ancestral sampler with β̃ loses 8% and DPM-Solver++ in 15 steps more;
    docs/results.md, "Your own data"); else DPM-Solver++(2M) in 15 steps."""
    if kind == "points":
        return "ddim", steps or T
    return DEFAULT_SAMPLER, steps


def data_kind(meta) -> str:
    """"images", "lattice" or "points": what a checkpoint's model draws."""
    kind = (meta.get("data") or {}).get("kind")
    if kind is not None:
        return kind
    return {"unet": "images", "lattice": "lattice"}.get(meta["model"]["kind"], "points")


def example_shape(model, meta) -> list:
    """The shape of one sample: the checkpoint's `sample_shape`, else its data's shape, else what
    the model says."""
    if meta.get("sample_shape"):
        return list(meta["sample_shape"])
    if (meta.get("data") or {}).get("shape"):
        return list(meta["data"]["shape"])
    if meta["model"]["kind"] == "lattice":
        L = (meta.get("phi4") or {}).get("L")
        if L is None:
            raise SamplingError("this lattice checkpoint does not say its lattice size "
                                "(sample_shape); it cannot be sampled")
        return [1, L, L]
    if meta["model"]["kind"] == "unet":
        c = model.config()
        return [c["in_channels"], c["image_size"], c["image_size"]]
    return [model.config().get("dim", 2)]


def class_index(klass, model, meta) -> int:
    """A class by its number or by the name the checkpoint keeps (data.classes)."""
    names = (meta.get("data") or {}).get("classes")
    if getattr(model, "num_classes", None) is None:
        raise SamplingError("a class and guidance need a class-conditional model")
    if names and str(klass) in names:
        return names.index(str(klass))
    try:
        k = int(klass)
    except (TypeError, ValueError):
        known = f"one of {', '.join(names)}" if names else f"0..{model.num_classes - 1}"
        raise SamplingError(f"no class {klass!r}: choose {known}") from None
    if not 0 <= k < model.num_classes:
        raise SamplingError(f"--digit must lie in 0..{model.num_classes - 1}, got {k}")
    return k


def sample_checkpoint(checkpoint, n: int, sampler: str | None = None,
                      steps: int | None = None, eta: float = 0.0, seed: int = 0,
                      digit=None, guidance: float | None = None,
                      progress: bool = True,
                      images_only: bool = False, spacing: str = "trailing"):
    """(samples, info) from a checkpoint path, or "mnist" for the shipped model.

    sampler: "dpm++2m" (DPM-Solver++(2M), `steps`, default 15, time steps spaced by `spacing`),
    "ddim" (`steps`, default 50; `eta` its noise) or "ddpm" (all T steps, or with a learned
    variance `steps` of a respaced chain); None: `default_sampler` for the checkpoint's kind; digit: the class to draw
    (class-conditional models; default: classes in turn); guidance: w (default 0.5 for
    class-conditional models, none otherwise). info: the sampler, the guidance used, the
    kind, the labels drawn and the metadata. `images_only`: refuse a model that is not an image
    model. `digit` may be a class name the checkpoint keeps.
    Every argument is checked before sampling; samples that are not finite raise
    NonFiniteSamples.
    """
    check_int(n, "n")
    check_int(seed, "seed", low=0)
    eta = check_float(eta, "eta", low=0, high=1)
    if guidance is not None:
        check_float(guidance, "guidance", low=0, high=MAX_GUIDANCE)
    model, schedule, meta = load_for_sampling(resolve_checkpoint(checkpoint))
    kind = data_kind(meta)
    if sampler is None:
        sampler, steps = default_sampler(kind, schedule.T, steps)
    if images_only and kind != "images":
        raise SamplingError(f"{checkpoint} holds a model of "
                            f"{'2-D points' if kind == 'points' else kind}, not images: a grid "
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
        raise SamplingError("a class and guidance need a class-conditional model")
    if guidance is None:
        guidance = GUIDANCE if conditional else 0.0
    if digit is not None:
        digit = class_index(digit, model, meta)
    shape = example_shape(model, meta)
    check_memory(n * _bytes_per_sample(model, shape),
                 f"sampling {n} samples of shape {tuple(shape)} (the checkpoint's)")
    rng = np.random.default_rng(seed)
    model = sharded(model, world())
    with np.errstate(over="ignore", invalid="ignore"):     # a blow-up is reported below
        x, labels = _draw(model, schedule, meta, kind, shape, n, rng, sampler, steps, eta,
                          digit, guidance, progress, spacing)
    bad = ~np.isfinite(x).reshape(n, -1).all(axis=1)
    if bad.any():
        raise NonFiniteSamples(f"{int(bad.sum())} of {n} samples are not finite (NaN or Inf): "
                               "the model's output overflowed; nothing was written")
    steps = schedule.T if sampler == "ddpm" and steps is None else steps
    info = {"sampler": sampler, "steps": steps, "guidance": guidance, "kind": kind,
            "image": kind == "images", "labels": labels, "meta": meta,
            "sampler_name": {"ddpm": "DDPM", "ddim": "DDIM", "dpm++2m": "DPM-Solver++(2M)"}[
                sampler] + f", {steps} steps" + (f", guidance {guidance}" if conditional else "")}
    return (np.clip(x, -1, 1) if info["image"] else x), info


def _bytes_per_sample(model, shape) -> int:
    """About how much memory one sample takes: images and fields are drawn in batches of 100,
    so only the result grows with n (and its copy when the batches are joined); points go
    through the MLP all at once, with a few dozen activations of its width each."""
    if len(shape) == 3:
        return 2 * 4 * int(np.prod(shape))
    return 4 * 64 * model.config().get("hidden", 128)


def _draw(model, schedule, meta, kind, shape, n, rng, sampler, steps, eta, digit, guidance,
          progress, spacing):
    """(samples, labels drawn or None)."""
    conditional = getattr(model, "num_classes", None) is not None
    eps_model = as_eps_model(model, schedule,
                             meta.get("train_config", {}).get("parameterization", "eps"))
    if kind == "images":
        labels = None
        if conditional:
            labels = np.full(n, digit) if digit is not None else np.arange(n) % model.num_classes
        return sample_images(eps_model, schedule, n, rng, labels, guidance, sampler, steps,
                             progress=progress, eta=eta, clip=False, spacing=spacing,
                             shape=tuple(shape)), labels
    batch, size = (n, *shape), 100 if kind == "lattice" else n
    parts = []
    for i in range(0, n, size):
        part = (min(size, n - i), *shape)
        if sampler == "ddpm":
            parts.append(ddpm_sample(eps_model, part, schedule, rng, progress=progress))
        elif sampler == "dpm++2m":
            parts.append(dpm_solver_sample(eps_model, part, schedule, rng, steps=steps,
                                           spacing=spacing, progress=progress))
        else:
            parts.append(ddim_sample(eps_model, part, schedule, rng, steps=steps, eta=eta,
                                     progress=progress))
    return np.concatenate(parts).reshape(batch), None


def sample_to_files(checkpoint, n: int, out=None, grid=None, overwrite=False,
                    **options) -> tuple[np.ndarray, dict]:
    """`ddpm-np sample`: `sample_checkpoint(checkpoint, n, **options)` written to `out` in the
    data's format and units (sample_files.py: .npy, .csv/.tsv, folder/) and/or drawn as a
    picture into `grid`; at least one of them, both checked before the work (the kind of `out`
    against the checkpoint's data, after reading its metadata). Nothing is written anywhere
    else. Returns (samples in model units, info)."""
    from ..run.checkpoint import read_meta
    from ..run.folders import GRID_SUFFIXES, check_file
    from ..parallel import on_root
    from .sample_files import check_out, draw_picture, in_data_units, write_samples
    if not out and not grid:
        raise SamplingError("nothing to write: give --out FILE.npy (or .csv, folder/) for the "
                            "samples, --grid PICTURE.png for a picture, or both")
    kind = data_kind(read_meta(resolve_checkpoint(checkpoint)))
    what = check_out(out, kind, overwrite) if out else None
    if grid:
        check_file(grid, GRID_SUFFIXES, overwrite, "--grid")
    x, info = sample_checkpoint(checkpoint, n, **options)
    meta, labels = info["meta"], info["labels"]
    if out:
        classes = (meta.get("data") or {}).get("classes")
        on_root(write_samples)(in_data_units(x, meta, what), out, what, labels, classes)
    if grid:
        on_root(draw_picture)(x, meta, info["kind"], grid, info["sampler_name"], labels)
    return x, info
