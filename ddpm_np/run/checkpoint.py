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

from .schema import SchemaError, check_checkpoint, check_member, check_meta
from ..inputs import read_npz, regular_file
from ..parallel import on_root

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


MEMBERS = ("model/", "ema/", "buffer/", "opt/", "log/", "objective/", "__meta__")
MAX_META_BYTES = 64 * 2**20         # the metadata's JSON (a schedule of T = 100,000 is ~2 MB)


def save_checkpoint(path, arrays: dict, meta: dict):
    """Write `arrays` (name -> ndarray) and `meta` (JSON-able dict) atomically to `path`.
    Refused (CheckpointError), before anything is written, is what load_checkpoint would
    refuse: a name outside the layout above, or with `..` or a leading `/`; an array that is
    not a plain numeric one; a path whose JSON twin would be the archive itself."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise CheckpointError(f"checkpoint path {path} must end in .npz (its JSON copy is "
                              f"written beside it as {path.with_suffix('.json').name})")
    for name, a in arrays.items():
        parts = str(name).split("/")
        if not any(name == m or (m.endswith("/") and name.startswith(m)) for m in MEMBERS) \
                or name == "__meta__" or ".." in parts or "" in parts:
            raise CheckpointError(f"cannot save array {name!r}: checkpoint members are named "
                                  f"{', '.join(m + '<name>' for m in MEMBERS[:-1])}")
        if not isinstance(a, np.ndarray) or a.dtype.hasobject or a.dtype.kind not in "biuf":
            raise CheckpointError(f"cannot save {name!r}: a checkpoint holds NumPy arrays of "
                                  f"numbers, got {getattr(a, 'dtype', type(a).__name__)}")
    meta = dict(meta, format=FORMAT, version=VERSION)
    text = json.dumps(meta, indent=1, sort_keys=True)
    payload = dict(arrays)
    payload["__meta__"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    atomic_write(path, lambda f: np.savez(f, **payload))
    atomic_write(path.with_suffix(".json"), lambda f: f.write(text.encode("utf-8")))


def load_checkpoint(path) -> tuple[dict, dict]:
    """Read a checkpoint: returns (arrays, meta). Raises CheckpointError with a clear message.
    Only a regular file is opened; the metadata is read first and its fields checked
    (schema.py); then each array is checked by name and header, against the sizes
    the metadata implies, before any is loaded (inputs.read_npz); then the arrays' values and
    their agreement with the metadata."""
    path = Path(path)
    meta = read_meta(path)
    try:
        arrays = read_npz(path, "checkpoint", MEMBERS, CheckpointError,
                          check=lambda name, shape, dtype: check_member(path, name, shape, meta))
        arrays.pop("__meta__")
        arrays = {current_name(k): v for k, v in arrays.items()}
        check_checkpoint(path, arrays, meta)
    except SchemaError as e:
        raise CheckpointError(str(e)) from None
    return arrays, meta


def read_meta(path) -> dict:
    """A checkpoint's metadata alone (its `__meta__` member, at most MAX_META_BYTES), with its
    format, version and fields checked; the arrays are not read."""
    path = Path(path)
    if path.is_dir():
        inside = path / "checkpoint.npz"
        raise CheckpointError(f"{path} is a folder; give the checkpoint file"
                              + (f", {inside}" if inside.exists() else " (a .npz)"))
    regular_file(path, "checkpoint", CheckpointError)
    try:
        with zipfile.ZipFile(path) as z:
            has_meta = "__meta__.npy" in z.namelist()
    except (zipfile.BadZipFile, OSError) as e:
        raise CheckpointError(f"checkpoint {path} is corrupt or not an .npz archive ({e})") \
            from None
    if not has_meta:
        raise CheckpointError(f"{path} is an .npz file but not a ddpm_np checkpoint (no metadata)")

    def text(name, shape, dtype):
        if dtype != np.uint8 or len(shape) != 1 or shape[0] > MAX_META_BYTES:
            raise CheckpointError(f"checkpoint {path}: its metadata is not UTF-8 text of at "
                                  f"most {MAX_META_BYTES} bytes (a damaged or foreign file)")
    raw = read_npz(path, "checkpoint", MEMBERS, CheckpointError, only={"__meta__"},
                   check=text)["__meta__"]
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"checkpoint {path} has unreadable metadata ({e})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"checkpoint {path}: its metadata must be a JSON object, got "
                              f"{type(meta).__name__}")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a ddpm_np checkpoint (format {meta.get('format')!r})")
    version = meta.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise CheckpointError(f"checkpoint {path}: field version must be a whole number ≥ 0, "
                              f"got {version!r}")
    if version > VERSION:
        raise CheckpointError(f"{path} was written by a newer ddpm_np (version {version})")
    try:
        check_meta(path, meta)
    except SchemaError as e:
        raise CheckpointError(str(e)) from None
    return meta


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
