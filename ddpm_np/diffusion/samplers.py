"""Reverse-process samplers: DDPM ancestral sampling (Algorithm 2) and DDIM.

A model is any callable `eps_model(xt, t) -> eps_theta` with t an int array of shape (N,).

Algorithm 2 (Ho et al. 2020):
    x_T ~ N(0, I)
    for t = T, …, 1:
        z ~ N(0, I) if t > 1 else z = 0
        x_{t−1} = 1/√α_t·(x_t − β_t/√(1−ᾱ_t)·ε_θ(x_t, t)) + σ_t·z
    return x_0
"""
from __future__ import annotations

import numpy as np

from ..checks import check_array, check_float, check_int
from .forward import q_posterior
from .param import eps_from_x0, mu_theta_from_eps, x0_from_eps
from .schedule import NoiseSchedule, check_t, gather
from .trajectory import Trajectory, each_step, start


def clip_x0_hat(x0_hat, clip_x0):
    """x̂_0 clipped to [−clip_x0, clip_x0] (images live in [−1, 1]); unchanged if None."""
    if clip_x0 is None:
        return x0_hat
    check_float(clip_x0, "clip_x0", low=0, strict=True)
    return np.clip(x0_hat, -clip_x0, clip_x0)


def ddpm_step(eps_theta, xt, t, schedule: NoiseSchedule, z=None, sigma="beta_tilde",
              clip_x0=None):
    """One ancestral step x_t → x_{t−1} (Algorithm 2, line 4); no noise where t = 1.

    eps_theta, xt, z: (N, ...) ; t: int or (N,) in 1..T ; sigma: "beta_tilde" (σ_t² = β̃_t) or
    "beta" (σ_t² = β_t) ; clip_x0: clip x̂_0 to [−c, c] and use μ̃_t(x_t, x̂_0) of eq. 7, which
    equals μ_θ of eq. 11 when nothing is clipped. z may be None only where every t is 1.
    Math: x_{t−1} = μ_θ(x_t, t) + σ_t·z,  μ_θ = (x_t − β_t/√(1−ᾱ_t)·ε_θ)/√α_t   (eq. 11)
    Returns (x_prev, x0_hat).
    """
    check_array("eps_theta", eps_theta, "xt", xt)
    if eps_theta.shape != xt.shape:
        raise ValueError(f"eps_theta shape {eps_theta.shape} != xt shape {xt.shape}")
    t = check_t(t, schedule.T)
    sig = gather(schedule.sigmas(sigma), t, xt)
    # 1. x̂_0 from ε_θ (eq. 15), clipped if asked
    x0_hat = x0_from_eps(xt, t, eps_theta, schedule)
    # 2. the model's mean μ_θ: eq. 11 directly, or, with x̂_0 clipped, the posterior mean
    #    μ̃_t(x_t, x̂_0) of eq. 7 at the clipped x̂_0 (the two agree when nothing is clipped)
    if clip_x0 is None:
        mu_theta = mu_theta_from_eps(xt, t, eps_theta, schedule)
    else:
        x0_hat = clip_x0_hat(x0_hat, clip_x0)
        mu_theta, _ = q_posterior(x0_hat, xt, t, schedule)
    # 3. add σ_t·z except at t = 1 (the last step returns the mean)
    if np.all(t == 1):
        return mu_theta, x0_hat
    if z is None or z.shape != xt.shape:
        raise ValueError(f"ddpm_step needs z of shape {xt.shape} when t > 1")
    mask = gather((np.arange(schedule.T + 1) > 1).astype(np.float64), t, xt)
    return mu_theta + mask * sig * z, x0_hat


def ddim_step(eps_theta, xt, t, t_prev, schedule: NoiseSchedule, eta=0.0, z=None, clip_x0=None):
    """One DDIM step x_t → x_{t_prev} (Song et al. 2021, eq. 12), 0 ≤ t_prev < t.

    t_prev = 0 lands on x_0 (ᾱ_0 = 1). eta = 0: deterministic; eta = 1 with t_prev = t − 1 is the
    DDPM step with σ_t² = β̃_t.
    Math: σ = η·√((1−ᾱ_prev)/(1−ᾱ_t))·√(1 − ᾱ_t/ᾱ_prev)
          x_prev = √ᾱ_prev·x̂_0 + √(1−ᾱ_prev−σ²)·ε_θ + σ·z
    Returns (x_prev, x0_hat).
    """
    check_array("eps_theta", eps_theta, "xt", xt)
    if eps_theta.shape != xt.shape:
        raise ValueError(f"eps_theta shape {eps_theta.shape} != xt shape {xt.shape}")
    eta = check_float(eta, "eta", low=0, high=1)   # beyond 1, σ² outgrows 1 − ᾱ_prev
    t = check_t(t, schedule.T)
    t_prev = check_t(t_prev, schedule.T, allow_zero=True)
    if np.any(t_prev >= t):
        raise ValueError("ddim_step needs t_prev < t")
    ab = schedule.alpha_bars
    ab_t, ab_prev = gather(ab, t, xt), gather(ab, t_prev, xt)
    # 1. x̂_0, and ε re-derived from it when clipping changed it
    x0_hat = x0_from_eps(xt, t, eps_theta, schedule)
    if clip_x0 is not None:
        x0_hat = clip_x0_hat(x0_hat, clip_x0)
        eps_theta = eps_from_x0(xt, t, x0_hat, schedule)
    # 2. σ of eq. 16
    sig = eta * np.sqrt((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev))
    # 3. the "direction pointing to x_t" and the noise
    x_prev = np.sqrt(ab_prev) * x0_hat + np.sqrt(np.maximum(1 - ab_prev - sig ** 2, 0)) * eps_theta
    if eta > 0:
        if z is None or z.shape != xt.shape:
            raise ValueError(f"ddim_step with eta > 0 needs z of shape {xt.shape}")
        x_prev = x_prev + sig * z
    return x_prev, x0_hat


