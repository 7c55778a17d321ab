"""Reading a user's data files, each read bounded by what its format says it holds.

- arrays: `.npy` (opened memory-mapped, never unpickled) and `.npz` (one array, or the member
  `key`), checked by their headers before a byte of data is read (inputs.py);
- tables: `.csv`, `.tsv`, `.txt` of numeric columns, one header line allowed;
- images: a folder of PNG/JPEG files, or of class folders holding them (the ImageFolder
  convention: `root/cat/*.png`, `root/dog/*.png`); every header is read (size, channels) and
  checked before any pixel is decoded.

Every refusal is a DataError naming the file (and row, column or index) and what is allowed.
"""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np

from ..checks import check_memory
from ..inputs import GREY_MODES, MAX_IMAGE_PIXELS, InputError, read_npz, regular_file

ARRAY_SUFFIXES = (".npy", ".npz")
TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": None}      # None: any whitespace
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class DataError(InputError):
    """Data that cannot be used as asked (the message names the file and says why)."""


# -- arrays ---------------------------------------------------------------------------------------
def read_array(path, key: str | None = None) -> np.ndarray:
    """The array in `path` (.npy memory-mapped; .npz: its only member, or `key`)."""
    path = regular_file(path, "data file", DataError)
    if path.suffix.lower() == ".npy":
        if key is not None:
            raise DataError(f"--key applies to .npz archives; {path} is a single array")
        try:
            a = np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as e:
            if "pickle" in str(e).lower() or "object" in str(e).lower():
                raise DataError(f"{path} holds Python objects (an object array or a pickle); "
                                "this library reads plain numeric arrays only, and never "
                                "unpickles") from None
            raise DataError(f"{path} is not a readable .npy array ({e})") from None
        except OSError as e:
            raise DataError(f"{path} is not a readable .npy array ({e})") from None
        return _numeric(a, path)
    try:
        with zipfile.ZipFile(path) as z:
            names = [n[:-4] if n.endswith(".npy") else n for n in z.namelist()]
    except (zipfile.BadZipFile, OSError) as e:
        raise DataError(f"{path} is corrupt or not an .npz archive ({e})") from None
    if key is None:
        if len(names) != 1:
            raise DataError(f"{path} holds {len(names)} arrays ({', '.join(names[:8]) or 'none'})"
                            "; say which with --key NAME")
        key = names[0]
    elif key not in names:
        raise DataError(f"{path} has no array {key!r}; it holds {', '.join(names[:8])}")
    return _numeric(read_npz(path, "data file", error=DataError, only=(key,))[key], path)


def _numeric(a, path) -> np.ndarray:
    if a.dtype.kind not in "biuf":
        raise DataError(f"{path} holds dtype {a.dtype}; give real numbers (integers or floats)")
    return a


# -- tables ---------------------------------------------------------------------------------------
def read_table(path) -> tuple[np.ndarray, list | None]:
    """((N, D) float64, the header's names or None) from a text table; a first line that is not
    all numbers is a header. A non-numeric cell (named by row and column) and ragged rows are
    refused."""
    path = regular_file(path, "data file", DataError)
    fits(8 * path.stat().st_size, f"reading the table {path}")
    sep = TABLE_SUFFIXES[path.suffix.lower()]
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not a text table (byte {e.start} is not UTF-8)") from None
    rows, width, header = [], None, None
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        cells = [c.strip() for c in (line.split(sep) if sep else line.split())]
        try:
            values = [float(c) for c in cells]
        except ValueError:
            if header is None and not rows:
                header = cells
                width = len(cells)
                continue
            col = next(j for j, c in enumerate(cells, 1) if not _is_number(c))
            raise DataError(f"{path}, row {line_no}, column {col}: {cells[col - 1]!r} is not a "
                            "number (only a first header line may hold words)") from None
        if width is None:
            width = len(values)
        if len(values) != width:
            raise DataError(f"{path}, row {line_no} has {len(values)} columns, the rows above "
                            f"{width}: ragged rows")
        rows.append(values)
    if not rows:
        raise DataError(f"{path} holds no rows of numbers")
    return np.asarray(rows, dtype=np.float64), header


def _is_number(c: str) -> bool:
    try:
        float(c)
        return True
    except ValueError:
        return False


