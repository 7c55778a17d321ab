"""Minibatches from arrays held in memory."""
from __future__ import annotations

import numpy as np


class ArrayDataset:
    """Minibatches drawn with replacement from a fixed array (and optional integer labels).

    `description` (a JSON-able dict) goes into checkpoints, so that a run can be resumed on the
    same data."""

    def __init__(self, x: np.ndarray, y: np.ndarray | None = None, description: dict | None = None):
        if y is not None and len(y) != len(x):
            raise ValueError(f"{len(x)} examples but {len(y)} labels")
        if len(x) == 0:
            raise ValueError("ArrayDataset needs at least one example")
        self.x, self.y = x, y
        self.description = description or {}

    def __len__(self):
        return len(self.x)

    def batch(self, rng: np.random.Generator, batch_size: int):
        """(x, y) of `batch_size` examples drawn uniformly with replacement (y None if unlabelled)."""
        idx = rng.integers(0, len(self.x), size=batch_size)
        return self.x[idx], (None if self.y is None else self.y[idx])
