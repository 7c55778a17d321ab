"""What every reverse-process loop shares: x_T, the progress bar, the recorded trajectory.

A sampler reads as its algorithm (samplers.py, solvers.py, learned_variance.py):

    x = start(shape, rng, dtype, x_T)                      # x_T ~ N(0, I)
    path = Trajectory(len(ts), every, keep=return_trajectory)
    for i, t in each_step(ts, "DDPM", progress):
        x_prev, x0_hat = <one step from x_t, t>
        path.record(i, t, x, x0_hat)
        x = x_prev
    return path.result(x)                                  # x_0, or (x_0, trajectory)
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm


def start(shape, rng: np.random.Generator, dtype=np.float32, x_T=None) -> np.ndarray:
    """x_T: drawn from N(0, I) with `rng`, or a copy of the given `x_T` (of `shape`)."""
    if x_T is None:
        return rng.standard_normal(shape).astype(dtype)
    if x_T.shape != tuple(shape):
        raise ValueError(f"x_T shape {x_T.shape} != requested shape {tuple(shape)}")
    return x_T.astype(dtype, copy=True)


def each_step(ts, desc: str, progress: bool = True):
    """(i, t) over the time steps `ts`, t a Python int, with a progress bar named `desc`."""
    for i, t in enumerate(tqdm(ts, desc=desc, disable=not progress, leave=False)):
        yield i, int(t)


class Trajectory:
    """x_t and x̂_0 at every `every`-th of `n_steps` steps (default a tenth) and at the end, if
    `keep`; `result(x_0)` is x_0 alone, or (x_0, {"t": (K,), "xt", "x0_hat": (K, *shape)})."""

    def __init__(self, n_steps: int, every: int | None = None, keep: bool = True):
        self.every = max(1, n_steps // 10) if every is None else every
        self.keep = keep
        self.t, self.xt, self.x0_hat = [], [], []

    def record(self, i: int, t: int, xt, x0_hat):
        if self.keep and i % self.every == 0:
            self.t.append(int(t))
            self.xt.append(xt.copy())
            self.x0_hat.append(x0_hat.copy())

    def result(self, x0):
        if not self.keep:
            return x0
        arrays = {"t": self.t + [0], "xt": self.xt + [x0.copy()],
                  "x0_hat": self.x0_hat + [x0.copy()]}
        return x0, {k: np.array(v) for k, v in arrays.items()}
