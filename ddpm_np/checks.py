"""Argument checks shared by every layer of the package (it imports nothing of it)."""
import math
import os

import numpy as np


def check_int(value, name: str, low: int = 1, high: int | None = None) -> int:
    """`value` as an int in [low, high] (no upper bound when high is None); otherwise a
    ValueError that names it and what is allowed. Booleans and floats are refused."""
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer))
    if ok and value >= low and (high is None or value <= high):
        return int(value)
    allowed = (f"an integer ≥ {low}" if high is None else f"an integer in {low}..{high}")
    if low == 1 and high is None:
        allowed = "a positive integer"
    raise ValueError(f"{name} must be {allowed}, got {value!r}")


def int_from_text(text: str, low: int = 1) -> tuple[int | None, str]:
    """(the integer `text` spells if it is ≥ low, else None; the words for what is allowed):
    what the command line's and the environment's integers share."""
    try:
        v = int(text)
    except ValueError:
        v = None
    allowed = "a positive integer" if low == 1 else f"an integer ≥ {low}"
    return (v if v is not None and v >= low else None), allowed


def check_float(value, name: str, low: float | None = None, strict: bool = False,
                high: float | None = None) -> float:
    """`value` as a finite float, ≥ low (> low with `strict`) and ≤ high where given; otherwise
    a ValueError that names it and what is allowed."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    v = float(value) if ok else None
    if ok and math.isfinite(v) and (low is None or (v > low if strict else v >= low)) \
            and (high is None or v <= high):
        return v
    parts = [] if low is None else [f"{'>' if strict else '≥'} {low:g}"]
    parts += [] if high is None else [f"≤ {high:g}"]
    allowed = "a finite number" + (" " + " and ".join(parts) if parts else "")
    raise ValueError(f"{name} must be {allowed}, got {value!r}")


def check_array(*named):
    """Each (name, value) pair holds a floating-point NumPy array; otherwise a TypeError that
    says how to make one (lists are not turned into arrays silently: their dtype would be a
    guess)."""
    for name, value in zip(named[::2], named[1::2]):
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{name} must be a NumPy array, got {type(value).__name__}; "
                            f"use np.asarray({name}, dtype=np.float32)")
        if not np.issubdtype(value.dtype, np.floating):
            raise TypeError(f"{name} must hold floating-point numbers, got dtype {value.dtype}")


def physical_memory() -> int | None:
    """Bytes of RAM on this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(needed: float, what: str, limit: int | None = None, share: float = 0.75):
    """Refuse (MemoryError, with the figures) work that would need more than `share` of this
    machine's memory: better a line now than a swapping machine or a late failure."""
    total = physical_memory() if limit is None else limit
    if total and needed > share * total:
        raise MemoryError(f"{what} needs about {needed / 2**30:.1f} GiB, more than this "
                          f"machine's {total / 2**30:.0f} GiB allow")
