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
def check_demo_folder(path, overwrite: bool, markers=("metrics.json", "checkpoint.npz")):
    """A demo writes into `path`: refused when an earlier run's output (any of `markers`) is
    there, unless `overwrite`."""
    found = [m for m in markers if (Path(path) / m).exists()]
    if found and not overwrite:
        raise OutputError(f"{path} holds the output of an earlier run ({', '.join(found)}); "
                          "add --overwrite to replace it, or choose another --out")
    check_folder(path)
