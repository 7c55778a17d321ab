"""Timestep (and class) embedding: sinusoidal(t) → Linear → SiLU → Linear (Ho et al. 2020, App. B)."""
from __future__ import annotations

import numpy as np

from ..nn import Module, Parameter, layers, sinusoidal_embedding
from ..checks import check_int


def check_model_t(t, n: int | None = None) -> np.ndarray:
    """Time steps as a network takes them: integers ≥ 1 of shape (N,) (1-based, as the schedule
    checks them; `n`: the batch size they must match). Else a TypeError or ValueError that says
    what was given."""
    t = np.asarray(t)
    if t.dtype.kind not in "iu":
        raise TypeError(f"time steps must be integers (1-based, as in the paper), got dtype "
                        f"{t.dtype}")
    if t.ndim != 1 or (n is not None and t.shape != (n,)):
        raise ValueError(f"time steps must have shape ({'N' if n is None else n},), got "
                         f"{t.shape}")
    if t.size and t.min() < 1:
        raise ValueError(f"time steps must be ≥ 1 (1-based, as in the paper), got {t.min()}")
    return t


class TimeEmbedding(Module):
    """temb = Linear(SiLU(Linear(sinusoidal(t, emb_dim)))) [+ class_emb[y]], shape (N, dim).

    `num_classes` adds a learned embedding table with one extra row, index `num_classes`, for
    "no label" (classifier-free guidance drops labels to it). backward(dtemb) returns None: t and
    y are integers and have no gradient. `tier` chooses the layers (`nn.layers`).
    """

    def __init__(self, emb_dim, dim, num_classes=None, *, rng, dtype=np.float32, tier=None):
        nn = layers(tier)
        self.emb_dim = check_int(emb_dim, "emb_dim")
        self.lin1 = nn.Linear(emb_dim, dim, rng=rng, dtype=dtype)
        self.act = nn.SiLU()
        self.lin2 = nn.Linear(dim, dim, rng=rng, dtype=dtype)
        self.num_classes = num_classes
        if num_classes is not None:
            check_int(num_classes, "num_classes")
            self.class_emb = Parameter(rng.standard_normal((num_classes + 1, dim)).astype(dtype))

    def forward(self, t, y=None):
        t = check_model_t(t)
        dtype = self.lin1.W.dtype
        h = self.lin2(self.act(self.lin1(sinusoidal_embedding(t, self.emb_dim, dtype=dtype))))
        if self.num_classes is not None:
            if y is None:
                y = np.full(len(h), self.num_classes)
            y = np.asarray(y)
            if y.shape != (len(h),) or y.dtype.kind not in "iu" or y.min(initial=0) < 0 \
                    or y.max(initial=0) > self.num_classes:
                raise ValueError(f"class labels must be ints in 0..{self.num_classes} of shape "
                                 f"({len(h)},) ({self.num_classes} = no label)")
            h = h + self.class_emb.data[y]
        elif y is not None:
            raise ValueError("this model is unconditional: it takes no class labels")
        self._cache = y
        return h

    def backward(self, dtemb):
        y = self._need_cache() if self.num_classes is not None else None
        if y is not None:
            # scatter-add of rows, done as one bincount per column (no per-row Python loop)
            for c in range(dtemb.shape[1]):
                self.class_emb.grad[:, c] += np.bincount(
                    y, weights=dtemb[:, c], minlength=self.num_classes + 1).astype(dtemb.dtype)
        self.lin1.backward(self.act.backward(self.lin2.backward(dtemb)))
        return None