# -- image folders --------------------------------------------------------------------------------
def image_files(root) -> tuple[list[Path], np.ndarray | None, list[str] | None]:
    """(files, labels, class names) of an image folder: its images, or its class folders'
    (sorted names; labels index them). Other files are ignored; both at once is refused."""
    root = Path(root)
    entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    top = [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    folders = [p for p in entries if p.is_dir()]
    classes = [(d, sorted(f for f in d.iterdir() if f.is_file() and not f.name.startswith(".")
                          and f.suffix.lower() in IMAGE_SUFFIXES)) for d in folders]
    classes = [(d, fs) for d, fs in classes if fs]
    if not entries:
        raise DataError(f"the folder {root} is empty; put images (PNG or JPEG) or class "
                        "folders of images in it")
    if top and classes:
        raise DataError(f"{root} holds images ({top[0].name}, …) beside class folders "
                        f"({classes[0][0].name}/, …): use one layout, all images in class "
                        "folders or none")
    if top:
        return top, None, None
    if not classes:
        raise DataError(f"the folder {root} holds no images ({', '.join(IMAGE_SUFFIXES)}), "
                        "neither in itself nor in class folders")
    for d, fs in classes:
        if len(fs) < 2:
            raise DataError(f"the class folder {d} holds one image; a class needs at least 2 "
                            "(one to train on, one to hold out)")
    files = [f for _, fs in classes for f in fs]
    labels = np.concatenate([np.full(len(fs), k) for k, (_, fs) in enumerate(classes)])
    return files, labels.astype(np.int64), [d.name for d, _ in classes]


def image_headers(files) -> list[tuple[int, int, int]]:
    """(width, height, channels) of each file from its header alone; a file that is not a
    picture or is larger than MAX_IMAGE_PIXELS (a decompression bomb) is refused by name."""
    from PIL import Image
    out = []
    for f in files:
        regular_file(f, "image", DataError)
        try:
            with Image.open(f) as im:
                w, h = im.size
                out.append((w, h, 1 if im.mode in GREY_MODES else 3))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            raise DataError(f"cannot read the image {f}: {e}") from None
        if w * h > MAX_IMAGE_PIXELS:
            raise DataError(f"the image {f} is {w}×{h} pixels, more than the "
                            f"{MAX_IMAGE_PIXELS} this library decodes (refused before "
                            "decoding)")
    return out


def decode_images(files, size: int, channels: int, crop: bool) -> np.ndarray:
    """(N, size, size, channels) uint8; with `crop`, each picture's centred square resized to
    size × size, else each must already be size × size."""
    from PIL import Image
    fits(5 * len(files) * size * size * channels, f"{len(files)} images of {size}×{size}")
    out = np.empty((len(files), size, size, channels), np.uint8)
    pil_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None   # checked above
    try:
        for i, f in enumerate(files):
            try:
                with Image.open(f) as im:
                    im = im.convert("L" if channels == 1 else "RGB")
                    if crop:
                        im = centre_square(im).resize((size, size), Image.BILINEAR)
                    a = np.asarray(im, np.uint8)
            except (OSError, ValueError, SyntaxError) as e:
                raise DataError(f"cannot decode the image {f} (truncated or damaged?): {e}") \
                    from None
            out[i] = a.reshape(size, size, channels)
    finally:
        Image.MAX_IMAGE_PIXELS = pil_limit
    return out


def centre_square(im):
    w, h = im.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    return im.crop((left, top, left + s, top + s))


# -- what the data was ----------------------------------------------------------------------------
def content_hash(path) -> str:
    """SHA-256 of a file's bytes, or of a folder's image files (relative names and bytes)."""
    path = Path(path)
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(
        f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    for f in files:
        if f != path:
            h.update(str(f.relative_to(path)).encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def first_bad(a: np.ndarray, path) -> None:
    """Refuse an array holding NaN or Inf, with the count and the first index."""
    bad = ~np.isfinite(a)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{path} holds {int(bad.sum())} NaN or Inf values (the first at index "
                        f"{first}); give finite numbers")


def fits(needed: float, what: str) -> None:
    """Refuse data that would not fit in memory, before reading it: its size and the limit."""
    try:
        check_memory(needed, what)
    except MemoryError as e:
        raise DataError(f"{e}: the data do not fit in memory; train on a part of them") \
            from None
