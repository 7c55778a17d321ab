"""The density of the deterministic DDIM sampler: a discrete normalising flow.

Each DDIM step with η = 0 (Song et al. 2021, eq. 12) is a map of x_t alone,

    x_{t'} = √ᾱ_{t'}·x̂_0 + √(1−ᾱ_{t'})·ε_θ(x_t, t),   x̂_0 = (x_t − √(1−ᾱ_t)·ε_θ)/√ᾱ_t
           = a_t·x_t + b_t·ε_θ(x_t, t),   a_t = √(ᾱ_{t'}/ᾱ_t),
                                           b_t = √(1−ᾱ_{t'}) − √(ᾱ_{t'}(1−ᾱ_t)/ᾱ_t),

with Jacobian a_t·I + b_t·∂ε_θ/∂x_t. Started from x_T ~ N(0, I), the sample x_0 therefore has
the density (change of variables, step by step)

    log q(x_0) = log N(x_T; 0, I) − Σ_steps log |det(a_t·I + b_t·∂ε_θ/∂x_t)|,

exact for the map the sampler computes: the same passes give the sample and its Jacobian. The
Jacobian comes from `eps_jacobian(x, t) -> (ε_θ, ∂ε_θ/∂x)`: `nn.jacobian` of a network
(`module_eps_jacobian`), or a closed form (`analytic.gaussian_cov_eps_jacobian`).
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from ..checks import check_int
from ..nn.jacobian import jacobian
from .samplers import ddim_timesteps
from .schedule import NoiseSchedule


def ddim_coefficients(schedule: NoiseSchedule, t: int, t_prev: int):
    """(a_t, b_t) of the DDIM step t → t_prev: x_prev = a_t·x_t + b_t·ε_θ."""
    ab, ab_prev = schedule.alpha_bars[t], schedule.alpha_bars[t_prev]
    a = np.sqrt(ab_prev / ab)
    b = np.sqrt(1 - ab_prev) - np.sqrt(ab_prev * (1 - ab) / ab)
    return float(a), float(b)


def module_eps_jacobian(model, rows: int = 2048):
    """eps_jacobian of a network: its own `jacobian(x, t)` if it has one (forward mode), else
    `nn.jacobian` by backward passes (any module with the layer contract)."""
    if hasattr(model, "jacobian"):
        return model.jacobian

    def eps_jacobian(x, t):
        return jacobian(model, x, t, rows=rows)
    return eps_jacobian


def ddim_flow_sample(eps_jacobian, x_T, schedule: NoiseSchedule, steps: int, progress=False,
                     rows: int = 512):
    """Deterministic DDIM from x_T with the log-density of what it returns.

    eps_jacobian(x (B, ...), t (B,) int) -> (ε_θ (B, ...), J (B, D, D)); x_T (B, ...) float64.
    rows: samples go to eps_jacobian in chunks of about `rows`/D (each carries D tangents or
    copies, and a chunk that stays in cache is faster).
    Math: log q(x_0) = log N(x_T; 0, I) − Σ log|det(a_t I + b_t J)|.
    Returns (x_0 (B, ...), log_q (B,) float64).
    """
    steps = check_int(steps, "steps", high=schedule.T)
    ts = ddim_timesteps(schedule.T, steps)
    t_prevs = np.append(ts[1:], 0)
    x = np.array(x_T, dtype=np.float64)
    B = len(x)
    D = int(np.prod(x.shape[1:]))
    log_q = -0.5 * np.sum(x.reshape(B, D) ** 2, axis=1) - 0.5 * D * np.log(2 * np.pi)
    eye = np.eye(D)
    chunk = max(1, check_int(rows, "rows") // D)
    for t, t_prev in tqdm(list(zip(ts, t_prevs)), desc=f"DDIM-{len(ts)} with log q",
                          disable=not progress, leave=False):
        a, b = ddim_coefficients(schedule, int(t), int(t_prev))
        x_next = np.empty_like(x)
        for s in range(0, B, chunk):
            e = min(B, s + chunk)
            eps, J = eps_jacobian(x[s:e], np.full(e - s, t, dtype=np.int64))
            sign, logdet = np.linalg.slogdet(a * eye + b * J)
            if np.any(sign == 0):
                raise FloatingPointError(f"the DDIM step at t={t} is singular for a sample")
            log_q[s:e] -= logdet
            x_next[s:e] = a * x[s:e] + b * eps
        x = x_next
    return x, log_q
