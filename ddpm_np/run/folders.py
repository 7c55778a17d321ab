"""Where results go: every output is checked before any work, and nothing existing is replaced
without `overwrite`. A check writes a probe file where the output will go (creating missing
folders for it) and removes what it made, so it fails now where the real write would fail
later, and leaves nothing behind. The library's entry points (demos, runs, sampling, editing,
evaluation) call these before they start; their messages name the command-line flag."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..parallel import on_root
from .checkpoint import CheckpointError, read_meta
from .lock import RunLock
from .state import CHECKPOINT, RunError

GRID_SUFFIXES = (".png", ".jpg", ".jpeg", ".pdf", ".svg", ".tif", ".tiff", ".webp", ".eps")


class OutputError(Exception):
    """An output that cannot be written as asked (the message says why and what to do)."""


def _existing_ancestor(path: Path) -> Path:
    p = path.absolute()
    while not p.exists():
        p = p.parent
    return p


@on_root
def check_folder(path, what="output folder"):
    """`path` is a folder that exists and takes files, or one that can be created."""
    path = Path(path)
    base = _existing_ancestor(path)
    if not base.is_dir():
        raise OutputError(f"cannot create {what} {path}: {base} is a file")
    made = []
    try:
        for folder in reversed([path.absolute(), *path.absolute().parents]):
            if not folder.exists():
                folder.mkdir()
                made.append(folder)
        fd, probe = tempfile.mkstemp(prefix=".ddpm-np-probe.", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputError(f"cannot write into {what} {path}: {e.strerror or e}") from None
    finally:
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:
                pass


@on_root
def check_file(path, suffixes, overwrite: bool, flag: str = "--out"):
    """`path` (given by `flag`) ends in one of `suffixes`, is not a folder, can be written, and
    does not exist unless `overwrite`."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise OutputError(f"{flag} {path} is a symbolic link that leads nowhere (a loop or a "
                          "missing target); remove it or choose another name")
    if path.suffix.lower() not in suffixes:
        raise OutputError(f"{flag} {path}: the name must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise OutputError(f"{flag} {path} is a folder; give a file name such as "
                          f"result{suffixes[0]}")
    if path.exists() and not overwrite:
        raise OutputError(f"{flag} {path} exists; add --overwrite to replace it, or choose "
                          "another name")
    check_folder(path.parent, f"the folder of {flag}")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"{flag} {path} is not writable")


@on_root
def check_new_files(folder, names, overwrite: bool, flag: str = "--out"):
    """A command that writes the files `names` (names or glob patterns) into `folder`: refused
    if any of them exists, unless `overwrite`; then the folder must take files. The one rule
    behind every output folder: nothing existing is replaced without --overwrite."""
    folder = Path(folder)
    found = sorted({p.name for pattern in names for p in folder.glob(pattern)}) \
        if folder.is_dir() else []
    if found and not overwrite:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        raise OutputError(f"{flag} {folder} holds files this command writes ({shown}); add "
                          "--overwrite to replace them, or choose another folder")
    check_folder(folder)


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
