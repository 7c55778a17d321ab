"""Your own data: `load(path)` reads points, images or lattice fields, checks them, and puts them
in the units the models learn in, remembering how to go back.

| kind    | from                                   | model units (float32)  | back to the data's  |
|---------|----------------------------------------|------------------------|---------------------|
| points  | .npy/.npz (N, D) or (N,), .csv .tsv    | (N, D), each column    | × std + mean        |
|         | .txt                                   | standardised           |                     |
| images  | a folder of PNG/JPEG (class folders:   | (N, C, H, W) in        | the stated range    |
|         | labels), .npy/.npz (N, H, W[, C]) or   | [−1, 1]                | (uint8: 0..255)     |
|         | (N, C, H, W), uint8 or float + range   |                        |                     |
| lattice | .npy/.npz (N, L, L) real fields        | (N, 1, L, L) = φ / s,  | × s                 |
|         |                                        | s the field's r.m.s.   |                     |

The kind is inferred where the contents leave no doubt (a folder: images; a table or a 2-D
array: points; a 4-D or uint8 array: images); an (N, L, L) float array asks for `kind`.
`description()` is what a checkpoint keeps ("data": kind, shape, units, classes, source with a
content hash), and `denormalise(description, x)` turns samples back into the data's units.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .batching import ArrayDataset
from .reading import (ARRAY_SUFFIXES, TABLE_SUFFIXES, DataError, content_hash, decode_images,
                      first_bad, fits, image_files, image_headers, read_array, read_table)

KINDS = ("points", "images", "lattice")
MAX_POINT_DIM = 64               # the MLP is sized for a few dozen columns at most
IMAGE_SIZES = (8, 64)            # square sizes a UNet here is sized for (others: --image-size)
CHANNELS = (1, 3)
MIN_L = 2

__all__ = ["KINDS", "UserData", "denormalise", "is_own", "load", "normalise"]


@dataclass
class UserData:
    """A user's data in model units, and what it was (see the table at the top)."""
    kind: str
    x: np.ndarray
    y: np.ndarray | None = None
    classes: list | None = None
    scaling: dict = field(default_factory=dict)
    source: dict = field(default_factory=dict)

    @property
    def shape(self) -> list:
        """The shape of one example, as the model takes it."""
        return list(self.x.shape[1:])

    def description(self) -> dict:
        """What a checkpoint keeps of the data (the table at the top; images: their channels)."""
        extra = {"channels": self.shape[0]} if self.kind == "images" else {}
        return {"kind": self.kind, "shape": self.shape, "n": len(self.x), **extra,
                "classes": self.classes, "scaling": self.scaling, "source": self.source}

    def denormalise(self, x: np.ndarray) -> np.ndarray:
        return denormalise(self.description(), x)

    def split(self, fraction: float, seed: int = 0):
        """(training ArrayDataset, held-out (x, y)): a random `fraction` of the examples held
        out (at least one; within each class for labelled data)."""
        rng = np.random.default_rng([seed, 36])
        n = len(self.x)
        groups = [np.arange(n)] if self.y is None else [np.flatnonzero(self.y == k)
                                                        for k in range(len(self.classes))]
        val = []
        for g in groups:
            k = min(max(1, int(round(fraction * len(g)))), len(g) - 1)
            val.append(rng.permutation(g)[:k])
        val = np.sort(np.concatenate(val))
        train = np.setdiff1d(np.arange(n), val)
        pick = (lambda a, i: None if a is None else a[i])
        desc = dict(self.description(), n_train=len(train), n_val=len(val))
        return (ArrayDataset(self.x[train], pick(self.y, train), description=desc),
                (self.x[val], pick(self.y, val)))


def is_own(description: dict) -> bool:
    """Does a checkpoint's data description name a user's data (read by `load`), rather than a
    built-in dataset or data given to a Trainer?"""
    return bool(description.get("kind")) and "source" in description


def denormalise(description: dict, x: np.ndarray) -> np.ndarray:
    """Samples in model units → the data's units (see the table)."""
    kind, s = description.get("kind"), description.get("scaling", {})
    x = np.asarray(x, np.float64)
    if kind == "points":
        return x * np.asarray(s["std"]) + np.asarray(s["mean"])
    if kind == "lattice":
        return x[:, 0] * s["scale"]
    if kind == "images":
        lo, hi = s.get("range", (0, 255))
        return lo + (np.clip(x, -1, 1) + 1) / 2 * (hi - lo)
    raise ValueError(f"data of kind {kind!r} has no units to go back to")


