"""Exercise 2 — the posterior of the forward process (tutorial chapter 2)."""
import numpy as np


def q_posterior(x0, xt, t, schedule):
    """Mean and variance of q(x_{t−1} | x_t, x_0)   (eqs. 6–7)

        μ̃_t = √ᾱ_{t−1} β_t / (1 − ᾱ_t) · x_0 + √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · x_t
        β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t

    x0, xt: (N, ...) ; t: int or (N,) in 1..T.  Returns (mu_tilde like x0, var) with var
    broadcastable against x0 (shape (N, 1, ...), or a scalar for an int t). The schedule has
    `betas`, `alphas`, `alpha_bars` and `beta_tildes`, each of length T + 1 (index 0 unused).
    """
    raise NotImplementedError(
        "ex02: eq. 7 gives the mean as a weighted sum of x_0 and x_t and the variance β̃_t; mind "
        "t = 1, where ᾱ_0 = 1 (`ddpm-np exercises --hint 2` says more)")
