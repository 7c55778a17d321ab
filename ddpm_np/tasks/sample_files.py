"""Samples written in the data's own format and units: what `ddpm-np sample --out` writes.

| --out           | points                 | images                          | lattice            |
|-----------------|------------------------|---------------------------------|--------------------|
| x.npy           | (N, D), data units     | (N, H, W[, C]) in the data's    | (N, L, L) fields   |
|                 |                        | range (uint8 data: uint8)       |                    |
| x.csv / x.tsv   | a row a point          | —                               | —                  |
| folder/         | —                      | one PNG a sample                | —                  |
| --grid pic.png  | scatter (column pairs) | image grid (a row per class)    | fields as images   |

The built-in datasets (MNIST, the 2-D demos) and data given to a Trainer keep the model's own
array in .npy: images (N, C, H, W) in [−1, 1], points as drawn.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.own import denormalise, is_own
from ..run.folders import GRID_SUFFIXES, OutputError, check_file, check_new_files

ARRAY = (".npy",)
TABLE = (".csv", ".tsv")


def output_kind(path) -> str:
    """"folder", "array", "table", "picture" or "other" by the name's ending (a folder ends in
    /)."""
    s = str(path)
    suffix = Path(s).suffix.lower()
    if s.endswith(("/", "\\")) or Path(s).is_dir() or not suffix:
        return "folder"
    if suffix in ARRAY:
        return "array"
    if suffix in TABLE:
        return "table"
    if suffix in GRID_SUFFIXES:
        return "picture"
    return "other"


def check_out(path, kind: str, overwrite: bool) -> str:
    """Check `--out` before any work: it fits the data's kind and can be written."""
    if Path(path).is_symlink() and not Path(path).exists():
        raise OutputError(f"--out {path} is a symbolic link that leads nowhere (a loop or a "
                          "missing target); remove it or choose another name")
    what = output_kind(path)
    if what == "picture":
        raise OutputError(f"--out {path} is a picture: give it to --grid, and --out an array "
                          "(.npy)")
    allowed = {"points": ("array", "table"), "images": ("array", "folder"),
               "lattice": ("array",), None: ("array",)}[kind]
    if what not in allowed and allowed == ("array",):
        check_file(path, ARRAY, overwrite)          # says what the name must end in
    if what not in allowed:
        names = {"array": ".npy", "table": ".csv/.tsv", "folder": "a folder/"}
        raise OutputError(f"--out {path}: samples of {kind or 'this model'} go to "
                          f"{' or '.join(names[a] for a in allowed)}")
    if what == "folder":
        check_new_files(path, ["sample_*.png"], overwrite)
    else:
        check_file(path, {"array": ARRAY, "table": TABLE}[what], overwrite)
    return what


def in_data_units(x: np.ndarray, meta: dict, what: str = "array") -> np.ndarray:
    """Samples in the data's units and layout for `what` (see the table); the model's array
    for a built-in dataset's or a Trainer's data, except as image files."""
    desc = meta.get("data") or {}
    if not is_own(desc):
        if what != "folder":
            return x
        desc = {"kind": "images", "scaling": {"range": [0.0, 255.0], "dtype": "uint8"}}
    y = denormalise(desc, x)
    if desc["kind"] == "images":
        y = np.moveaxis(y, 1, -1)                           # (N, H, W, C)
        y = y[..., 0] if y.shape[-1] == 1 else y
        if desc.get("scaling", {}).get("dtype") == "uint8":
            y = np.round(y).clip(0, 255).astype(np.uint8)
    return y


def write_samples(x_data: np.ndarray, path, what: str, labels=None, classes=None) -> None:
    """Write samples (in data units, `in_data_units`) as `what` (`check_out`'s answer)."""
    from ..run.checkpoint import atomic_write
    path = Path(path)
    if what == "array":
        atomic_write(path, lambda f: np.save(f, x_data))
    elif what == "table":
        sep = "," if path.suffix.lower() == ".csv" else "\t"
        text = "\n".join(sep.join(f"{v:.9g}" for v in row) for row in np.atleast_2d(x_data))
        atomic_write(path, lambda f: f.write((text + "\n").encode()))
    else:
        from PIL import Image
        path.mkdir(parents=True, exist_ok=True)
        u8 = x_data if x_data.dtype == np.uint8 else _to_uint8(x_data)
        for i, img in enumerate(u8):
            label = None if labels is None else classes[labels[i]] if classes else labels[i]
            name = f"sample_{i:05d}" + ("" if label is None else f"_{label}")
            atomic_write(path / f"{name}.png", lambda f, img=img: Image.fromarray(img).save(
                f, format="PNG"))


def _to_uint8(x):
    lo, hi = float(x.min()), float(x.max())
    return np.round(255 * (x - lo) / max(hi - lo, 1e-12)).astype(np.uint8)


def draw_picture(x_model: np.ndarray, meta: dict, kind: str, path, title: str, labels=None,
                 data=None) -> None:
    """The picture of samples (model units) of `kind`: a grid of images, one row per class where
    there are labels; a scatter of points (pairs of columns, in the data's units; `data`
    behind them); lattice fields as images."""
    from .. import plotting
    desc = meta.get("data") or {}
    if kind == "points":
        plotting.pairs(in_data_units(x_model, meta), path, title=title, data=data,
                       names=(desc.get("source") or {}).get("column_names"))
        return
    if kind == "lattice":
        plotting.lattice_fields(in_data_units(x_model, meta) if is_own(desc) else x_model[:, 0],
                                path, title=title, data=data)
        return
    classes = desc.get("classes")
    if labels is not None and classes:
        order = np.argsort(labels, kind="stable")
        per = np.bincount(labels).max()
        rows = [x_model[order][labels[order] == k] for k in range(len(classes))]
        grid = np.concatenate([np.concatenate([r, np.full((per - len(r), *r.shape[1:]), -1.0,
                                                          r.dtype)]) for r in rows])
        plotting.image_grid(np.clip(grid, -1, 1), path, nrow=per, title=title,
                            row_labels=list(classes))
        return
    plotting.image_grid(np.clip(x_model, -1, 1), path, nrow=min(10, len(x_model)), title=title)