def ddim_timesteps(T: int, steps: int) -> np.ndarray:
    """Evenly spaced, strictly decreasing time steps from T down to 1 (`steps` of them); one
    step is T alone (from pure noise straight to x̂_0), never t = 1 alone, which would return
    the noise."""
    check_int(steps, f"steps (with T={T})", high=T)
    if steps == 1:
        return np.array([T], np.int64)
    return np.unique(np.round(np.linspace(1, T, steps)).astype(np.int64))[::-1]


def check_sampler_inputs(eps_model, shape, schedule, rng, need_rng: bool = True):
    """Refuse, before any work, what would fail deep inside a sampler: an ε-model that is not
    callable, a shape that is not a tuple of positive sizes, a schedule that is not a
    NoiseSchedule, and a missing generator where one is needed (a TypeError or ValueError
    naming the argument)."""
    if not callable(eps_model):
        raise TypeError(f"eps_model must be callable as eps_model(x_t, t), got "
                        f"{type(eps_model).__name__}")
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}; make "
                        "one with NoiseSchedule.linear(T) or .cosine(T)")
    if need_rng and not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}; "
                        "create one with np.random.default_rng(seed)")
    if not isinstance(shape, (tuple, list)) or not shape or \
            not all(isinstance(d, (int, np.integer)) and d >= 1 for d in shape):
        raise ValueError(f"shape must be a tuple of positive sizes (N, ...), got {shape!r}")


def checked_eps(eps_model):
    """eps_model with its output checked at every call: an array of x_t's shape."""
    def checked(x, t):
        eps = eps_model(x, t)
        if not isinstance(eps, np.ndarray) or eps.shape != x.shape:
            raise ValueError(f"eps_model returned {getattr(eps, 'shape', type(eps).__name__)}; "
                             f"it must return an array of x_t's shape {x.shape}")
        return eps
    return checked


def ddpm_sample(eps_model, shape, schedule: NoiseSchedule, rng: np.random.Generator,
                sigma="beta_tilde", clip_x0=None, dtype=np.float32, x_T=None, progress=True,
                return_trajectory=False, trajectory_every=None):
    """Ancestral sampling with all T steps (Algorithm 2).

    Returns x_0 of `shape`, or (x_0, trajectory) where trajectory holds arrays "t" (K,),
    "xt" and "x0_hat" (K, *shape), every `trajectory_every`-th step (default T/10) and the end.
    """
    check_sampler_inputs(eps_model, shape, schedule, rng)
    schedule.sigmas(sigma)  # validate the option early
    n, ts = shape[0], np.arange(schedule.T, 0, -1)
    x = start(shape, rng, dtype, x_T)                                   # line 1: x_T ~ N(0, I)
    path = Trajectory(len(ts), trajectory_every, keep=return_trajectory)
    for i, t in each_step(ts, "DDPM", progress):                            # line 2
        eps = eps_model(x, np.full(n, t, dtype=np.int64))               # ε_θ(x_t, t)
        z = rng.standard_normal(x.shape).astype(x.dtype) if t > 1 else None     # line 3
        x_prev, x0_hat = ddpm_step(eps, x, t, schedule, z, sigma, clip_x0)   # line 4
        path.record(i, t, x, x0_hat)
        x = x_prev
    return path.result(x)                                               # line 6


def ddim_sample(eps_model, shape, schedule: NoiseSchedule, rng: np.random.Generator, steps=50,
                eta=0.0, clip_x0=None, dtype=np.float32, x_T=None, progress=True,
                return_trajectory=False, trajectory_every=None):
    """DDIM sampling on `steps` evenly spaced time steps (Song et al. 2021), last one onto x_0.

    Returns like `ddpm_sample`.
    """
    check_sampler_inputs(eps_model, shape, schedule, rng, need_rng=x_T is None or eta != 0)
    ts = ddim_timesteps(schedule.T, steps)
    eta = check_float(eta, "eta", low=0, high=1)      # before any work, not at the first step
    t_prevs = np.append(ts[1:], 0)
    n = shape[0]
    x = start(shape, rng, dtype, x_T)
    path = Trajectory(len(ts), trajectory_every, keep=return_trajectory)
    for i, t in each_step(ts, f"DDIM-{len(ts)}", progress):
        eps = eps_model(x, np.full(n, t, dtype=np.int64))
        z = rng.standard_normal(x.shape).astype(x.dtype) if eta > 0 else None
        x_prev, x0_hat = ddim_step(eps, x, t, int(t_prevs[i]), schedule, eta, z, clip_x0)
        path.record(i, t, x, x0_hat)
        x = x_prev
    return path.result(x)
