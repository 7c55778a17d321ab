"""Argument types that refuse a bad value in one line, before any work."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..checks import int_from_text


def int_at_least(low: int):
    """An argparse type: an integer ≥ low."""
    def parse(text):
        v, allowed = int_from_text(text, low)
        if v is None:
            raise argparse.ArgumentTypeError(f"expected {allowed}, got {text!r}")
        return v
    parse.__name__ = "integer"
    return parse


def finite_float(low: float, strict: bool = False, high: float | None = None):
    """An argparse type: a finite number ≥ low (> low with `strict`), ≤ high if given."""
    def parse(text):
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        if not math.isfinite(v) or (v <= low if strict else v < low) or \
                (high is not None and v > high):
            what = f"a finite number {'>' if strict else '≥'} {low:g}" + \
                ("" if high is None else f" and ≤ {high:g}")
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v
    parse.__name__ = "number"
    return parse


def folder(text):
    """An argparse type: a folder that exists."""
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a folder")
    return text


def value_range(text):
    """An argparse type: LOW,HIGH, two finite numbers with LOW < HIGH."""
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        lo = hi = math.nan
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH with LOW < HIGH, got {text!r}")
    return lo, hi


positive_int = int_at_least(1)
seed_int = int_at_least(0)
