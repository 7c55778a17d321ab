"""A run's folder: what may be written there, and what must not be lost."""
from __future__ import annotations

from pathlib import Path

from ..checkpoint import CheckpointError, load_checkpoint
from ..parallel import on_root

CHECKPOINT = "checkpoint.npz"


class RunError(Exception):
    """A run that cannot start as asked (the message says why and what is allowed)."""


@on_root
def claim_for_new_run(out, overwrite: bool = False) -> Path:
    """The checkpoint path of a new run in folder `out`. A folder that holds another run's
    checkpoint is refused (the message says how to resume or replace it) unless `overwrite`, in
    which case the old checkpoint is deleted now, so that nothing of it can be mistaken for the
    new run's. Creates nothing."""
    path = Path(out) / CHECKPOINT
    if path.exists():
        if not overwrite:
            raise RunError(f"{out} already holds a run ({describe(path)}); continue it with "
                           f"--resume {path}, replace it with --overwrite, or choose another "
                           "--out")
        path.unlink()
        path.with_suffix(".json").unlink(missing_ok=True)
    return path


@on_root
def claim_for_resume(resume, out=None, overwrite: bool = False) -> Path:
    """The folder a resumed run writes to: `out`, or the folder of the checkpoint resumed. Its
    checkpoint.npz must be the one resumed, or absent, or `overwrite` given."""
    resume = Path(resume)
    folder = Path(out) if out is not None else resume.parent
    target = folder / CHECKPOINT
    if target.exists() and not overwrite and target.resolve() != resume.resolve():
        raise RunError(f"{target} holds another run ({describe(target)}) than the checkpoint "
                       f"resumed, {resume}; give --out DIR for the continued run, or add "
                       "--overwrite to replace it")
    return folder


def describe(path) -> str:
    """"step 40 of 100, moons", or why the checkpoint cannot be read."""
    try:
        _, meta = load_checkpoint(path)
    except CheckpointError as e:
        return f"an unreadable checkpoint: {e}"
    steps = meta.get("train_config", {}).get("steps", "?")
    dataset = meta.get("data", {}).get("dataset", "?")
    return f"step {meta.get('step', '?')} of {steps}, {dataset}"
