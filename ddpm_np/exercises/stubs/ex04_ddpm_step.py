"""Exercise 4 — one ancestral step x_t → x_{t−1} (Algorithm 2)."""
import numpy as np


def ddpm_step(eps_theta, xt, t, schedule, z=None, sigma="beta_tilde", clip_x0=None):
    """x_{t−1} = μ_θ + σ_t z with μ_θ = (x_t − β_t / √(1 − ᾱ_t) · ε_θ) / √α_t   (eq. 11),
    no noise at t = 1.

    eps_theta, xt, z: (N, ...) ; t: an int in 1..T (the tests use a single t) ; sigma:
    "beta_tilde" (σ_t² = β̃_t) or "beta" (σ_t² = β_t).  Returns (x_prev, x0_hat) with
    x0_hat = (x_t − √(1 − ᾱ_t) ε_θ) / √ᾱ_t   (eq. 15). clip_x0 may be ignored here.
    """
    raise NotImplementedError(
        "ex04: Algorithm 2, line 4: x̂_0 (eq. 15), μ_θ (eq. 11), then noise, but not at the "
        "last step (`ddpm-np exercises --hint 4` says more)")
