"""What a checkpoint's metadata may hold, and how it must agree with its arrays: checked field by
field when a checkpoint is loaded (checkpoint.load_checkpoint), so that a well-formed JSON of
the wrong type, or metadata that disagrees with the weights, is one line naming the file and
the field, never an internal error or a silent cast.

| field         | type                          | agrees with                                 |
|---------------|-------------------------------|---------------------------------------------|
| format        | "ddpm_np-checkpoint"          |                                             |
| version       | integer ≥ 0                   |                                             |
| step          | integer ≥ 0                   | opt/step_count, the loss log's length       |
| model         | {kind: str, config: object}   | the weights' names and shapes (on build)    |
| schedule      | {betas: [β_1, …, β_T],        | a linear model's T; importance-sampled t's  |
|               |  name: str}; null: classifier | history (T + 1 rows)                        |
| train_config  | object                        | (TrainConfig checks its values on resume)   |
| data          | object                        |                                             |
| rng_state     | object                        |                                             |
| sample_shape  | [positive integers]           | the model's input shape                     |
| sampling_only | true or false                 |                                             |

Arrays: model/, ema/ and buffer/ hold finite floating-point numbers; opt/ finite moments, the
second moment ≥ 0, a step count ≥ 0; log/ numbers.
"""
from __future__ import annotations

import numpy as np


class SchemaError(ValueError):
    """A checkpoint whose metadata or arrays break the table above (checkpoint.py turns it into
    its CheckpointError)."""


def _error(path, field, text):
    return SchemaError(f"checkpoint {path}: field {field} {text}")


def _is_int(v, low=0):
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)


OBJECTS = ("train_config", "data", "rng_state")
DIFFUSION_MODELS = ("linear", "mlp", "unet", "lattice")     # a classifier has no schedule


def check_meta(path, meta: dict) -> None:
    """The metadata's fields have the types in the table above (absent fields are the callers'
    to ask for)."""
    if "step" in meta and not _is_int(meta["step"]):
        raise _error(path, "step", f"must be a whole number ≥ 0, got {meta['step']!r}")
    for name in OBJECTS:
        if name in meta and not isinstance(meta[name], dict):
            raise _error(path, name, f"must be a JSON object, got {type(meta[name]).__name__}")
    if "sampling_only" in meta and not isinstance(meta["sampling_only"], bool):
        raise _error(path, "sampling_only", f"must be true or false, got "
                     f"{meta['sampling_only']!r}")
    model = meta.get("model")
    if "model" in meta and not (isinstance(model, dict) and isinstance(model.get("kind"), str)
                                and isinstance(model.get("config"), dict)):
        raise _error(path, "model", f"must be {{\"kind\": name, \"config\": {{...}}}}, got "
                     f"{model!r:.80}")
    schedule = meta.get("schedule")
    if "schedule" in meta and schedule is None and isinstance(model, dict) and \
            model.get("kind") in DIFFUSION_MODELS:
        raise _error(path, "schedule", f"is null, but a {model['kind']} model is a diffusion "
                     "model: it needs its noise schedule")
    if schedule is not None:
        betas = schedule.get("betas") if isinstance(schedule, dict) else None
        if not (isinstance(betas, list) and betas and all(_is_number(b) for b in betas)):
            raise _error(path, "schedule", "must be null or {\"betas\": [β_1, …, β_T]} with "
                         f"numbers, got {schedule!r:.80}")
        if not isinstance(schedule.get("name", ""), str):
            raise _error(path, "schedule.name", f"must be a name, got {schedule['name']!r}")
    shape = meta.get("sample_shape")
    if "sample_shape" in meta and not (isinstance(shape, list) and shape and
                                       all(_is_int(d, 1) for d in shape)):
        raise _error(path, "sample_shape", f"must be a list of positive whole numbers, got "
                     f"{shape!r:.80}")


def model_input_shape(kind: str, config: dict):
    """The shape of one example the model takes, where its config says it; else None."""
    if kind == "unet":
        s = config.get("image_size", 28)
        return [config.get("in_channels", 1), s, s]
    if kind in ("mlp", "linear"):
        return [config.get("dim", 2)]
    return None


