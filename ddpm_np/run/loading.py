"""Models from checkpoints: the model a checkpoint describes, with its weights, for sampling or
for resuming; and small sampling-only copies."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint, section
from ..diffusion import NoiseSchedule
from ..models import build_model


def model_from_checkpoint(arrays: dict, meta: dict, weights: str = "ema", path=None):
    """Build the model a checkpoint describes and load its `weights` ("ema" or "model");
    `path`, the file, is named in the errors."""
    where = f"checkpoint {path}" if path is not None else "checkpoint"
    try:
        model = build_model(meta["model"]["kind"], meta["model"]["config"],
                            rng=np.random.default_rng(0))
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{where} describes no model this version can build ({e})") \
            from None
    state = section(arrays, weights)
    try:
        model.load_state_dict(state)
        if hasattr(model, "load_buffers"):
            model.load_buffers(section(arrays, "buffer"))
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{where}: its weights do not fit the model: {e}") from None
    for name, p in model.named_parameters():
        if not np.all(np.isfinite(p.data)):
            raise CheckpointError(f"{where}: weights are not finite: {weights}/{name} holds "
                                  "NaN or Inf (a diverged or damaged run)")
    return model


def load_for_sampling(path):
    """(model with EMA weights, in inference mode (`Module.eval`: no caches kept), schedule,
    meta) from a checkpoint file."""
    arrays, meta = load_checkpoint(path)
    if not meta.get("schedule") or "model" not in meta:
        raise CheckpointError(f"{path} is not a diffusion model's checkpoint (it lacks the model "
                              "or the noise schedule)")
    model = model_from_checkpoint(arrays, meta, "ema", path).eval()
    try:
        schedule = NoiseSchedule.from_dict(meta["schedule"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path} holds a damaged noise schedule ({e})") from None
    return model, schedule, meta


def export_for_sampling(src, dst, **extra_meta):
    """Write a small sampling-only checkpoint: the EMA weights, buffers and metadata of `src`
    (no live weights, optimizer state or generator state; it cannot resume training)."""
    arrays, meta = load_checkpoint(src)
    keep = {k: v for k, v in arrays.items() if k.startswith(("ema/", "buffer/", "log/"))}
    meta = {k: v for k, v in meta.items() if k not in ("rng_state", "format", "version")}
    meta.update(extra_meta, sampling_only=True)
    save_checkpoint(dst, keep, meta)
    return Path(dst)
