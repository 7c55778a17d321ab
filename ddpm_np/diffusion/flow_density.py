"""The density of a deterministic sampler: DDIM and DPM-Solver++(2M) are discrete normalising
flows.

Every step of a deterministic sampler (DDIM with η = 0, Song et al. 2021, eq. 12; DPM-Solver++
(2M), Lu et al. 2022, solvers.py) is a linear combination of x_t, x̂_0(x_t) and, for the
multistep solver, the previous step's x̂_0:

    x_s = (σ_s/σ_t)·x_t − α_s·(e^{−h} − 1)·D,    D = x̂_0(t)  or  (1 + 1/2r)·x̂_0(t) − 1/2r·x̂_0(t')
    x̂_0(x_t) = (x_t − σ_t·ε_θ(x_t, t))/α_t

So the whole sampler is one smooth map x_T ↦ x_0 and, started from x_T ~ N(0, I), its output
has the density (change of variables)

    log q(x_0) = log N(x_T; 0, I) − log |det M|,   M = ∂x_0/∂x_T.

M is carried along the steps by the chain rule, with the same linear combinations as x
(∂x̂_0/∂x_T = (M_t − σ_t·J_t·M_t)/α_t, J_t = ∂ε_θ/∂x_t): exact for the map the sampler
computes, because the same passes give the sample and its Jacobian. For DDIM this is
Σ_steps log|det(a_t·I + b_t·J_t)|, a_t = √(ᾱ_s/ᾱ_t), b_t = √(1−ᾱ_s) − √(ᾱ_s(1−ᾱ_t)/ᾱ_t).
J_t comes from `eps_jacobian(x, t) -> (ε_θ, ∂ε_θ/∂x)`: a network's own forward-mode Jacobian or
`nn.jacobian` by backward passes (`module_eps_jacobian`), or a closed form
(`analytic.gaussian_cov_eps_jacobian`).
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from ..checks import check_int
from ..nn.jacobian import jacobian
from .schedule import NoiseSchedule
from .solvers import dpm_solver_step, solver_timesteps


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


def _flow(eps_jacobian, x_T, schedule, ts, order):
    """One chunk of samples through every step: (x_0, log|det ∂x_0/∂x_T|)."""
    B = len(x_T)
    shape, D = x_T.shape, int(np.prod(x_T.shape[1:]))
    alpha, sigma = np.sqrt(schedule.alpha_bars), np.sqrt(1 - schedule.alpha_bars)
    x = x_T.reshape(B, D)
    M = np.broadcast_to(np.eye(D), (B, D, D))            # ∂x_t/∂x_T, starting at I
    prev, h_prev = None, None
    t_next = np.append(ts[1:], 0)
    for t, s in zip(ts, t_next):
        eps, J = eps_jacobian(x.reshape(shape), np.full(B, t, dtype=np.int64))
        eps = eps.reshape(B, D)
        # 1. x̂_0 and its Jacobian with respect to x_T
        x0 = (x - sigma[t] * eps) / alpha[t]
        X = (M - sigma[t] * (J @ M)) / alpha[t]
        # 2. the same linear step for the sample and its Jacobian
        use = prev if order == 2 and prev is not None else (None, None)
        x, h = dpm_solver_step(x, x0, int(t), int(s), schedule, use[0], h_prev)
        M, _ = dpm_solver_step(M, X, int(t), int(s), schedule, use[1], h_prev)
        prev, h_prev = (x0, X), h
    sign, logdet = np.linalg.slogdet(M)
    if np.any(sign == 0):
        raise FloatingPointError("the sampler's map is singular for a sample")
    return x.reshape(shape), logdet


def flow_sample(eps_jacobian, x_T, schedule: NoiseSchedule, steps: int, order: int = 2,
                spacing: str = "logsnr", rows: int = 512, progress=False):
    """A deterministic sampler from x_T with the exact log-density of what it returns.

    eps_jacobian(x (B, ...), t (B,) int) -> (ε_θ (B, ...), J (B, D, D)); x_T (B, ...) float64.
    order 1: DDIM (η = 0); order 2: DPM-Solver++(2M); `steps` network evaluations on
    `solver_timesteps(schedule, steps, spacing)`, the last step onto x_0.
    rows: samples go through in chunks of about `rows`/D (each carries D tangents or copies;
    a chunk that stays in cache is faster).
    Math: log q(x_0) = log N(x_T; 0, I) − log|det ∂x_0/∂x_T|.
    Returns (x_0 (B, ...), log_q (B,) float64).
    """
    steps = check_int(steps, "steps", high=schedule.T)
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    ts = solver_timesteps(schedule, steps, spacing)
    x_T = np.asarray(x_T, dtype=np.float64)
    B, D = len(x_T), int(np.prod(x_T.shape[1:]))
    chunk = max(1, check_int(rows, "rows") // D)
    x0, log_q = np.empty_like(x_T), np.empty(B)
    for s in tqdm(range(0, B, chunk), desc=f"{'DDIM' if order == 1 else 'DPM++2M'}-{steps} "
                  "with log q", disable=not progress, leave=False):
        e = min(B, s + chunk)
        x0[s:e], logdet = _flow(eps_jacobian, x_T[s:e], schedule, ts, order)
        log_q[s:e] = (-0.5 * np.sum(x_T[s:e].reshape(e - s, D) ** 2, axis=1)
                      - 0.5 * D * np.log(2 * np.pi) - logdet)
    return x0, log_q


def ddim_flow_sample(eps_jacobian, x_T, schedule: NoiseSchedule, steps: int, **kw):
    """`flow_sample` with order 1: deterministic DDIM and its exact log-density."""
    return flow_sample(eps_jacobian, x_T, schedule, steps, order=1, **kw)
