"""Continuing a run from its checkpoint, with the few changes a resume may make."""
from __future__ import annotations

from ..checks import check_float
from ..train import Trainer
from .run_folder import RunError


def resume_trainer(path, data, out_dir, steps=None, log=print, lr=None, checkpoint_every=None,
                   stop_at=None) -> Trainer:
    """Trainer.resume, with the changes a resume may make applied and reported: `steps` (must
    lie beyond the step reached), `lr`, `checkpoint_every`; `stop_at` must lie beyond it too."""
    trainer = Trainer.resume(path, data, out_dir=out_dir)
    cfg, changes = trainer.config, []
    if (steps or cfg.steps) <= trainer.step:
        asked = "" if steps is None else f"; --steps {steps} would not train further"
        raise RunError(f"the run in {path} has reached step {trainer.step} of its "
                       f"{cfg.steps}{asked}: give --steps above {trainer.step} to go on")
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
    if stop_at is not None and stop_at <= trainer.step:
        raise RunError(f"stop_at {stop_at} is not beyond the step the run in {path} has reached, "
                       f"{trainer.step}")
    log(f"resuming {path} at step {trainer.step}/{cfg.steps}"
        + (f" ({'; '.join(changes)})" if changes else ""))
    return trainer
