"""Exercise 9 — one deterministic DDIM step (Song et al. 2021)."""
import numpy as np


def ddim_step(eps_theta, xt, t, t_prev, schedule, eta=0.0, z=None, clip_x0=None):
    """x_{t_prev} = √ᾱ_prev · x̂_0 + √(1 − ᾱ_prev − σ²) · ε_θ + σ·z   (Song et al., eq. 12)

    with x̂_0 = (x_t − √(1 − ᾱ_t) ε_θ)/√ᾱ_t and σ = η·√((1 − ᾱ_prev)/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_prev).
    t, t_prev: ints with 0 ≤ t_prev < t (ᾱ_0 = 1). The tests use eta = 0, where σ = 0.
    Returns (x_prev, x0_hat). clip_x0 may be ignored here.
    """
    raise NotImplementedError(
        "ex09: Song et al. eq. 12: predict x̂_0, move to t_prev along the predicted noise, add "
        "η-scaled fresh noise (`ddpm-np exercises --hint 9` says more)")
