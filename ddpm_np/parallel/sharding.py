"""Splitting work by rows across the processes, so that the result does not depend on how many
there are.

Training (train.py): every process draws the whole global batch, its time steps, its noise and
its label drop-outs from the run's one generator, exactly as a single process would, and keeps
its own rows (`world.part(B)`); the losses of the parts, weighted by their share of B, add up
to the loss of the whole batch, and so do their gradients. So 1, 2 or 4 processes take the same
steps, up to the order in which floats are summed.

Sampling and evaluation: `ShardedModel` wraps a model so that each call computes the process's
own rows and gathers the rest from the others. The samplers around it run unchanged on every
process, drawing the same noise from the same generator, and every process ends with every
sample; the same seed gives the same samples for any K.
"""
from __future__ import annotations

import numpy as np


def share(world, n: int) -> tuple[slice, float]:
    """(this process's rows of a batch of n, their share of the batch)."""
    rows = world.part(n)
    return rows, (rows.stop - rows.start) / n


class ShardedModel:
    """A model whose calls are split by rows across the processes of `world` (forward only:
    for sampling and evaluation). Attributes are the wrapped model's."""

    def __init__(self, model, world):
        self.model, self.world = model, world

    def __getattr__(self, name):
        return getattr(self.model, name)

    def __call__(self, x, *args, repeats=1):
        """The model on this process's rows of x; arguments with one row per row of x are cut
        alike, and with `repeats` r, those with r·N rows (labels laid out as r blocks of N) are
        cut block by block, and the outputs put back in that layout."""
        n, r = len(x), repeats
        rows = self.world.part(n)

        def mine(a):
            if not isinstance(a, np.ndarray) or not a.ndim:
                return a
            if len(a) == n:
                return a[rows]
            if r > 1 and len(a) == r * n:
                return a.reshape((r, n) + a.shape[1:])[:, rows].reshape((-1,) + a.shape[1:])
            return a

        kw = {"repeats": r} if r > 1 else {}
        out = self.model(x[rows], *map(mine, args), **kw) if rows.stop > rows.start else None
        parts = [o for o in self.world.allgather(out) if o is not None]
        if r == 1:
            return np.concatenate(parts)
        blocks = [o.reshape((r, -1) + o.shape[1:]) for o in parts]
        return np.concatenate(blocks, axis=1).reshape((-1,) + parts[0].shape[1:])


def sharded(model, world):
    """`model` itself on one process, a ShardedModel on several."""
    return model if world.size == 1 else ShardedModel(model, world)
