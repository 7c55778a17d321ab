"""The ancestral sampler as a proposal on its whole path, with an exact weight that needs no
Jacobian: O(D) work a sample and step besides the network.

Time steps τ_K = T > … > τ_1 > τ_0 = 0 (ᾱ at τ_0 is 1: x_0 is the sample); write t = τ_k,
s = τ_{k−1}, α_{t|s} = ᾱ_t/ᾱ_s and β_{t|s} = 1 − α_{t|s}. The proposal is the ancestral chain

    q_θ(x_T, …, x_0) = N(x_T; 0, I) · ∏_k N(x_s; μ_θ(x_t, t), σ_k² I),
    μ_θ = √ᾱ_s β_{t|s}/(1 − ᾱ_t) · x̂_0 + √α_{t|s} (1 − ᾱ_s)/(1 − ᾱ_t) · x_t,
    x̂_0 = (x_t − √(1 − ᾱ_t) ε_θ(x_t, t)) / √ᾱ_t,

the posterior mean of Ho et al. 2020, eq. 7, between two steps of the grid. The extended target
runs the forward process (eq. 4 between two steps) from a sample of π:

    P(x_0, …, x_T) = π(x_0) · ∏_k N(x_t; √α_{t|s} x_s, β_{t|s} I),

whose marginal on x_0 is π, whatever the grid. The path weight

    log w = log π̃(x_0) + Σ_k log N(x_t; √α_{t|s} x_s, β_{t|s} I) − log q_θ(path)

therefore gives E_q[w·f(x_0)] = Z·E_π[f] exactly, for any network and any σ_k > 0:
reweighting, and independence Metropolis–Hastings on whole paths, are exact for x_0 (the path
is the chain's state; its x_0 is the sample). Nothing here is estimated: the Gaussians are
evaluated in float64 at the means the sampler actually used, so the network may run in float32
(or in the fast tier) and the weight stays exact for the map that was sampled. The price is
variance: log w sums D·K small mismatches, so its spread grows with D and shrinks with K and
with variances σ_k² that fit the model (Zhang, Midgley & Hernández-Lobato 2025 tune them).

σ_k² = β̃ + v·(β_{t|s} − β̃) with β̃ = (1 − ᾱ_s)/(1 − ᾱ_t)·β_{t|s} (v = 0: the posterior
variance, v = 1: the forward one, Ho et al. §3.2), and on the last step, where β̃ = 0,
σ_1² = c·β_{τ_1|0}: two scalars, (v, c).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks import check_float, check_int
from .schedule import NoiseSchedule
from .solvers import solver_timesteps

LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class PathVariances:
    """σ_k² of the ancestral chain: v = 0 at β̃, 1 at β (up to 2); c scales the last step's β.
    v = c = 1 (σ² = β on every step, the forward kernel's own variance) gave the largest ESS
    of the grid in docs/results.md."""
    v: float = 1.0
    c: float = 1.0

    def __post_init__(self):
        check_float(self.v, "v (the variance between β̃ and β)", low=0, high=2)
        check_float(self.c, "c (the last step's variance over β)", low=1e-6, high=1e6)

    def sigma2(self, schedule: NoiseSchedule, ts) -> np.ndarray:
        """σ_k² for each step of `ts` (decreasing, from T; the last step goes to 0)."""
        ab = schedule.alpha_bars
        t = np.asarray(ts, dtype=np.int64)
        s = np.append(t[1:], 0)
        beta = 1 - ab[t] / ab[s]
        beta_tilde = (1 - ab[s]) / (1 - ab[t]) * beta
        out = beta_tilde + self.v * (beta - beta_tilde)
        out[-1] = self.c * beta[-1]
        return out


def path_timesteps(schedule: NoiseSchedule, steps: int) -> np.ndarray:
    """`steps` time steps from T, uniform in t (all T steps when steps = T)."""
    return solver_timesteps(schedule, check_int(steps, "steps", high=schedule.T), "uniform")


def _log_normal(z2, var, D):
    """log N for a residual with Σz² = z2 (per sample) under variance `var` in D dimensions."""
    return -0.5 * z2 / var - 0.5 * D * (LOG_2PI + np.log(var))


def path_sample(eps_model, x_T, schedule: NoiseSchedule, ts, variances: PathVariances,
                rng: np.random.Generator, dtype=np.float32, keep_path=False):
    """Draw the ancestral chain from x_T along `ts`, with the two path densities.

    eps_model(x (B, ...) of `dtype`, t (B,) int) -> ε_θ; x_T (B, ...) float64.
    Returns a dict: "x0" (B, ...) float64, "log_q" (B,) the proposal's log q_θ(path),
    "log_forward" (B,) Σ_k log N(x_t; √α_{t|s} x_s, β_{t|s} I); log w = log π̃(x_0) +
    log_forward − log_q. With keep_path, also "path" (K + 1, B, ...): x_T, …, x_0.
    """
    ab = schedule.alpha_bars
    ts = np.asarray(ts, dtype=np.int64)
    sigma2 = variances.sigma2(schedule, ts)
    x = np.asarray(x_T, dtype=np.float64).copy()
    B, D = len(x), int(np.prod(x.shape[1:]))
    axes = tuple(range(1, x.ndim))
    log_q = _log_normal(np.sum(x * x, axis=axes), 1.0, D)
    log_forward = np.zeros(B)
    path = [x.copy()] if keep_path else None
    for k, t in enumerate(ts):
        s = int(ts[k + 1]) if k + 1 < len(ts) else 0
        t = int(t)
        eps = np.asarray(eps_model(x.astype(dtype), np.full(B, t, np.int64)), np.float64)
        x0_hat = (x - np.sqrt(1 - ab[t]) * eps) / np.sqrt(ab[t])
        a_ts, b_ts = ab[t] / ab[s], 1 - ab[t] / ab[s]
        mu = (np.sqrt(ab[s]) * b_ts / (1 - ab[t]) * x0_hat
              + np.sqrt(a_ts) * (1 - ab[s]) / (1 - ab[t]) * x)
        z = rng.standard_normal(x.shape)
        x_s = mu + np.sqrt(sigma2[k]) * z
        log_q += _log_normal(np.sum(z * z, axis=axes) * sigma2[k], sigma2[k], D)
        r = x - np.sqrt(a_ts) * x_s                              # x_t against its forward mean
        log_forward += _log_normal(np.sum(r * r, axis=axes), b_ts, D)
        x = x_s
        if keep_path:
            path.append(x.copy())
    out = {"x0": x, "log_q": log_q, "log_forward": log_forward}
    if keep_path:
        out["path"] = np.stack(path)
    return out
