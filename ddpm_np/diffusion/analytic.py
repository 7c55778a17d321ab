"""Closed-form optimal ε-predictors for Gaussian and Gaussian-mixture data.

For data x_0 ~ N(μ, s²I), x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε is Gaussian too, and the minimiser of
L_simple is the posterior mean E[ε | x_t]:
    ε*(x_t, t) = √(1−ᾱ_t)·(x_t − √ᾱ_t·μ)/(ᾱ_t·s² + 1 − ᾱ_t).
For a mixture Σ_k π_k N(μ_k, s_k²I), ε* = Σ_k w_k(x_t)·ε*_k(x_t) with w_k the posterior weight of
component k given x_t. These drive the samplers and the bound in tests and demos: a sampler fed
ε* must reproduce the data distribution.
"""
import numpy as np
from scipy.special import logsumexp

from .schedule import NoiseSchedule, gather


def gaussian_mixture_eps_model(means, stds, weights, schedule: NoiseSchedule):
    """ε*(x_t, t) for isotropic components N(means[k], stds[k]²·I), mixture weights `weights`.

    means: (K, D) ; stds, weights: (K,)  ->  callable(xt (N, D), t (N,) or int) -> (N, D).
    """
    means = np.atleast_2d(np.asarray(means, np.float64))
    stds = np.asarray(stds, np.float64).reshape(-1)
    weights = np.asarray(weights, np.float64).reshape(-1)
    K, D = means.shape
    if stds.shape != (K,) or weights.shape != (K,) or np.any(stds <= 0) or np.any(weights <= 0):
        raise ValueError("need K means, K positive stds and K positive weights")
    weights = weights / weights.sum()

    def eps_model(xt, t):
        x = xt.astype(np.float64)
        t = np.broadcast_to(np.asarray(t), (x.shape[0],))
        ab = gather(schedule.alpha_bars, t, x)                         # (N, 1)
        var = ab * stds ** 2 + (1 - ab)                                # (N, K): Var of x_t | k
        mean = np.sqrt(ab)[..., None] * means                          # (N, K, D)
        diff = x[:, None, :] - mean                                    # (N, K, D)
        logp = (np.log(weights) - 0.5 * D * np.log(2 * np.pi * var)
                - 0.5 * np.sum(diff ** 2, axis=2) / var)               # (N, K)
        w = np.exp(logp - logsumexp(logp, axis=1, keepdims=True))
        eps_k = np.sqrt(1 - ab)[..., None] * diff / var[..., None]     # (N, K, D)
        return np.sum(w[..., None] * eps_k, axis=1).astype(xt.dtype)

    return eps_model


def gaussian_eps_model(mu, s, schedule: NoiseSchedule):
    """ε* for data N(mu, s²I): a one-component mixture."""
    mu = np.atleast_1d(np.asarray(mu, np.float64))
    return gaussian_mixture_eps_model(mu[None, :], [s], [1.0], schedule)


def gaussian_cov_eps_model(mu, cov, schedule: NoiseSchedule):
    """ε* for data N(mu, cov), any positive-definite covariance (D, D).

    Math: x_t = α_t·x_0 + σ_t·ε is N(α_t μ, α_t² Σ + σ_t² I), and ε and x_t are jointly Gaussian
    with Cov(ε, x_t) = σ_t I, so E[ε | x_t] = σ_t·(α_t² Σ + σ_t² I)⁻¹·(x_t − α_t μ).
    """
    mu = np.asarray(mu, np.float64).reshape(-1)
    cov = np.asarray(cov, np.float64)
    D = mu.size
    if cov.shape != (D, D) or not np.allclose(cov, cov.T) or np.linalg.eigvalsh(cov).min() <= 0:
        raise ValueError(f"cov must be a symmetric positive-definite ({D}, {D}) matrix")

    def eps_model(xt, t):
        t = np.broadcast_to(np.asarray(t), (xt.shape[0],))
        out = np.empty(xt.shape, np.float64)
        for tt in np.unique(t):                                  # one solve per time step
            a2 = schedule.alpha_bars[tt]
            rows = t == tt
            var = a2 * cov + (1 - a2) * np.eye(D)
            out[rows] = np.sqrt(1 - a2) * np.linalg.solve(
                var, (xt[rows] - np.sqrt(a2) * mu).T).T
        return out.astype(xt.dtype)

    return eps_model


def gaussian_cov_eps_jacobian(cov, schedule: NoiseSchedule):
    """ε* for data N(0, cov) with its Jacobian, for `flow_density.ddim_flow_sample`: ε* is linear
    in x_t, ∂ε*/∂x_t = √(1−ᾱ_t)·(ᾱ_t Σ + (1−ᾱ_t) I)⁻¹, the same for every sample.

    Returns eps_jacobian(x (B, ...), t (B,)) -> (ε* (B, ...), J (B, D, D)); all of a call's t
    must be equal (one step of a sampler)."""
    cov = np.asarray(cov, np.float64)
    D = len(cov)

    def eps_jacobian(x, t):
        t = np.unique(t)
        if len(t) != 1:
            raise ValueError("gaussian_cov_eps_jacobian takes one time step a call")
        a2 = schedule.alpha_bars[t[0]]
        J = np.sqrt(1 - a2) * np.linalg.inv(a2 * cov + (1 - a2) * np.eye(D))
        flat = x.reshape(len(x), D)
        return (flat @ J.T).reshape(x.shape), np.broadcast_to(J, (len(x), D, D))

    return eps_jacobian
