"""The variational bound L = L_T + Σ_{t=2}^T L_{t−1} + L_0, in nats and bits per dimension.

    L_T     = KL(q(x_T|x_0) ‖ N(0, I))                                  (prior term)
    L_{t−1} = KL(q(x_{t−1}|x_t, x_0) ‖ p_θ(x_{t−1}|x_t)),  x_t ~ q(x_t|x_0)   (eq. 5)
    L_0     = −log p_θ(x_0|x_1)                                          (decoder)

p_θ(x_{t−1}|x_t) = N(μ_θ(x_t, t), σ_t²I) with μ_θ from ε_θ (eq. 11), σ_t² fixed (β̃_t or β_t) or
learned (`sigma="learned"`: the model returns ε_θ and v, learned_variance.py). The decoder is
either
  - "discretized": 8-bit data scaled to [−1, 1], each value owns a bin of width 2/255 and the end
    bins extend to ±∞ (eq. 13) → a probability, so the bound is a code length in bits/dim;
  - "gaussian": the density N(x_0; μ_θ(x_1, 1), σ_1²) for real-valued data → the bound is on
    −log of a *density*, reported in nats/dim and bits/dim (it can be negative).
With σ_t² = β̃_t the decoder variance would be β̃_1 = 0, so L_0 always uses σ_1² = β_1.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_array
from .forward import q_posterior, q_sample
from .gaussian import LN2, discretized_gaussian_log_likelihood, gaussian_kl
from .learned_variance import model_log_variance
from .param import mu_theta_from_eps
from .schedule import NoiseSchedule


def vlb_terms(eps_model, x0, schedule: NoiseSchedule, rng: np.random.Generator,
              sigma="beta_tilde", decoder="gaussian", num_timesteps: int | None = None,
              batch_timesteps: bool = False):
    """Per-example terms of the bound, in nats summed over dimensions.

    x0: (N, ...) data (in [−1, 1] for the discretized decoder) ; num_timesteps: None evaluates
    every L_{t−1}, t = 2..T (T−1 model calls); K < T−1 draws, for each example independently, K
    t's uniformly from 2..T and scales their sum by (T−1)/K: an unbiased estimate whose extra
    variance shows in the spread across examples (so a standard error over examples covers it).
    sigma: "beta_tilde", "beta", or "learned" (eps_model returns (ε_θ, v); the decoder then
    uses the learned variance at t = 1 as well). Returns dict: "prior" (N,), "kl" (N, K) with
    the t's in "t" (N, K), "kl_sum" (N,) (= "kl" summed times "scale", (T−1)/K), "decoder"
    (N,), "total" (N,), "dims" (dimensions per example) and "T"; `bound_parts` splits it.
    """
    check_array("x0", x0)
    if decoder not in ("gaussian", "discretized"):
        raise ValueError(f"unknown decoder {decoder!r}; use 'gaussian' or 'discretized'")
    learned = isinstance(sigma, str) and sigma == "learned"
    if not learned:    # else eps_model(x_t, t) -> (ε_θ, v): learned_variance.py's variance
        sigmas2 = schedule.sigmas(sigma) ** 2

    def predict(xt, t):
        """(ε_θ, the reverse variance) in float64."""
        out = eps_model(xt.astype(x0.dtype), t)
        if not learned:
            return out.astype(np.float64), sigmas2[t].reshape(shape1)
        eps_theta, v = (a.astype(np.float64) for a in out)
        return eps_theta, np.exp(model_log_variance(v, t, schedule))

    x = x0.astype(np.float64)
    N, T = x.shape[0], schedule.T
    axes = tuple(range(1, x.ndim))
    shape1 = (N,) + (1,) * (x.ndim - 1)
    # 1. prior: q(x_T|x_0) = N(√ᾱ_T x_0, (1−ᾱ_T) I) against N(0, I)
    ab_T = schedule.alpha_bars[T]
    prior = gaussian_kl(np.sqrt(ab_T) * x, 1 - ab_T, 0.0, 1.0).sum(axis=axes)
    # 2. the KL terms, one x_t sample per (example, t)
    if num_timesteps is None or num_timesteps >= T - 1:
        ts, scale = np.repeat(np.arange(2, T + 1)[None, :], N, axis=0), 1.0
    else:
        if num_timesteps < 1:
            raise ValueError(f"num_timesteps must be ≥ 1 or None, got {num_timesteps}")
        ts = rng.integers(2, T + 1, size=(N, num_timesteps))
        scale = (T - 1) / num_timesteps
    kl = np.empty(ts.shape)
    for j in range(ts.shape[1]):
        t = ts[:, j]
        eps = rng.standard_normal(x.shape)
        xt = q_sample(x, t, eps, schedule)
        mu_q, var_q = q_posterior(x, xt, t, schedule)
        eps_theta, var_p = predict(xt, t)
        mu_p = mu_theta_from_eps(xt, t, eps_theta, schedule)
        kl[:, j] = gaussian_kl(mu_q, var_q, mu_p, var_p).sum(axis=axes)
    # 3. the decoder at t = 1, variance β_1 (or the learned one)
    x1 = q_sample(x, 1, rng.standard_normal(x.shape), schedule)
    eps1, var1 = predict(x1, np.full(N, 1))
    mu1 = mu_theta_from_eps(x1, 1, eps1, schedule)
    s1 = np.sqrt(var1) if learned else np.sqrt(schedule.betas[1])
    if decoder == "gaussian":
        logp = -0.5 * np.log(2 * np.pi * s1 ** 2) - 0.5 * ((x - mu1) / s1) ** 2
    else:
        logp = discretized_gaussian_log_likelihood(x, mu1, s1)
    dec = -logp.sum(axis=axes)
    kl_sum = kl.sum(axis=1) * scale
    dims = int(np.prod(x.shape[1:]))
    return {"prior": prior, "kl": kl, "t": ts, "kl_sum": kl_sum, "decoder": dec,
            "total": prior + kl_sum + dec, "dims": dims, "T": T, "scale": scale}


def nll_bits_per_dim(eps_model, x0, schedule: NoiseSchedule, rng: np.random.Generator, **kw):
    """The bound averaged over examples in bits per dimension (total/(dims·ln 2)), and its
    standard error. Keyword arguments go to `vlb_terms`. Returns (bpd, stderr, terms)."""
    terms = vlb_terms(eps_model, x0, schedule, rng, **kw)
    per_ex = terms["total"] / (terms["dims"] * LN2)
    return float(per_ex.mean()), float(per_ex.std(ddof=1) / np.sqrt(len(per_ex))) if len(
        per_ex) > 1 else float("nan"), terms


def bound_parts(terms, edges=(10, 100)) -> dict:
    """Where the bound lives: the mean of each term of a `vlb_terms` result in bits/dim, the KL
    terms L_{t−1} summed over bands of t split at `edges` (2 ≤ t ≤ e₁, e₁ < t ≤ e₂, …, ≤ T).
    The parts add up to the mean of "total". Keys: "decoder L_0", "KL t 2..e₁", …, "prior L_T".
    """
    T, t = terms["T"], terms["t"]
    edges = [int(e) for e in edges]
    if any(b <= a for a, b in zip([1] + edges, edges + [T])):
        raise ValueError(f"edges must rise strictly, each from 2 to T − 1 = {T - 1}, got "
                         f"{tuple(edges)}")
    per_dim = terms["dims"] * LN2
    parts = {"decoder L_0": float(terms["decoder"].mean() / per_dim)}
    for lo, hi in zip([1] + edges, edges + [T]):
        band = (terms["kl"] * ((t > lo) & (t <= hi))).sum(axis=1) * terms["scale"]
        parts[f"KL t {lo + 1}..{hi}"] = float(band.mean() / per_dim)
    parts["prior L_T"] = float(terms["prior"].mean() / per_dim)
    return parts
