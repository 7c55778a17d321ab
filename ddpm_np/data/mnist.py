"""MNIST (and Fashion-MNIST) in the IDX format: reader, validator and downloader.

Where the files are looked for, in order:
  1. the `data_dir` argument (the folder holding the four files),
  2. `$DDPM_NP_DATA/<dataset>` (tests and CI point this at ../shared/data),
  3. a user cache folder, `$XDG_CACHE_HOME/ddpm_np/<dataset>` (default ~/.cache/ddpm_np/...).
Missing files are downloaded into that folder from the public mirrors below, tried in turn, with
a progress bar, verified against the published MD5 checksums and written atomically. Files that
are already present are validated by their IDX header (magic number, counts, 28×28, labels
0..9), not by checksum: recompressed copies are fine.

IDX layout: images start with big-endian int32 words 0x00000803, N, 28, 28 then N·784 bytes;
labels with 0x00000801, N then N bytes. Files may be gzip-compressed (.gz) or raw.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from .. import environment
from ..inputs import InputError, regular_file

DATASETS = {
    "mnist": {
        "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "https://storage.googleapis.com/cvdf-datasets/mnist/",
                    "http://yann.lecun.com/exdb/mnist/"],
        "md5": {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
    },
    "fashion-mnist": {
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "md5": {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
    },
}
SPLITS = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60_000),
          "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10_000)}
ENV_VAR = "DDPM_NP_DATA"
OFFLINE_VAR = "DDPM_NP_OFFLINE"   # a switch (environment.py): on, never try a download


class DatasetError(Exception):
    """Missing, corrupt or truncated dataset files (the message names the file and the fix)."""


def default_folder(dataset: str = "mnist") -> Path:
    """$DDPM_NP_DATA/<dataset>, else the user's cache folder; an empty variable counts as unset
    (an empty $XDG_CACHE_HOME too: never a folder relative to wherever one happens to be)."""
    if environment.value(ENV_VAR):
        return Path(environment.value(ENV_VAR)) / dataset
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ddpm_np" / dataset


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path, kind: str, expected_count: int | None = None) -> np.ndarray:
    """Read and validate one IDX file: kind "images" -> (N, 28, 28) uint8, "labels" -> (N,).
    The header is read first and checked; then exactly the bytes it implies are read (a
    compressed file is decompressed no further than that, plus one byte to catch padding)."""
    path = Path(path)
    magic_expected, ndim = (0x803, 3) if kind == "images" else (0x801, 1)
    header_len = 4 * (1 + ndim)
    try:
        regular_file(path, f"{kind} file")
    except InputError as e:
        raise DatasetError(str(e)) from None
    try:
        with _open(path) as f:
            head = f.read(header_len)
            if len(head) >= 4 and (magic := int(np.frombuffer(head[:4], ">i4")[0])) \
                    != magic_expected:
                raise DatasetError(f"{path}: bad magic number 0x{magic:08x}, expected "
                                   f"0x{magic_expected:08x} ({kind} IDX file)")
            if len(head) < header_len:
                raise DatasetError(f"{path}: truncated (only {len(head)} bytes)")
            header = np.frombuffer(head, dtype=">i4")
            n = int(header[1])
            if expected_count is not None and n != expected_count:
                raise DatasetError(f"{path}: holds {n} {kind}, expected {expected_count}")
            if n < 0:
                raise DatasetError(f"{path}: a negative count in its header ({n})")
            if kind == "images" and (header[2], header[3]) != (28, 28):
                raise DatasetError(f"{path}: images are {header[2]}×{header[3]}, expected "
                                   "28×28")
            size = n * (784 if kind == "images" else 1)
            raw = f.read(size)
            extra = f.read(1)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise DatasetError(f"{path}: cannot read ({e}); delete it so it can be fetched again") \
            from None
    if len(raw) != size or extra:
        got = f"{len(raw)}" if not extra else f"more than {size}"
        raise DatasetError(f"{path}: truncated or padded: {got} data bytes, expected {size}")
    data = np.frombuffer(raw, dtype=np.uint8)
    if kind == "labels":
        if data.size and data.max() > 9:
            raise DatasetError(f"{path}: labels outside 0..9 (max {data.max()})")
        return data.copy()
    return data.reshape(n, 28, 28).copy()


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / name[:-3]):   # .gz or already decompressed
        if candidate.exists():
            return candidate
    return None


def download_file(url: str, dest: Path, md5: str, progress: bool = True, timeout: float = 30):
    """Fetch url into dest (atomically), verifying the MD5; raises DatasetError on mismatch.
    A failed download leaves nothing behind: no partial file, no folder it created."""
    from tqdm.auto import tqdm
    made = [p for p in (dest.parent, *dest.parent.parents) if not p.exists()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent)
    done = False
    try:
        digest = hashlib.md5()
        with urllib.request.urlopen(url, timeout=timeout) as r, os.fdopen(fd, "wb") as f:
            total = int(r.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name,
                      disable=not progress, leave=False) as bar:
                while chunk := r.read(1 << 16):
                    f.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        if digest.hexdigest() != md5:
            raise DatasetError(f"{url}: checksum mismatch (md5 {digest.hexdigest()}, "
                               f"expected {md5})")
        os.replace(tmp, dest)
        done = True
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        for folder in ([] if done else made):          # innermost first
            try:
                folder.rmdir()
            except OSError:
                break


def _where_to_put(folder, name, data_dir, dataset) -> str:
    """The fix, worded for where the folder came from."""
    if data_dir is not None:
        return f"Put {name} in that folder (the --data-dir you gave), or give another --data-dir."
    if environment.value(ENV_VAR):
        return (f"Put {name} there (${ENV_VAR}/{dataset}), or point ${ENV_VAR} at a folder "
                f"whose {dataset}/ subfolder holds it, or give --data-dir FOLDER holding it.")
    return (f"Put {name} there, or give --data-dir FOLDER holding it, or set ${ENV_VAR} to a "
            f"folder whose {dataset}/ subfolder holds it.")


def load_mnist(split: str = "train", data_dir=None, download: bool = True,
               dataset: str = "mnist", progress: bool = True, mirrors=None):
    """(images uint8 (N, 28, 28), labels uint8 (N,)) of the train (60,000) or test (10,000) split.

    `mirrors` overrides the dataset's list of base URLs (tests use a local server);
    `$DDPM_NP_OFFLINE` on (1, true, yes) turns downloading off.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if environment.switch(OFFLINE_VAR, False):
        download = False
    folder = Path(data_dir) if data_dir is not None else default_folder(dataset)
    img_name, lbl_name, count = SPLITS[split]
    info = DATASETS[dataset]
    paths = {}
    for name in (img_name, lbl_name):
        path = _find(folder, name)
        if path is None and download:
            errors = []
            for base in (mirrors or info["mirrors"]):
                try:
                    download_file(base + name, folder / name, info["md5"][name], progress)
                    path = folder / name
                    break
                except (urllib.error.URLError, OSError, DatasetError) as e:
                    errors.append(f"{base}: {getattr(e, 'reason', e)}")
            if path is None:
                raise DatasetError(f"{name} is not in {folder} and could not be downloaded "
                                   f"({'; '.join(errors)}). "
                                   f"{_where_to_put(folder, name, data_dir, dataset)}")
        if path is None:
            raise DatasetError(f"{name} is missing from {folder} (download disabled). "
                               f"{_where_to_put(folder, name, data_dir, dataset)}")
        paths[name] = path
    images = read_idx(paths[img_name], "images", count)
    labels = read_idx(paths[lbl_name], "labels", count)
    return images, labels


def to_model_range(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) → float32 (N, 1, 28, 28) in [−1, 1] (x/127.5 − 1), as in Ho et al."""
    return (images.astype(np.float32) / 127.5 - 1.0)[:, None]

