"""Quality measures for generated samples."""
from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist


def energy_distance(x, y) -> float:
    """Energy distance √(2E‖X−Y‖ − E‖X−X'‖ − E‖Y−Y'‖) between two samples (n, D), (m, D),
    V-statistic form (pairs with themselves included), as in Székely & Rizzo. It is 0 only for equal
    distributions, but two finite samples of one distribution give a positive value: compare with
    `energy_noise_floor`."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"energy_distance needs (n, D) and (m, D) arrays, got {x.shape}, {y.shape}")
    xy = cdist(x, y).mean()
    xx = cdist(x, x).mean()
    yy = cdist(y, y).mean()
    return float(np.sqrt(max(2 * xy - xx - yy, 0.0)))


def energy_noise_floor(sample_fn, n: int, rng: np.random.Generator, repeats: int = 5):
    """Mean and spread of the energy distance between two independent true samples of size n
    (`sample_fn(n, rng)`): what a perfect model would score. Returns (mean, std)."""
    d = [energy_distance(sample_fn(n, rng), sample_fn(n, rng)) for _ in range(repeats)]
    return float(np.mean(d)), float(np.std(d, ddof=1)) if repeats > 1 else 0.0


def moment_errors(x, mean, cov) -> dict:
    """‖mean(x) − mean‖ and the Frobenius norm ‖cov(x) − cov‖ (relative to ‖cov‖)."""
    x = np.asarray(x, np.float64)
    m_err = float(np.linalg.norm(x.mean(0) - mean))
    c_err = float(np.linalg.norm(np.cov(x.T) - cov) / np.linalg.norm(cov))
    return {"mean_error": m_err, "cov_rel_error": c_err,
            "sample_mean": x.mean(0).tolist(), "sample_cov": np.cov(x.T).tolist()}


def mixture_weights(x, means) -> np.ndarray:
    """Share of points nearest to each mean (a fair assignment for well-separated components)."""
    x, means = np.asarray(x, np.float64), np.asarray(means, np.float64)
    k = np.argmin(((x[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    return np.bincount(k, minlength=len(means)) / len(x)
