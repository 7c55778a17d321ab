"""Where results go: every output is checked before any work, and nothing existing is replaced
without `overwrite`. A check writes a probe file where the output will go (creating missing
folders for it) and removes what it made, so it fails now where the real write would fail
later, and leaves nothing behind. The library's entry points (demos, runs, sampling, editing,
evaluation) call these before they start; their messages name the command-line flag."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .parallel import on_root

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
