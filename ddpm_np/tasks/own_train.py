"""Training on your own data: what `ddpm-np train --data PATH` does, as one call.

    ds = ddpm_np.data.load("my_points.csv")          # kind, shape, units (data/own.py)
    run = ddpm_np.train_on(ds, out="runs/mine")      # the CLI's defaults; metrics.json, figure

The model is sized from the data: points → the MLP with D inputs; images → a UNet whose levels
divide the image size, attention at its smallest feature map (≤ 16), class-conditional with
classifier-free guidance when the data have classes; lattice fields → the periodic network (odd,
with the mirror images of the fields, when `z2`). A share `val_fraction` of the data is held out
for the metrics (own_report.py). An image folder is read once and cached in the run folder.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..checks import check_float, check_int, check_memory
from ..data.own import UserData
from ..diffusion import NoiseSchedule
from ..diffusion.hybrid import check_objective
from ..diffusion.schedule import MAX_T
from ..models import MLP, LatticeEps, UNet
from ..parallel import on_root
from ..run.folders import claim_for_new_run
from ..run.state import RunError
from ..train import TrainConfig, Trainer
from .toy import toy_schedule

VAL_FRACTION = 0.05
MIN_T = 21          # the points' schedule: β_T = 0.02·1000/T must stay below 1
# TrainConfig fields and model sizes by kind; options given win
DEFAULTS = {
    "points": dict(steps=5000, batch_size=256, lr=2e-3, checkpoint_every=1000),
    "images": dict(steps=1500, batch_size=64, lr=5e-4, warmup_steps=200, min_lr=5e-5,
                   loss_weighting="min_snr", checkpoint_every=250),
    "lattice": dict(steps=4000, batch_size=256, lr=2e-3, warmup_steps=100,
                    checkpoint_every=500),
}
MODEL_DEFAULTS = {"points": dict(hidden=128, blocks=3, T=200), "images": dict(T=1000),
                  "lattice": dict(width=32, blocks=3, T=1000)}
# what each kind's model takes beyond TrainConfig (anything else is refused, not ignored)
MODEL_OPTIONS = {"points": ("hidden", "blocks", "T"),
                 "images": ("learn_sigma", "schedule", "timesteps", "vlb_weight", "T",
                            "base_channels"),
                 "lattice": ("z2", "width", "blocks", "T")}
FIGURE = "samples.png"
CACHE = "data.npz"

__all__ = ["DEFAULTS", "VAL_FRACTION", "model_for", "schedule_for", "train_on"]


def unet_for(size: int, channels: int, num_classes, rng, learn_sigma=False,
             base_channels: int = 32) -> UNet:
    """The UNet for size×size images: levels (1, 2, 4) when the size divides by 4 into maps of
    at least 4 pixels, else (1, 2); attention at the smallest map if it is ≤ 16 (UNet's
    default); `base_channels` wide (MNIST's 32)."""
    if size % 2:
        raise RunError(f"images of {size}×{size}: the UNet halves the size, so it must be even "
                       "(give --image-size with an even size)")
    mults = (1, 2, 4) if size % 4 == 0 and size >= 16 else (1, 2)
    return UNet(in_channels=channels, base_channels=base_channels, channel_mults=mults,
                image_size=size, num_classes=num_classes, learn_sigma=learn_sigma,
                groups=min(8, base_channels), rng=rng)


def model_for(data: UserData, seed: int = 0, **options):
    """The network for `data` (see the top of this file); `options`: MODEL_OPTIONS."""
    rng = np.random.default_rng([seed, 36, 1])
    o = dict(MODEL_DEFAULTS[data.kind], **options)
    if data.kind == "points":
        hidden = o["hidden"] if "hidden" in options else max(o["hidden"], 16 * data.shape[0])
        return MLP(dim=data.shape[0], hidden=hidden, num_blocks=o["blocks"], rng=rng)
    if data.kind == "images":
        c, size = data.shape[0], data.shape[1]
        return unet_for(size, c, len(data.classes) if data.classes else None, rng,
                        bool(o.get("learn_sigma")), o.get("base_channels", 32))
    return LatticeEps(o["width"], o["blocks"], odd=bool(o.get("z2")), rng=rng)


def schedule_for(kind: str, T=None, schedule=None) -> NoiseSchedule:
    """Points: the 2-D demos' schedule for T steps (default 200); images and lattice fields:
    Ho et al.'s linear β, T = 1000 (or Nichol & Dhariwal's cosine ᾱ, images)."""
    T = T or MODEL_DEFAULTS[kind]["T"]
    if kind == "points":
        return toy_schedule(T)
    return NoiseSchedule.cosine(T) if schedule == "cosine" else NoiseSchedule.linear(T)


def check_options(kind: str, options: dict) -> None:
    """Refuse an option that this kind's model does not take (it would have no effect)."""
    train_fields = set(TrainConfig.__dataclass_fields__)
    wrong = [k for k in options if k not in train_fields and k not in MODEL_OPTIONS[kind]]
    if wrong:
        names = ", ".join("--" + k.replace("_", "-") for k in wrong)
        takes = ", ".join("--" + k.replace("_", "-") for k in MODEL_OPTIONS[kind])
        raise RunError(f"{names} do{'es' if len(wrong) == 1 else ''} not apply to {kind}; its "
                       f"model takes {takes}")


def config_for(kind: str, steps=None, **options) -> TrainConfig:
    fields = {k: v for k, v in options.items() if k in TrainConfig.__dataclass_fields__}
    cfg = dict(DEFAULTS[kind], **fields)
    if steps is not None:
        cfg["steps"] = steps
    try:
        return TrainConfig(**cfg).validate()
    except ValueError as e:
        raise RunError(str(e)) from None


def training_split(data: UserData, val_fraction: float, seed: int, z2: bool = False):
    """(training ArrayDataset, held-out (x, y)); with `z2`, fields and their mirror images."""
    train, val = data.split(val_fraction, seed)
    train.description["val_fraction"] = val_fraction
    if z2:
        train.x = np.concatenate([train.x, -train.x])
        train.description["mirrored"] = True
    return train, val


def train_on(data: UserData, out, steps: int | None = None, val_fraction: float = VAL_FRACTION,
             seed: int = 0, overwrite: bool = False, progress: bool = True,
             stop_at: int | None = None, log=print, report: bool = True, **options) -> Trainer:
    """Train a model on `data` (data/own.py) in the folder `out` with the defaults `ddpm-np
    train --data` uses, then (if `report`) write metrics.json and a figure of samples there.
    `options`: TrainConfig fields (batch_size, lr, …) and the kind's MODEL_OPTIONS. Returns the
    Trainer (its `metrics` holds what metrics.json says)."""
    check_options(data.kind, options)
    check_float(val_fraction, "val_fraction", low=0, strict=True, high=0.5)
    z2 = bool(options.get("z2"))
    train, val = training_split(data, val_fraction, seed, z2)
    if "batch_size" not in options and len(train.x) < DEFAULTS[data.kind]["batch_size"]:
        options = dict(options, batch_size=len(train.x))
        log(f"batch size {len(train.x)}: the whole training split (it is smaller than the "
            f"default {DEFAULTS[data.kind]['batch_size']})")
    cfg = config_for(data.kind, steps, seed=seed, **options)
    model_options = {k: v for k, v in options.items() if k in MODEL_OPTIONS[data.kind]}
    timesteps, vlb_weight = model_options.pop("timesteps", None), model_options.pop(
        "vlb_weight", None)
    try:                        # diffusion/hybrid.py: what goes with a learned variance
        check_objective(bool(model_options.get("learn_sigma")), cfg.parameterization, timesteps,
                        vlb_weight, name=lambda f: "--" + f.replace("_", "-"))
    except ValueError as e:
        raise RunError(str(e)) from None
    cfg.timesteps = timesteps or cfg.timesteps
    cfg.vlb_weight = vlb_weight or cfg.vlb_weight
    if len(train.x) < cfg.batch_size:
        raise RunError(f"the training split holds {len(train.x)} examples, fewer than a batch "
                       f"of {cfg.batch_size}: give --batch-size {len(train.x)} or less")
    per_example = 4 * int(np.prod(data.shape))
    check_memory(cfg.batch_size * max(per_example * 256, 2**16),
                 f"a batch of {cfg.batch_size} (--batch-size)")
    if "T" in model_options:
        check_int(model_options["T"], "T", low=MIN_T, high=MAX_T)
        check_memory(80 * (model_options["T"] + 1), f"a schedule of T = {model_options['T']} "
                     "steps (--T)")
    model = model_for(data, seed, **{k: v for k, v in model_options.items()
                                     if k not in ("schedule", "T")})
    schedule = schedule_for(data.kind, model_options.get("T"), model_options.get("schedule"))
    out = Path(out)
    claim_for_new_run(out, overwrite, also=(FIGURE, "metrics.json", CACHE, "grid_step*.png"))
    if data.source.get("files"):
        on_root(cache)(data, out / CACHE)
        log(f"read {len(data.x)} images once; cached as an array in {out / CACHE}")
    log(f"{data.kind}: {len(train.x)} to train on, {len(val[0])} held out ({val_fraction:g}); "
        f"{type(model).__name__} of {model.num_parameters()} parameters, T = {schedule.T}")
    trainer = Trainer(model, schedule, train, cfg, out,
                      meta={"command": "train", "sample_shape": data.shape})
    return finish(trainer, data, val, progress, stop_at, log, report)


def finish(trainer, data, val, progress, stop_at, log, report=True) -> Trainer:
    """Run the trainer; once it has reached its steps, write the report (own_report.py)."""
    from .own_report import write_report
    trainer.run(progress=progress, stop_at=stop_at)
    trainer.metrics = None
    if report and trainer.step == trainer.config.steps:     # every process samples its share
        trainer.metrics = write_report(trainer.checkpoint_path(), data, trainer.data.x, val,
                                       log=log)
    return trainer


def cache(data: UserData, path: Path) -> None:
    """The decoded images (uint8, as the folder holds them) and labels, with the folder's hash."""
    from ..run.checkpoint import atomic_write
    u8 = np.round((data.x + 1) * 127.5).astype(np.uint8)
    arrays = {"x": u8, "sha256": np.array(data.source["sha256"])}
    if data.y is not None:
        arrays["y"] = data.y
    atomic_write(path, lambda f: np.savez(f, **arrays))
