"""A run's state out and back in: what a checkpoint keeps (live and EMA weights, optimizer,
generator, step, loss log, schedule and configs), the few changes a resume may make, and the
resume itself (`resume_trainer`).

A run's state goes to `checkpoint.npz` in its folder (checkpoint.py writes it atomically; rank 0
alone writes under mpiexec). Resuming restores every part of it, so an interrupted-and-resumed
run gives bit-identical weights.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..checks import check_float, check_int
from ..diffusion import NoiseSchedule
from ..models import model_kind
from .config import TrainConfig
from .checkpoint import CheckpointError, load_checkpoint, prefixed, section
from .loading import model_from_checkpoint

CHECKPOINT = "checkpoint.npz"
RUN_KEYS = ("step", "model", "schedule", "train_config", "rng_state", "data", "format", "version")


class RunError(Exception):
    """A run that cannot start as asked (the message says why and what is allowed)."""


# -- the state of a run ---------------------------------------------------------------------------
def run_state(trainer) -> tuple[dict, dict]:
    """(arrays, meta) of a Trainer, as `checkpoint.save_checkpoint` writes them."""
    arrays = {}
    arrays.update(prefixed("model", trainer.model.state_dict()))
    arrays.update(prefixed("ema", dict(zip(trainer.names, trainer.ema.shadow))))
    arrays.update(prefixed("opt", trainer.opt.state_dict()))
    if hasattr(trainer.model, "buffers"):
        arrays.update(prefixed("buffer", trainer.model.buffers()))
    arrays.update(prefixed("log", {k: np.asarray(v) for k, v in trainer.log.items()}))
    if hasattr(trainer.objective, "state_dict"):       # e.g. importance-sampled t's history
        arrays.update(prefixed("objective", trainer.objective.state_dict()))
    meta = dict(trainer.meta, step=trainer.step,
                model={"kind": model_kind(trainer.model), "config": trainer.model.config()},
                schedule=None if trainer.schedule is None else trainer.schedule.to_dict(),
                train_config=dataclasses.asdict(trainer.config),
                rng_state=trainer.rng.bit_generator.state,
                data=data_description(trainer.data))
    return arrays, meta


def data_description(data) -> dict:
    """What a checkpoint keeps of its data: the dataset's own description, and at least the
    shape of one example (so that any run can be sampled)."""
    description = dict(getattr(data, "description", None) or {})
    x = getattr(data, "x", None)
    if x is not None and hasattr(x, "shape"):
        description.setdefault("shape", list(x.shape[1:]))
    return description


@dataclasses.dataclass
class SavedRun:
    """What a checkpoint holds for resuming: the model (live weights), its schedule, the
    training config's fields, the other metadata, and the arrays."""
    path: Path
    model: object
    schedule: NoiseSchedule | None
    train_config: dict
    extra_meta: dict
    arrays: dict
    meta: dict

    def restore(self, trainer):
        """Put the optimizer, EMA, step, generator state and loss log into `trainer`."""
        try:
            trainer.opt.load_state_dict(section(self.arrays, "opt"))
            ema = section(self.arrays, "ema")
            trainer.step = check_int(self.meta["step"], "step", low=0)
            trainer.ema.load_state_dict(dict({f"shadow.{i}": ema[n] for i, n in
                                              enumerate(trainer.names)}, num_updates=trainer.step))
            trainer.rng.bit_generator.state = self.meta["rng_state"]
            trainer.log = {k: list(v.tolist()) for k, v in section(self.arrays, "log").items()}
            if hasattr(trainer.objective, "load_state_dict"):
                trainer.objective.load_state_dict(section(self.arrays, "objective"))
        except (KeyError, TypeError, ValueError) as e:
            raise damaged(self.path, e) from None


