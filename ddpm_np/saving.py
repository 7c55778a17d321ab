"""Saving and resuming a training run, in one place: what a run's folder may hold, the state a
checkpoint keeps (live and EMA weights, optimizer, generator, step, loss log, schedule and
configs), and the few changes a resume may make.

A run's state goes to `checkpoint.npz` in its folder (checkpoint.py writes it atomically; rank 0
alone writes under mpiexec). Resuming restores every part of it, so an interrupted-and-resumed
run gives bit-identical weights.
"""
from __future__ import annotations

import dataclasses
import os
import socket
import tempfile
from pathlib import Path

import numpy as np

from .checks import check_float, check_int
from .checkpoint import CheckpointError, load_checkpoint, prefixed, read_meta, section
from .diffusion import NoiseSchedule
from .loading import model_from_checkpoint
from .models import model_kind
from .outputs import check_folder, check_new_files
from .parallel import on_root

CHECKPOINT = "checkpoint.npz"
LOCK = "training.lock"
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
                data=getattr(trainer.data, "description", {}))
    return arrays, meta


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


# -- a run's folder -------------------------------------------------------------------------------
def _check_out(out) -> Path:
    if out is None or str(out).strip() == "":
        raise RunError("the output folder is empty (--out \"\"); give a folder name")
    return Path(out)


@on_root
def claim_for_new_run(out, overwrite: bool = False, also=()) -> Path:
    """The checkpoint path of a new run in folder `out`. A folder that holds another run's
    checkpoint is refused (the message says how to resume or replace it) unless `overwrite`, in
    which case the old checkpoint is deleted now, so that nothing of it can be mistaken for the
    new run's. The other files the run will write (`also`: names or patterns) must not exist
    either, unless `overwrite`. The folder must take files (probed now, not at the first
    checkpoint); nothing is left in it."""
    path = _check_out(out) / CHECKPOINT
    check_folder(path.parent, "run folder")
    check_new_files(path.parent, also, overwrite)
    if path.exists():
        if not overwrite:
            raise RunError(f"{out} already holds a run ({describe(path)}); continue it with "
                           f"--resume {path}, replace it with --overwrite, or choose another "
                           "--out")
        RunLock(path.parent).check_free()           # never delete a live run's checkpoint
        path.unlink()
        path.with_suffix(".json").unlink(missing_ok=True)
    return path


@on_root
def claim_for_resume(resume, out=None, overwrite: bool = False) -> Path:
    """The folder a resumed run writes to: `out`, or the folder of the checkpoint resumed. Its
    checkpoint.npz must be the one resumed, or absent, or `overwrite` given."""
    resume = Path(resume)
    folder = _check_out(out) if out is not None else resume.parent
    check_folder(folder, "run folder")
    target = folder / CHECKPOINT
    RunLock(folder).check_free()                    # nothing of a live run is replaced
    if target.exists() and not overwrite and target.resolve() != resume.resolve():
        raise RunError(f"{target} holds another run ({describe(target)}) than the checkpoint "
                       f"resumed, {resume}; give --out DIR for the continued run, or add "
                       "--overwrite to replace it")
    return folder


def describe(path) -> str:
    """"step 40 of 100, moons", or why the checkpoint cannot be read."""
    try:
        meta = read_meta(path)
    except CheckpointError as e:
        return f"an unreadable checkpoint: {e}"
    steps = meta.get("train_config", {}).get("steps", "?")
    dataset = meta.get("data", {}).get("dataset", "?")
    return f"step {meta.get('step', '?')} of {steps}, {dataset}"


class RunLock:
    """The lock of a folder being worked in (`training.lock` for a run, or `name`), holding
    "host pid". It is written whole or not at all: the text goes to a temporary file, which is
    then hard-linked to the lock's name (atomic, and refused if the lock exists), so a full
    disk leaves no empty lock. A second writer is refused at once (RunError naming the holder);
    a lock left by a process that no longer runs on this host is taken over; a lock of another
    host, or one that cannot be read, is refused with how to take it over if it is stale.
    Without it, a second `train --resume` of the same run would remove the first's temporary
    files and both would write the same checkpoint."""

    def __init__(self, folder, name: str = LOCK, activity: str = "trained"):
        self.path = Path(folder) / name
        self.activity = activity            # "<folder> is being <activity> by process …"
        self.held = False

    def acquire(self):
        me = f"{socket.gethostname()} {os.getpid()}\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp",
                                   dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(me)
                f.flush()
                os.fsync(f.fileno())
            for _ in range(2):
                try:
                    _link_or_create(tmp, self.path, me)
                except FileExistsError:
                    holder, stale = self._holder()
                    if holder is None:              # its process is gone: take it over
                        self.path.unlink(missing_ok=True)
                        continue
                    raise RunError(self._refusal(holder, stale)) from None
                self.held = True
                return
        finally:
            os.unlink(tmp)
        raise RunError(f"cannot take the lock {self.path}")

    def check_free(self):
        """Refuse (RunError) now if a live process holds the lock: called before anything in
        the folder is removed or replaced, so that --overwrite never deletes the files of a
        run that is being trained."""
        if self.path.exists():
            holder, stale = self._holder()
            if holder is not None:
                raise RunError(self._refusal(holder, stale))

    def _refusal(self, holder, stale) -> str:
        text = (f"{self.path.parent} is being {self.activity} by process {holder} (lock "
                f"{self.path}); wait for it to finish or stop it, or use another --out")
        if stale:
            text += (f". If no such process runs, the lock is stale ({stale}): delete "
                     f"{self.path} to take it over")
        return text

    def release(self):
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def _holder(self):
        """("pid on host", why it may be stale or "") of a live or unknown holder; (None, "")
        for a lock whose process is gone from this host."""
        try:
            host, pid = self.path.read_text().split()
            pid = int(pid)
        except FileNotFoundError:
            return None, ""                         # released meanwhile
        except (OSError, ValueError, UnicodeDecodeError):
            return "unknown", "the lock file is unreadable or empty"
        if host != socket.gethostname():
            return f"{pid} on {host}", f"it was taken on another host, {host}"
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None, ""
        except PermissionError:
            pass
        return f"{pid} on {host}", ""


def _link_or_create(tmp: str, path: Path, text: str):
    """Make `path` hold `text`, failing with FileExistsError if it exists: a hard link of the
    whole temporary file `tmp`; where the file system has no hard links, an exclusive create
    (then a failed write removes what it made)."""
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        raise
    except OSError:
        pass
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
