"""DDIM inversion and spherical interpolation of noises.

DDIM with η = 0 is a deterministic map x_T → x_0 (Euler steps of the probability-flow ODE).
Running the same steps the other way, from x_0 up to x_T, finds the noise that produces a given
image (Song et al. 2021, §4.3; Dhariwal & Nichol 2021, App. F): on the ascending steps
0 = t_0 < t_1 < … < t_N = T,

    x_{t_{i+1}} = √ᾱ_{t_{i+1}}·x̂_0(x_{t_i}, t_i) + √(1 − ᾱ_{t_{i+1}})·ε_θ(x_{t_i}, t_i),

with ε_θ(x_0, t_1) at the first step (the model is not defined at t = 0). Sampling back with
`ddim_sample` on the same steps returns the image up to the solver's error: the two directions
evaluate ε at the two ends of each step, an O(h) difference for a first-order method.

Interpolating two noises linearly shrinks their norm (the midpoint of two independent N(0, I)
draws has half the variance), which no sampler expects; spherical interpolation keeps it
(Shoemake 1985; Song et al. 2021, §5.3):
    slerp(z_0, z_1; a) = sin((1−a)θ)/sin θ·z_0 + sin(aθ)/sin θ·z_1,   cos θ = ⟨z_0, z_1⟩/(‖z_0‖‖z_1‖).
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from ..checks import check_array
from .param import x0_from_eps
from .samplers import ddim_timesteps
from .schedule import NoiseSchedule


def ddim_invert(eps_model, x0, schedule: NoiseSchedule, steps=50, progress=True):
    """x_T whose DDIM-`steps` sample (η = 0, the same steps) is x0. x0: (N, ...) float."""
    check_array("x0", x0)
    ts = ddim_timesteps(schedule.T, steps)[::-1]            # ascending t_1 < … < t_N = T
    ab = schedule.alpha_bars
    n = x0.shape[0]
    x, x0_hat = x0, x0
    t_eval = ts[0]                                            # ε at t_1 for the first step
    for i, t_next in enumerate(tqdm(ts, desc=f"DDIM inversion-{steps}", disable=not progress,
                                    leave=False)):
        t_model = t_eval if i == 0 else ts[i - 1]
        eps = eps_model(x, np.full(n, t_model, dtype=np.int64))
        if i > 0:
            x0_hat = x0_from_eps(x, t_model, eps, schedule)
        x = (np.sqrt(ab[t_next]) * x0_hat + np.sqrt(1 - ab[t_next]) * eps).astype(x0.dtype)
    return x


def slerp(z0, z1, a):
    """Spherical interpolation between two arrays of the same shape, per leading index
    (each sample its own angle); a: a number in [0, 1]."""
    check_array("z0", z0, "z1", z1)
    if z0.shape != z1.shape:
        raise ValueError(f"slerp needs equal shapes, got {z0.shape} and {z1.shape}")
    n = z0.shape[0]
    u, v = z0.reshape(n, -1).astype(np.float64), z1.reshape(n, -1).astype(np.float64)
    cos = np.sum(u * v, axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
    theta = np.arccos(np.clip(cos, -1, 1))[:, None]
    small = theta[:, 0] < 1e-6                                  # parallel: plain lerp
    s = np.where(small[:, None], 1.0, np.sin(theta))
    w0 = np.where(small[:, None], 1 - a, np.sin((1 - a) * theta) / s)
    w1 = np.where(small[:, None], a, np.sin(a * theta) / s)
    return (w0 * u + w1 * v).reshape(z0.shape).astype(z0.dtype)
