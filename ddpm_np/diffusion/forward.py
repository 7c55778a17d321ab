"""The forward (noising) process q and its posterior, in closed form.

    q(x_t | x_{t−1}) = N(√(1−β_t)·x_{t−1}, β_t·I)                 (Ho et al. 2020, eq. 2)
    q(x_t | x_0)     = N(√ᾱ_t·x_0, (1−ᾱ_t)·I)                      (eq. 4)
    q(x_{t−1} | x_t, x_0) = N(μ̃_t(x_t, x_0), β̃_t·I)                (eqs. 6–7)
"""
import numpy as np

from ..checks import check_array

from .schedule import NoiseSchedule, check_t, gather


def _check_pair(a, b, names):
    check_array(names[0], a, names[1], b)
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} shape {a.shape} != {names[1]} shape {b.shape}")


def q_sample(x0, t, eps, schedule: NoiseSchedule):
    """Sample x_t ~ q(x_t | x_0) by the reparametrisation, in one step instead of t.

    x0, eps: (N, ...) ; t: int or (N,) ints in 1..T (0 gives x_0 back)  ->  x_t like x0.
    Math: x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε   (Ho et al. 2020, eq. 4 reparametrised)
    """
    _check_pair(x0, eps, ("x0", "eps"))
    t = check_t(t, schedule.T, allow_zero=True)
    ab = schedule.alpha_bars
    return gather(np.sqrt(ab), t, x0) * x0 + gather(np.sqrt(1 - ab), t, x0) * eps


def q_step(x_prev, t, eps, schedule: NoiseSchedule):
    """One step of the forward chain, x_{t−1} → x_t.

    Math: x_t = √(1−β_t)·x_{t−1} + √β_t·ε   (Ho et al. 2020, eq. 2)
    """
    _check_pair(x_prev, eps, ("x_prev", "eps"))
    t = check_t(t, schedule.T)
    return (gather(np.sqrt(schedule.alphas), t, x_prev) * x_prev
            + gather(np.sqrt(schedule.betas), t, x_prev) * eps)


def q_chain(x0, t: int, schedule: NoiseSchedule, rng: np.random.Generator,
            return_all: bool = False):
    """Run the forward chain step by step from x_0 to x_t (for teaching and testing eq. 4).

    Returns x_t, or with return_all the list [x_0, x_1, …, x_t].
    """
    t = int(check_t(t, schedule.T, allow_zero=True))
    xs = [x0]
    x = x0
    for s in range(1, t + 1):
        x = q_step(x, s, rng.standard_normal(x0.shape).astype(x0.dtype), schedule)
        if return_all:
            xs.append(x)
    return xs if return_all else x


def posterior_coefficients(t, schedule: NoiseSchedule):
    """(c0, ct) with μ̃_t = c0·x_0 + ct·x_t:
    c0 = √ᾱ_{t−1}·β_t/(1−ᾱ_t),  ct = √α_t·(1−ᾱ_{t−1})/(1−ᾱ_t)   (eq. 7), arrays of length T+1."""
    ab = schedule.alpha_bars
    ab_prev = np.concatenate([[1.0], ab[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        c0 = np.sqrt(ab_prev) * schedule.betas / (1 - ab)
        ct = np.sqrt(schedule.alphas) * (1 - ab_prev) / (1 - ab)
    c0[0], ct[0] = 1.0, 0.0  # sentinel: "x_{−1}" is never used
    return c0[t], ct[t]


def q_posterior(x0, xt, t, schedule: NoiseSchedule):
    """Mean and variance of q(x_{t−1} | x_t, x_0).

    x0, xt: (N, ...) ; t: int or (N,) in 1..T  ->  (mu_tilde like x0, var: β̃_t shaped to
    broadcast, same dtype).
    Math: μ̃_t = √ᾱ_{t−1}β_t/(1−ᾱ_t)·x_0 + √α_t(1−ᾱ_{t−1})/(1−ᾱ_t)·x_t,  var = β̃_t   (eq. 7)
    """
    _check_pair(x0, xt, ("x0", "xt"))
    t = check_t(t, schedule.T)
    c0_all, ct_all = posterior_coefficients(np.arange(schedule.T + 1), schedule)
    mu_tilde = gather(c0_all, t, x0) * x0 + gather(ct_all, t, x0) * xt
    return mu_tilde, gather(schedule.beta_tildes, t, x0)
