"""Making a generative sampler exact: independence Metropolis–Hastings and reweighting.

A proposal density q(φ) that can be evaluated (the DDIM flow's, `diffusion.flow_density`) and
the target p(φ) ∝ exp(−S(φ)) give the importance weights log wᵢ = −S(φᵢ) − log q(φᵢ).

Independence Metropolis–Hastings (Tierney 1994): from the current φ, propose φ' ~ q and accept
with min(1, w(φ')/w(φ)); the chain's stationary law is p exactly, whatever q (q > 0 where p > 0).
Reweighting: ⟨O⟩_p = Σ wᵢ·Oᵢ / Σ wᵢ over independent proposals, with the effective sample size
ESS = (Σw)²/Σw², reported per sample (ESS/N ∈ (0, 1]; 1 when q = p).
"""
from __future__ import annotations

import numpy as np


def _check_logw(log_w):
    log_w = np.asarray(log_w, dtype=np.float64)
    if log_w.ndim != 1 or len(log_w) < 1:
        raise ValueError(f"log weights must be a non-empty 1-D array, got shape {log_w.shape}")
    if not np.all(np.isfinite(log_w)):
        raise ValueError("a log weight is not finite (a proposal with q = 0 or S = ∞)")
    return log_w


def independence_mh(log_w, rng: np.random.Generator):
    """Run the chain over proposals in their order.

    log_w: (N,) log wᵢ = −S(φᵢ) − log q(φᵢ) of N independent proposals; the chain starts at
    proposal 0. Math: accept φ' with min(1, exp(log w' − log w)).
    Returns (index (N,) int: the proposal the chain holds at each step, accepted (N−1,) bool).
    """
    log_w = _check_logw(log_w)
    N = len(log_w)
    u = np.log(rng.random(max(N - 1, 0)))
    index = np.empty(N, dtype=np.int64)
    index[0] = cur = 0
    accepted = np.empty(N - 1, bool)
    for i in range(1, N):
        accepted[i - 1] = ok = u[i - 1] < log_w[i] - log_w[cur]
        if ok:
            cur = i
        index[i] = cur
    return index, accepted


def reweight(log_w):
    """Normalised weights wᵢ/Σw (N,), computed stably from log weights."""
    log_w = _check_logw(log_w)
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


def ess_per_sample(log_w) -> float:
    """ESS/N = (Σw)² / (N·Σw²)."""
    w = reweight(log_w)
    return float(1.0 / (len(w) * np.sum(w * w)))
