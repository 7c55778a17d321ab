"""Checkpoints: one `.npz` of plain arrays (no pickle) with the JSON metadata inside it.

Layout of the archive:
    model/<dotted name>   live weights          ema/<dotted name>   EMA weights (used to sample)
    buffer/<name>         fixed model arrays    opt/<key>           optimizer state
    log/<column>          the loss log          __meta__            UTF-8 JSON (see below)
Metadata: format, version, step, model kind and config, schedule (betas), training config, data
description, the training generator's state, and anything the caller adds. A copy of the JSON is
written beside the archive (`<name>.json`) for people to read; loading uses the embedded one.

Writes are atomic: a temporary file in the same folder, flushed, then `os.replace`, so an
interruption leaves the previous checkpoint intact and never a half-written one.
"""
from __future__ import annotations

import glob
import json
import os
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .parallel import on_root

FORMAT = "ddpm_np-checkpoint"
VERSION = 1


class CheckpointError(Exception):
    """A checkpoint is missing, unreadable, or does not fit what it is loaded into."""


@on_root
def atomic_write(path: Path, write_fn):
    """Write `path` through `write_fn(file)` into a temporary file beside it, then rename: a
    reader sees the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if e.filename in (None, tmp):       # name the file the user asked for, not our temporary
            raise OSError(e.errno, e.strerror or str(e), str(path)) from None
        raise
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def remove_stale_temporaries(path) -> list:
    """Delete the temporary files an interrupted atomic write of `path` (or of its JSON twin)
    left behind (`<name>.<random>.tmp`, see atomic_write); returns the paths removed. Call it
    only where no other process is writing the same checkpoint."""
    path = Path(path)
    removed = []
    for name in (path.name, path.with_suffix(".json").name):
        for tmp in path.parent.glob(glob.escape(name) + ".*.tmp"):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def save_checkpoint(path, arrays: dict, meta: dict):
    """Write `arrays` (name -> ndarray) and `meta` (JSON-able dict) atomically to `path`."""
    path = Path(path)
    meta = dict(meta, format=FORMAT, version=VERSION)
    text = json.dumps(meta, indent=1, sort_keys=True)
    payload = dict(arrays)
    payload["__meta__"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    atomic_write(path, lambda f: np.savez(f, **payload))
    atomic_write(path.with_suffix(".json"), lambda f: f.write(text.encode("utf-8")))


def load_checkpoint(path) -> tuple[dict, dict]:
    """Read a checkpoint: returns (arrays, meta). Raises CheckpointError with a clear message."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise CheckpointError(f"checkpoint {path} is a symbolic link that leads nowhere (a loop "
                              "or a missing target)")
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if path.is_dir():
        inside = path / "checkpoint.npz"
        raise CheckpointError(f"{path} is a folder; give the checkpoint file"
                              + (f", {inside}" if inside.exists() else " (a .npz)"))
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"checkpoint {path} is corrupt or not an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise CheckpointError(f"checkpoint {path} is corrupt or not an .npz file ({e})") from None
    if "__meta__" not in arrays:
        raise CheckpointError(f"{path} is an .npz file but not a ddpm_np checkpoint (no metadata)")
    try:
        meta = json.loads(arrays.pop("__meta__").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"checkpoint {path} has unreadable metadata ({e})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a ddpm_np checkpoint (format {meta.get('format')!r})")
    if meta.get("version", 0) > VERSION:
        raise CheckpointError(f"{path} was written by a newer ddpm_np (version {meta['version']})")
    return {current_name(k): v for k, v in arrays.items()}, meta


def current_name(key: str) -> str:
    """A stored array's name in today's models: the UNet's up-sampling convolutions were once
    wrapped (`upsamples.0.conv.W`, the shipped weights' name), now they are the list's items
    (`upsamples.0.W`)."""
    return re.sub(r"(upsamples\.\d+)\.conv\.", r"\1.", key)


def section(arrays: dict, prefix: str) -> dict:
    """The arrays under `prefix/`, with the prefix removed."""
    p = prefix + "/"
    return {k[len(p):]: v for k, v in arrays.items() if k.startswith(p)}


def prefixed(prefix: str, d: dict) -> dict:
    return {f"{prefix}/{k}": v for k, v in d.items()}
