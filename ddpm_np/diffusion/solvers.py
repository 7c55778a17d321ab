"""Few-step solvers of the probability-flow ODE: DPM-Solver++(2M) (Lu et al. 2022).

With α_t = √ᾱ_t, σ_t = √(1−ᾱ_t) and the half log-SNR λ_t = log(α_t/σ_t), the probability-flow
ODE in data-prediction form has the exact solution (Lu et al. 2022, "DPM-Solver++", §3)

    x_s = (σ_s/σ_t)·x_t + σ_s·∫_{λ_t}^{λ_s} e^λ·x̂_0(x_λ, λ) dλ,

so only the integral of the model's x̂_0 needs approximating. Holding x̂_0 constant over the step,
h = λ_s − λ_t, gives the first-order solver (which is DDIM with η = 0):

    x_s = (σ_s/σ_t)·x_t − α_s·(e^{−h} − 1)·x̂_0(x_t, t)                     (first order)

and the multistep second-order one (Algorithm 2) replaces x̂_0 by a linear extrapolation from
the previous step's x̂_0, with r = h_prev/h:

    D = (1 + 1/(2r))·x̂_0(t) − 1/(2r)·x̂_0(t_prev),  x_s = (σ_s/σ_t)·x_t − α_s·(e^{−h} − 1)·D.

The first step (no previous x̂_0) is first order, and so is the last, onto t = 0, where σ_0 = 0
and the update is x_0 = x̂_0 (the paper's "lower order final"). One model evaluation per step.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_int
from .param import x0_from_eps
from .samplers import check_sampler_inputs, checked_eps, clip_x0_hat
from .schedule import NoiseSchedule
from .trajectory import Trajectory, each_step, start

SPACINGS = ("logsnr", "uniform", "trailing")


def half_log_snr(schedule: NoiseSchedule) -> np.ndarray:
    """λ_t = log(α_t/σ_t) = ½·log(ᾱ_t/(1−ᾱ_t)) for t = 0..T (λ_0 = +∞)."""
    ab = schedule.alpha_bars
    with np.errstate(divide="ignore"):
        return 0.5 * (np.log(ab) - np.log1p(-ab))


def solver_timesteps(schedule: NoiseSchedule, steps: int, spacing: str = "trailing"
                     ) -> np.ndarray:
    """`steps` strictly decreasing time steps from T, each evaluated once; the solver's last step
    goes from the smallest of them to t = 0.

    spacing: "trailing" (the default), T, T − T/steps, …, T/steps: uniform in t, leaving out the
    small t's, which the final jump to x̂_0 covers; "logsnr", uniform in λ between λ_T and λ_1,
    rounded to the nearest step (the paper's choice for its low-resolution experiments);
    "uniform", uniform in t from T to 1 (as DDIM here). On the shipped MNIST model trailing
    was clearly the best at 5 steps (docs/results.md).
    """
    T = schedule.T
    check_int(steps, f"steps (with T={T})", high=T)
    if spacing == "uniform":
        ts = np.round(np.linspace(T, 1, steps))
    elif spacing == "trailing":
        ts = np.round(T - np.arange(steps) * T / steps)
    elif spacing == "logsnr":
        lam = half_log_snr(schedule)[1:]                       # λ_1 > … > λ_T
        grid = np.linspace(lam[-1], lam[0], steps)             # from λ_T up to λ_1
        ts = 1 + np.abs(lam[None, :] - grid[:, None]).argmin(axis=1)
    else:
        raise ValueError(f"spacing must be one of {', '.join(SPACINGS)}, got {spacing!r}")
    # strictly decreasing from T to ≥ 1: room for the steps on either side, then push up
    # from the end where rounding made two equal
    i = np.arange(steps)
    ts = np.clip(ts.astype(np.int64), steps - i, T - i)
    ts[0] = T
    for k in range(steps - 2, -1, -1):
        ts[k] = max(ts[k], ts[k + 1] + 1)
    return ts


def dpm_solver_step(x, x0_hat, t, s, schedule: NoiseSchedule, x0_prev=None, h_prev=None):
    """One DPM-Solver++ step x_t → x_s (s < t): first order without `x0_prev`, else the
    second-order multistep update with the previous step's x̂_0 and log-SNR step `h_prev`.
    Returns (x_s, h) with h = λ_s − λ_t (infinite for s = 0, where x_s = x̂_0)."""
    if s == 0:
        return x0_hat, np.inf
    lam = half_log_snr(schedule)
    alpha, sigma = np.sqrt(schedule.alpha_bars), np.sqrt(1 - schedule.alpha_bars)
    h = lam[s] - lam[t]
    D = x0_hat
    if x0_prev is not None:
        r = h_prev / h
        D = (1 + 0.5 / r) * x0_hat - (0.5 / r) * x0_prev
    x_s = (sigma[s] / sigma[t]) * x - alpha[s] * np.expm1(-h) * D
    return x_s.astype(x.dtype, copy=False), h


def dpm_solver_sample(eps_model, shape, schedule: NoiseSchedule, rng: np.random.Generator,
                      steps=15, spacing="trailing", order=2, clip_x0=None, dtype=np.float32,
                      x_T=None, progress=True, return_trajectory=False, trajectory_every=None,
                      t_end=0):
    """DPM-Solver++(2M) from x_T ~ N(0, I) (or the given `x_T`): `steps` model evaluations on
    `solver_timesteps(schedule, steps, spacing)`, first order at the first and the last step.
    order=1 is DDIM with η = 0 on the same steps. clip_x0 clips x̂_0 to [−c, c] (images).
    `t_end` > 0 stops at x_{t_end} instead of x_0 (for tests against the exact flow).
    Returns like `ddpm_sample`.
    """
    check_sampler_inputs(eps_model, shape, schedule, rng, need_rng=x_T is None)
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    eps_model = checked_eps(eps_model)
    ts = solver_timesteps(schedule, steps, spacing)
    if t_end:
        ts = ts[ts > t_end]
    t_next = np.append(ts[1:], t_end)
    n = shape[0]
    x, x0_prev, h = start(shape, rng, dtype, x_T), None, None
    path = Trajectory(len(ts), trajectory_every, keep=return_trajectory)
    for i, t in each_step(ts, f"DPM-Solver++({order}M)-{steps}", progress):
        eps = eps_model(x, np.full(n, t, dtype=np.int64))
        x0_hat = clip_x0_hat(x0_from_eps(x, t, eps, schedule), clip_x0).astype(x.dtype,
                                                                               copy=False)
        x_next, h = dpm_solver_step(x, x0_hat, t, int(t_next[i]), schedule,
                                    x0_prev if order == 2 else None, h)
        path.record(i, t, x, x0_hat)
        x, x0_prev = x_next, x0_hat
    return path.result(x)
