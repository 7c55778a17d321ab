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
sample; the same seed gives the same samples for any K, up to float32 rounding (a BLAS may
round a row differently in a batch of another size).
"""
from __future__ import annotations

import numpy as np


def share(world, n: int) -> tuple[slice, float]:
    """(this process's rows of a batch of n, their share of the batch); every process needs a
    row."""
    if world.size > n:
        raise ValueError(f"batch size {n} is smaller than the {world.size} processes, which "
                         f"need a row each: use a batch of at least {world.size} or fewer "
                         "processes")
    rows = world.part(n)
    return rows, (rows.stop - rows.start) / n


class ShardedModel:
    """A model whose calls are split by rows across the processes of `world` (forward only:
    for sampling and evaluation). Attributes are the wrapped model's."""

    def __init__(self, model, world):
        self.model, self.world = model, world

    def __getattr__(self, name):
        return getattr(self.model, name)

    def __call__(self, x, *args):
        n = len(x)
        rows = self.world.part(n)
        mine = [a[rows] if isinstance(a, np.ndarray) and a.ndim and len(a) == n else a
                for a in args]
        out = self.model(x[rows], *mine) if rows.stop > rows.start else None
        return np.concatenate([o for o in self.world.allgather(out) if o is not None])


def sharded(model, world):
    """`model` itself on one process, a ShardedModel on several."""
    return model if world.size == 1 else ShardedModel(model, world)