def check_agreement(path, arrays: dict, meta: dict) -> None:
    """The metadata agrees with the arrays and with itself (see the table)."""
    model = meta.get("model") or {}
    expected = model_input_shape(model.get("kind"), model.get("config") or {})
    if "sample_shape" in meta and expected is not None and meta["sample_shape"] != expected:
        raise _error(path, "sample_shape", f"is {meta['sample_shape']} but the model "
                     f"({model['kind']}) takes examples of shape {expected}")
    schedule = meta.get("schedule")
    if schedule is not None:
        T = len(schedule["betas"])
        model_T = (model.get("config") or {}).get("T") if model.get("kind") == "linear" else None
        if model_T is not None and model_T != T:
            raise _error(path, "schedule", f"has T = {T} steps but the model was made for "
                         f"T = {model_T}")
        history = arrays.get("objective/values")
        if history is not None and len(history) != T + 1:
            raise _error(path, "schedule", f"has T = {T} steps but the run's history of L_t "
                         f"(objective/values) has {len(history) - 1}")
    step = meta.get("step")
    count = arrays.get("opt/step_count")
    if count is not None and (count.ndim != 0 or count.dtype.kind not in "iu" or count < 0):
        raise _error(path, "opt/step_count", f"must be a whole number ≥ 0, got {count!r}")
    if count is not None and step is not None and int(count) != step:
        raise _error(path, "step", f"is {step} but the optimizer has taken {int(count)} steps "
                     "(opt/step_count)")


def check_arrays(path, arrays: dict) -> None:
    """Weights, buffers and optimizer moments are finite floating-point numbers; the second
    moment is not negative; the log holds numbers."""
    for name, a in arrays.items():
        section = name.split("/", 1)[0]
        moment = section == "opt" and name.split("/", 1)[1].split(".")[0] in ("m", "v",
                                                                             "velocity")
        if section in ("model", "ema", "buffer") or moment:
            if a.dtype.kind != "f":
                raise _error(path, name, f"must hold floating-point numbers, got dtype "
                             f"{a.dtype} (a damaged or foreign file: nothing is cast)")
            if not np.all(np.isfinite(a)):
                what = "weights" if section in ("model", "ema") else "state"
                raise _error(path, name, f"holds NaN or Inf: the {what} of a diverged or "
                             "damaged run")
        if name.startswith("opt/v.") and np.any(a < 0):
            raise _error(path, name, "holds a negative second moment (Adam's v is a mean of "
                         "squares): a damaged file")
        if section in ("log", "opt", "objective") and a.dtype.kind not in "biuf":
            raise _error(path, name, f"must hold numbers, got dtype {a.dtype}")


def check_member(path, name: str, shape: tuple, meta: dict) -> None:
    """Before an array is read, from its header: the sizes the metadata implies. The loss log
    holds one entry a step; importance-sampled t's history T + 1 rows; the optimizer's step
    count and learning rate are scalars. (Weights are checked against the model it builds.)"""
    step = meta.get("step")
    if name.startswith("log/") and (len(shape) != 1 or (step is not None and shape[0] > step)):
        raise _error(path, name, f"has shape {shape}, but the loss log holds one number a "
                     f"step (step {step}): not loaded")
    schedule = meta.get("schedule")
    if name.startswith("objective/") and schedule is not None and (
            not shape or shape[0] != len(schedule["betas"]) + 1):
        raise _error(path, name, f"has shape {shape}, but a history of L_t has T + 1 = "
                     f"{len(schedule['betas']) + 1} rows: not loaded")
    if name in ("opt/step_count", "opt/lr") and shape != ():
        raise _error(path, name, f"must be a single number, has shape {shape}")


def check_checkpoint(path, arrays: dict, meta: dict) -> None:
    check_meta(path, meta)
    check_arrays(path, arrays)
    check_agreement(path, arrays, meta)
