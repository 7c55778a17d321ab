"""Gaussian pieces of the variational bound, shared by vlb.py and learned_variance.py: the KL
of two Gaussians and the discretized decoder of Ho et al. 2020 (eq. 13)."""
from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr

LN2 = float(np.log(2.0))


def gaussian_kl(mu1, var1, mu2, var2):
    """KL(N(mu1, var1) ‖ N(mu2, var2)) elementwise, in nats."""
    return 0.5 * (np.log(var2 / var1) + (var1 + (mu1 - mu2) ** 2) / var2 - 1.0)


def log_bin_prob(lo, hi):
    """log(Φ(hi) − Φ(lo)) without cancellation: use the tail where both bounds are."""
    upper = (lo + hi) > 0                     # bin in the upper half: Φ(hi)−Φ(lo) = Φ(−lo)−Φ(−hi)
    a = np.where(upper, -hi, lo)
    b = np.where(upper, -lo, hi)
    log_b, log_a = log_ndtr(b), log_ndtr(a)
    with np.errstate(divide="ignore"):
        return log_b + np.log1p(-np.exp(np.minimum(log_a - log_b, 0.0)) + 0.0)


def discretized_gaussian_log_likelihood(x0, mu, sigma):
    """log p(x_0) of 8-bit data in [−1, 1] under N(mu, sigma²) integrated over each value's bin
    (Ho et al. 2020, eq. 13). Elementwise, nats."""
    half = 1.0 / 255.0
    lo = np.where(x0 <= -1 + 1e-6, -np.inf, (x0 - half - mu) / sigma)
    hi = np.where(x0 >= 1 - 1e-6, np.inf, (x0 + half - mu) / sigma)
    return np.maximum(log_bin_prob(lo, hi), np.log(1e-12))