def read_run(path) -> SavedRun:
    """A checkpoint, read for resuming (CheckpointError if it cannot resume)."""
    arrays, meta = load_checkpoint(path)
    if meta.get("sampling_only"):
        raise CheckpointError(f"{path} holds sampling weights only (the EMA weights, no "
                              "optimizer or live weights), so no run can resume from it; "
                              "start a new run, e.g. ddpm-np train --dataset mnist")
    model = model_from_checkpoint(arrays, meta, weights="model", path=path)
    try:
        schedule = None if meta.get("schedule") is None else NoiseSchedule.from_dict(
            meta["schedule"])
        return SavedRun(Path(path), model, schedule, dict(meta["train_config"]),
                        {k: v for k, v in meta.items() if k not in RUN_KEYS}, arrays, meta)
    except (KeyError, TypeError, ValueError) as e:
        raise damaged(path, e) from None


def damaged(path, e) -> CheckpointError:
    return CheckpointError(f"checkpoint {path} cannot resume training: its metadata or state is "
                           f"damaged ({type(e).__name__}: {e})")


def resume_changes(cfg, step: int, path, steps=None, lr=None, checkpoint_every=None,
                   stop_at=None) -> list[str]:
    """Apply to `cfg` (a TrainConfig at `step`) the changes a resume may make, and describe
    them: `steps` (beyond the step reached), `lr`, `checkpoint_every`; `stop_at` must lie beyond
    the step too. RunError for a change that cannot be made. (How t is drawn and λ of L_hybrid
    may change too: the Trainer's objective is built with them, see Trainer.resume.)"""
    changes = []
    if (steps or cfg.steps) <= step:
        asked = "" if steps is None else f"; --steps {steps} would not train further"
        raise RunError(f"the run in {path} has reached step {step} of its "
                       f"{cfg.steps}{asked}: give --steps above {step} to go on")
    if steps is not None and steps != cfg.steps:
        changes.append(f"steps {cfg.steps} → {steps}")
        cfg.steps = steps
    if lr is not None and lr != cfg.lr:
        changes.append(f"lr {cfg.lr:g} → {check_float(lr, 'lr', low=0, strict=True):g}")
        cfg.lr = lr
    if checkpoint_every is not None and checkpoint_every != cfg.checkpoint_every:
        changes.append(f"checkpoint every {cfg.checkpoint_every} → {checkpoint_every} steps")
        cfg.checkpoint_every = checkpoint_every
    cfg.validate()
    if stop_at is not None and stop_at <= step:
        raise RunError(f"stop_at {stop_at} is not beyond the step the run in {path} has reached, "
                       f"{step}")
    return changes


def resume_trainer(trainer_class, path, data, out_dir=None, steps=None, objective=None,
                   log=None, timesteps=None, vlb_weight=None, **changes):
    """`Trainer.resume`: the run of checkpoint `path` rebuilt bit for bit, with the changes a
    resume may make (`resume_changes`) and the objective's `timesteps` and `vlb_weight`,
    reported by `log`."""
    saved = read_run(path)
    try:
        cfg = TrainConfig(**saved.train_config).validate()
    except (TypeError, ValueError) as e:
        raise damaged(path, e) from None
    objective_changes = {k: v for k, v in (("timesteps", timesteps),
                                           ("vlb_weight", vlb_weight)) if v is not None}
    before = {k: getattr(cfg, k) for k in objective_changes}
    for name, value in objective_changes.items():
        setattr(cfg, name, value)
    cfg.validate()
    trainer = trainer_class(saved.model, saved.schedule, data, cfg,
                            out_dir or Path(path).parent, saved.extra_meta, objective)
    saved.restore(trainer)
    made = resume_changes(trainer.config, trainer.step, path, steps, **changes)
    made += [f"{k} {before[k]} → {v}" for k, v in objective_changes.items() if v != before[k]]
    trainer.checkpoint_is_ours = Path(path) == trainer.checkpoint_path()
    if log is not None:
        log(f"resuming {path} at step {trainer.step}/{cfg.steps}"
            + (f" ({'; '.join(made)})" if made else ""))
    return trainer
