"""Argument checks shared by every layer of the package (it imports nothing of it)."""
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
