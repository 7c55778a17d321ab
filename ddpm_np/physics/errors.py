"""Statistical errors of Monte Carlo estimates, the way lattice physicists compute them.

The Γ-method with automatic windowing (U. Wolff, "Monte Carlo errors with less errors",
Comput. Phys. Commun. 156 (2004) 143; equation numbers below are that paper's):

    Γ(t)   = ⟨(a_i − ā)(a_{i+t} − ā)⟩, averaged over pairs and replicas          (eq. 31)
    C(W)   = Γ(0) + 2·Σ_{t=1..W} Γ(t),   τ_int(W) = C(W)/(2Γ(0))                 (eqs. 35, 41)
    W      = the first W with g(W) = exp(−W/τ_W) − τ_W/√(W·N) < 0,
             τ_W = S/ln((2τ_int(W)+1)/(2τ_int(W)−1)), S = 1.5                    (eqs. 50–52)
    C      ← C(W)·(1 + (2W+1)/N)  (bias of Γ from the estimated mean)            (eq. 49)
    σ²(ā)  = C/N,   σ(τ_int) ≈ τ_int·√((4W+2)/N)                                 (eqs. 44, 42)

A function f of several means (a ratio, the Binder cumulant) is analysed through the projected
series a_f = Σ_α ∂f/∂ā_α·a_α (eq. 29). The jackknife (N delete-one blocks) serves the
ratios of reweighting, whose samples are independent.
"""
from __future__ import annotations

import numpy as np


def _as_replicas(a):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or a.shape[1] < 2:
        raise ValueError(f"a series needs shape (N,) or (R, N) with N ≥ 2, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("the series holds a non-finite value")
    return a


def gamma_method(a, S=1.5, f=None):
    """Mean, error and τ_int of a Monte Carlo series (Wolff 2004).

    a: (N,) one chain, (R, N) R independent replicas of equal length, or (R, N, A) A primary
       observables, combined by f: a callable of the A means and returning one number (its
       gradient is taken by central differences); None for a single observable. Where f or
       its gradient is not finite at the means, every number returned is NaN.
    Returns a dict: "value", "error", "tau_int", "tau_error", "window".
    """
    a = np.asarray(a, dtype=np.float64)
    if f is None:
        series = _as_replicas(a)
        value = float(series.mean())
    else:
        if a.ndim == 2:
            a = a[None]
        if a.ndim != 3:
            raise ValueError(f"with f, a needs shape (N, A) or (R, N, A), got {a.shape}")
        means = a.reshape(-1, a.shape[-1]).mean(axis=0)
        value = float(f(means))
        grad = np.empty(len(means))
        for k in range(len(means)):
            h = 1e-6 * max(abs(means[k]), 1e-12)
            e = np.zeros(len(means))
            e[k] = h
            grad[k] = (f(means + e) - f(means - e)) / (2 * h)
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            nan = float("nan")           # f undefined at these means (an arccosh below 1)
            return {"value": nan, "error": nan, "tau_int": nan, "tau_error": nan, "window": 0}
        series = _as_replicas(a @ grad)      # the projected series a_f (eq. 29)
    R, n = series.shape
    N = R * n
    dev = series - series.mean()
    # 1. Γ(t) for t < n/2, summed over replicas
    tmax = n // 2
    gamma = np.array([np.sum(dev[:, :n - t] * dev[:, t:]) / (N - R * t) for t in range(tmax)])
    if gamma[0] == 0:                        # a constant series: no error
        return {"value": value, "error": 0.0, "tau_int": 0.5, "tau_error": 0.0, "window": 0}
    # 2. the window: the first W where g(W) turns negative
    C = gamma[0] + 2 * np.cumsum(gamma[1:])                  # C(W), W = 1..tmax−1
    tau = C / (2 * gamma[0])
    W = len(C)
    for w in range(1, len(C) + 1):
        ti = tau[w - 1]
        tw = S / np.log((2 * ti + 1) / (2 * ti - 1)) if ti > 0.5 else 1e-300
        if np.exp(-w / tw) - tw / np.sqrt(w * N) < 0:
            W = w
            break
    CW = C[W - 1] * (1 + (2 * W + 1) / N)
    tau_int = CW / (2 * gamma[0])
    return {"value": value, "error": float(np.sqrt(max(CW, 0) / N)), "tau_int": float(tau_int),
            "tau_error": float(tau_int * np.sqrt((4 * W + 2) / N)), "window": int(W)}


def jackknife(f, *columns, blocks=None):
    """Value and jackknife error of f(columns…) where each column is (N, …) of independent
    samples and f maps columns to a number (e.g. a weighted mean Σw·O/Σw).

    blocks: the number of delete-one blocks (None: min(N, 200), blocks of consecutive rows).
    Returns (value, error).
    """
    cols = [np.asarray(c, dtype=np.float64) for c in columns]
    N = len(cols[0])
    if any(len(c) != N for c in cols) or N < 2:
        raise ValueError("jackknife needs columns of one length N ≥ 2")
    B = min(N, 200) if blocks is None else int(blocks)
    edges = np.linspace(0, N, B + 1).astype(int)
    value = float(f(*cols))
    keep = np.ones(N, bool)
    est = np.empty(B)
    for b in range(B):
        keep[:] = True
        keep[edges[b]:edges[b + 1]] = False
        est[b] = f(*(c[keep] for c in cols))
    return value, float(np.sqrt((B - 1) / B * np.sum((est - est.mean()) ** 2)))