def normalise(description: dict, x: np.ndarray) -> np.ndarray:
    """Data in its own units → model units, by a description's scaling (denormalise's inverse;
    how a resumed run keeps the units it began with on new data)."""
    kind, s = description.get("kind"), description.get("scaling", {})
    x = np.asarray(x, np.float64)
    if kind == "points":
        out = (x - np.asarray(s["mean"])) / np.asarray(s["std"])
    elif kind == "lattice":
        out = x[:, None] / s["scale"]
    else:
        lo, hi = s.get("range", (0, 255))
        out = 2 * (x - lo) / (hi - lo) - 1
    return out.astype(np.float32)


def infer_kind(path: Path, a: np.ndarray | None) -> str:
    if path.is_dir():
        return "images"
    if a is None or a.ndim <= 2:
        return "points"
    if a.ndim == 4 or a.dtype == np.uint8:
        return "images"
    if a.ndim == 3 and a.shape[1] == a.shape[2]:
        raise DataError(f"{path} holds {a.shape[0]} arrays of {a.shape[1]}×{a.shape[2]}: "
                        "images or lattice fields? say --kind images or --kind lattice")
    return "images"


def load(path, kind: str | None = None, key: str | None = None, image_size: int | None = None,
         channels: int | None = None, value_range=None, sha256: str | None = None) -> UserData:
    """Read `path` as `kind` (None: inferred) and check it; see the table at the top.

    key: the member of an .npz holding several arrays. image_size: images of other or mixed
    sizes are centre-cropped to a square and resized to it. channels: 1 or 3, to make mixed
    grey and colour images one or the other. value_range: (low, high) of a float image array.
    sha256: the content hash, if the caller has just computed it (else it is computed here).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"the data {path} does not exist")
    if kind is not None and kind not in KINDS:
        raise DataError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    options = {k: v for k, v in dict(key=key, image_size=image_size, channels=channels,
                                     value_range=value_range).items() if v is not None}
    a, names = None, None
    if not path.is_dir():
        suffix = path.suffix.lower()
        if suffix in TABLE_SUFFIXES:
            (a, names), fmt = read_table(path), "table"
        elif suffix in ARRAY_SUFFIXES:
            a, fmt = read_array(path, key), suffix[1:]
        else:
            raise DataError(f"{path}: cannot read {suffix or 'a file without a suffix'}; give "
                            f"a folder of images or a {', '.join(ARRAY_SUFFIXES)} or "
                            f"{', '.join(TABLE_SUFFIXES)} file")
    found = infer_kind(path, a) if kind is None else kind
    if found == "images" and path.is_dir():
        data = _image_folder(path, image_size, channels)
    elif path.is_dir():
        raise DataError(f"{path} is a folder (of images); --kind {found} needs an array file")
    else:
        data = {"points": _points, "images": _image_array, "lattice": _lattice}[found](
            a, path, image_size=image_size, channels=channels, value_range=value_range)
        data.source["format"] = fmt
        if names is not None and data.kind == "points":
            data.source["column_names"] = names
    if len(data.x) < 2:
        raise DataError(f"{path} holds {len(data.x)} example; training needs at least 2 (one "
                        "to learn from, one to hold out)")
    data.source.update(path=str(path.resolve()), sha256=sha256 or content_hash(path),
                       options=options)
    return data


def _refuse_options(kind, path, **given):
    extra = [f"--{k.replace('_', '-')}" for k, v in given.items() if v is not None]
    if extra:
        what = "an option" if len(extra) == 1 else "options"
        raise DataError(f"{', '.join(extra)}: {what} for images, not for {kind} ({path})")


def _points(a, path, image_size=None, channels=None, value_range=None) -> UserData:
    _refuse_options("points", path, image_size=image_size, channels=channels,
                    value_range=value_range)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise DataError(f"{path} has shape {a.shape}; points are (N, D) (--kind points)")
    if a.shape[1] == 0:
        raise DataError(f"{path} has shape {a.shape}: D = 0 columns, nothing to learn")
    if a.shape[1] > MAX_POINT_DIM:
        raise DataError(f"{path} has D = {a.shape[1]} columns; points may have 1 to "
                        f"{MAX_POINT_DIM} (for images, use --kind images)")
    fits(12 * a.size, f"{a.shape[0]} points of {a.shape[1]} columns")
    x = np.asarray(a, np.float64)
    first_bad(x, path)
    mean, std = x.mean(0), x.std(0)
    if x.shape[0] >= 2 and np.any(std == 0):
        j = int(np.flatnonzero(std == 0)[0])
        raise DataError(f"{path}: column {j + 1} is constant ({mean[j]:g}); drop it")
    std = np.where(std > 0, std, 1.0)
    return UserData("points", ((x - mean) / std).astype(np.float32),
                    scaling={"mean": mean.tolist(), "std": std.tolist()},
                    source={"columns": a.shape[1]})


def _lattice(a, path, image_size=None, channels=None, value_range=None) -> UserData:
    _refuse_options("lattice", path, image_size=image_size, channels=channels,
                    value_range=value_range)
    if a.ndim != 3 or a.shape[1] != a.shape[2] or a.shape[1] < MIN_L:
        raise DataError(f"{path} has shape {a.shape}; lattice fields are (N, L, L) with "
                        f"L ≥ {MIN_L}")
    fits(12 * a.size, f"{a.shape[0]} fields of {a.shape[1]}×{a.shape[2]}")
    phi = np.asarray(a, np.float64)
    first_bad(phi, path)
    s = float(np.sqrt(np.mean(phi ** 2)))
    if s == 0:
        raise DataError(f"{path}: every field is zero; nothing to learn")
    return UserData("lattice", (phi / s)[:, None].astype(np.float32),
                    scaling={"scale": s}, source={"L": a.shape[1]})


def _image_array(a, path, image_size=None, channels=None, value_range=None) -> UserData:
    if image_size is not None:
        raise DataError("--image-size applies to image folders; resize the array yourself")
    if a.ndim == 3:
        a = a[:, None]
    elif a.ndim == 4 and a.shape[-1] in (1, 3) and a.shape[1] not in (1, 3):
        a = np.moveaxis(a, -1, 1)                     # (N, H, W, C) → (N, C, H, W)
    if a.ndim != 4 or a.shape[1] not in CHANNELS:
        raise DataError(f"{path} has shape {a.shape}; images are (N, H, W), (N, H, W, C) or "
                        "(N, C, H, W) with C = 1 or 3")
    _check_size(a.shape[2], a.shape[3], path)
    if channels is not None and channels != a.shape[1]:
        raise DataError(f"--channels {channels}: {path} has {a.shape[1]}; convert it yourself")
    if a.dtype == np.uint8:
        lo, hi = (0, 255) if value_range is None else value_range
    elif value_range is None:
        raise DataError(f"{path} holds {a.dtype} images: say their range, e.g. --range 0,1 "
                        "(uint8 images are 0..255 by themselves)")
    else:
        lo, hi = value_range
    if not hi > lo:
        raise DataError(f"the range {lo:g},{hi:g} is empty; give LOW,HIGH with LOW < HIGH")
    fits(8 * a.size, f"{a.shape[0]} images of shape {a.shape[1:]}")
    x = np.asarray(a, np.float32)
    first_bad(x, path)
    out = (x.min(), x.max())
    if out[0] < lo or out[1] > hi:
        raise DataError(f"{path} has values in [{out[0]:g}, {out[1]:g}], outside the range "
                        f"{lo:g},{hi:g}")
    return UserData("images", 2 * (x - lo) / (hi - lo) - 1,
                    scaling={"range": [float(lo), float(hi)], "dtype": str(a.dtype)},
                    source={})


def _check_size(h, w, path, rule="give --image-size S to crop and resize"):
    lo, hi = IMAGE_SIZES
    if h != w or not lo <= h <= hi:
        raise DataError(f"{path}: images of {w}×{h}; the UNet takes squares from {lo} to {hi} "
                        f"pixels ({rule})")


def _image_folder(root: Path, image_size, channels) -> UserData:
    files, labels, classes = image_files(root)
    headers = image_headers(files)
    sizes = sorted({(w, h) for w, h, _ in headers})
    chans = sorted({c for _, _, c in headers})
    if channels is None and len(chans) > 1:
        grey = next(f for f, hd in zip(files, headers) if hd[2] == 1)
        colour = next(f for f, hd in zip(files, headers) if hd[2] == 3)
        raise DataError(f"{root} mixes grey ({grey.name}) and colour ({colour.name}) images: "
                        "say --channels 1 or --channels 3")
    c = channels or chans[0]
    if channels is not None and channels not in CHANNELS:
        raise DataError(f"--channels must be 1 or 3, got {channels}")
    if image_size is None:
        if len(sizes) > 1:
            raise DataError(f"{root} holds images of {len(sizes)} sizes ({sizes[0][0]}×"
                            f"{sizes[0][1]}, {sizes[-1][0]}×{sizes[-1][1]}, …): give "
                            "--image-size S to centre-crop and resize them all to S×S")
        _check_size(sizes[0][1], sizes[0][0], root)
        size, crop = sizes[0][0], False
    else:
        _check_size(image_size, image_size, root, rule=f"--image-size {image_size}")
        size, crop = image_size, True
    u8 = decode_images(files, size, c, crop)
    x = u8.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
    source = {"files": len(files), "crop": f"centre square resized to {size}×{size}"
              if crop else None}
    return UserData("images", x, labels, classes,
                    scaling={"range": [0.0, 255.0], "dtype": "uint8"}, source=source)
