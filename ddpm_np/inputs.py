"""Reading a user's files, bounded by what their format says they hold.

A file is read only if it is a regular file (a device such as /dev/zero never ends, a FIFO
blocks for ever); an image's size is read from its header and checked before its pixels are
decoded; an `.npz` archive's members are checked by name, by the array header of each (shape,
dtype: never an object array) and by the size the archive declares, before any is loaded. So a
file that is not what its size says costs a line, not the machine's memory.
"""
from __future__ import annotations

import math
import os
import stat
import zipfile
from pathlib import Path

import numpy as np

from .checks import check_memory

MAX_IMAGE_PIXELS = 4096 * 4096      # no image this library reads needs more
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


class InputError(ValueError):
    """A file that cannot be read as asked (the message names it and says why)."""


_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))


def regular_file(path, what: str = "file", error=InputError) -> Path:
    """`path` as a Path, if it names a regular file (symbolic links followed); otherwise
    `error` saying what it is instead. Nothing is opened."""
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as e:
        if os.path.islink(path):
            raise error(f"{what} {path} is a symbolic link that leads nowhere (a loop or a "
                        "missing target)") from None
        if isinstance(e, FileNotFoundError):
            raise error(f"{what} {path} does not exist") from None
        raise error(f"cannot read {what} {path}: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{what} {path} is a folder; give a file")
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
        raise error(f"{what} {path} is {kind}, not a regular file; give a file")
    return path


def read_npz(path, what: str = "archive", allowed=None, error=InputError, only=None,
             check=None) -> dict:
    """{name: array} of the `.npz` file `path`, read member by member after every member has
    been checked: its name is one of `allowed` (names, or prefixes ending in "/"; None: any),
    its `.npy` header is readable, its dtype holds no Python objects, the bytes its shape needs
    are those the archive holds (a header that claims more is a damaged file, not an
    allocation), and `check(name, shape, dtype)` (if given) accepts it; the total must fit in
    memory. `only`: the names to load (default: all)."""
    path = regular_file(path, what, error)
    try:
        with zipfile.ZipFile(path) as z:
            members = {(i.filename[:-4] if i.filename.endswith(".npy") else i.filename): i
                       for i in z.infolist()}
            for name, info in members.items():
                if allowed is not None and not any(
                        name == a or (a.endswith("/") and name.startswith(a)) for a in allowed):
                    raise error(f"{what} {path} holds a member this library does not write, "
                                f"{name!r}: not loaded (a damaged or foreign file)")
            wanted = {n: i for n, i in members.items() if only is None or n in only}
            for name, info in wanted.items():
                with z.open(info) as f:
                    shape, dtype = _npy_header(f, info, path, what, error)
                if check is not None:
                    check(name, shape, dtype)
            check_memory(sum(i.file_size for i in wanted.values()), f"reading {path}")
            arrays = {}
            for name, info in wanted.items():
                with z.open(info) as f:
                    arrays[name] = np.lib.format.read_array(f, allow_pickle=False)
            return arrays
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError) as e:
        if isinstance(e, error):
            raise
        raise error(f"{what} {path} is corrupt or not an .npz archive ({e})") from None


def _npy_header(f, info, path, what, error):
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, _, dtype = reader(f)
    except (ValueError, EOFError, OSError) as e:
        raise error(f"{what} {path}: member {info.filename!r} is not an array ({e})") from None
    if dtype.hasobject:
        raise error(f"{what} {path}: member {info.filename!r} holds Python objects (dtype "
                    f"{dtype}); this library reads plain arrays only")
    needed = math.prod(shape) * dtype.itemsize
    if needed > info.file_size:
        raise error(f"{what} {path}: member {info.filename!r} claims {shape} of {dtype} "
                    f"({needed} bytes) but holds {info.file_size}: a damaged file")
    return shape, dtype


def read_image(path, what: str = "image", size=None, max_pixels: int = MAX_IMAGE_PIXELS,
               error=InputError) -> np.ndarray:
    """A picture as float32 in [0, 1], grey (H, W) or colour (H, W, 3): its width and height are
    read from the file's header and checked (`size` = (width, height) exactly, else at most
    `max_pixels`) before a pixel is decoded."""
    from PIL import Image
    path = regular_file(path, what, error)
    pil_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # ours is stricter
    try:
        with Image.open(path) as im:              # reads the header only
            w, h = im.size
            if size is not None and (w, h) != tuple(size):
                raise error(f"the {what} {path} is {w}×{h} pixels; it must be "
                            f"{size[0]}×{size[1]}")
            if w * h > max_pixels:
                raise error(f"the {what} {path} is {w}×{h} pixels, more than the "
                            f"{max_pixels} this library reads")
            a = np.asarray(im.convert("L" if im.mode in GREY_MODES else "RGB"), np.float32)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        if isinstance(e, error):
            raise
        raise error(f"cannot read the {what} {path}: {e}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = pil_limit
    return a / 255.0
