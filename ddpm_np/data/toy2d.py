"""Toy 2-D distributions with exact samplers and, where it exists, the exact log-density.

| name          | what                                                                     |
|---------------|--------------------------------------------------------------------------|
| gaussian      | N(μ, Σ), μ = (1.0, −0.5), Σ = [[1.0, 0.6], [0.6, 0.5]] (anisotropic)      |
| two-gaussians | ½N((−2, −1), 0.5²I) + ½N((2, 1), 0.5²I)                                   |
| spiral        | r = θ/(3π)·2.5, θ = 3π·√u, u ~ U(0.02, 1), plus N(0, 0.08²I) noise (no density) |
| double-well   | Boltzmann p(x) ∝ exp(−U(x)/kT), U = a(x₁² − 1)² + b·x₂², a = 2, b = 1, kT = 0.5 |
| moons         | two interleaved half circles plus N(0, 0.1²I) noise (no density)          |

The double-well factorises: x₂ ~ N(0, kT/(2b)) exactly, and x₁ is drawn by rejection from a
uniform proposal on [−2.5, 2.5] with acceptance exp(−a(x₁² − 1)²/kT) ≤ 1 (the mass beyond ±2.5 is
below 1e-15). Its `log_prob` is normalised by quadrature of the 1-D x₁ marginal.
"""
from __future__ import annotations

import numpy as np
from scipy.integrate import quad
from scipy.special import logsumexp

from ..checks import check_int

NAMES = ("gaussian", "two-gaussians", "spiral", "double-well", "moons")

GAUSSIAN_MEAN = np.array([1.0, -0.5])
GAUSSIAN_COV = np.array([[1.0, 0.6], [0.6, 0.5]])
TWO_MEANS = np.array([[-2.0, -1.0], [2.0, 1.0]])
TWO_STD = 0.5
DW_A, DW_B, DW_KT, DW_L = 2.0, 1.0, 0.5, 2.5


def check_name(name: str) -> str:
    if name not in NAMES:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(NAMES)}")
    return name


def double_well_energy(x):
    """U(x) = a(x₁² − 1)² + b·x₂² for x of shape (n, 2)."""
    x = np.asarray(x, np.float64)
    return DW_A * (x[:, 0] ** 2 - 1) ** 2 + DW_B * x[:, 1] ** 2


def _double_well_x1(n, rng):
    out = np.empty(0)
    while out.size < n:
        m = max(2 * (n - out.size), 64)   # acceptance is about 0.55
        u = rng.uniform(-DW_L, DW_L, m)
        keep = rng.uniform(0, 1, m) < np.exp(-DW_A * (u ** 2 - 1) ** 2 / DW_KT)
        out = np.concatenate([out, u[keep]])
    return out[:n]


def sample(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n exact samples, (n, 2) float32."""
    check_name(name)
    check_int(n, "n")
    if name == "gaussian":
        x = rng.multivariate_normal(GAUSSIAN_MEAN, GAUSSIAN_COV, size=n, method="cholesky")
    elif name == "two-gaussians":
        k = rng.integers(0, 2, size=n)
        x = TWO_MEANS[k] + TWO_STD * rng.standard_normal((n, 2))
    elif name == "spiral":
        theta = 3 * np.pi * np.sqrt(rng.uniform(0.02, 1.0, n))
        r = theta / (3 * np.pi) * 2.5
        x = np.stack([r * np.cos(theta), r * np.sin(theta)], 1) + 0.08 * rng.standard_normal((n, 2))
    elif name == "double-well":
        x1 = _double_well_x1(n, rng)
        x2 = np.sqrt(DW_KT / (2 * DW_B)) * rng.standard_normal(n)
        x = np.stack([x1, x2], 1)
    else:  # moons
        k = rng.integers(0, 2, size=n)
        a = np.pi * rng.uniform(0, 1, n)
        x = np.where(k[:, None] == 0, np.stack([np.cos(a), np.sin(a)], 1),
                     np.stack([1 - np.cos(a), 0.5 - np.sin(a)], 1))
        x = (x - [0.5, 0.25]) * 1.5 + 0.1 * rng.standard_normal((n, 2))
    return x.astype(np.float32)


_DW_LOGZ1 = None


def log_prob(name: str, x) -> np.ndarray:
    """Exact log-density (nats) of each row of x, (n,) float64. Raises NotImplementedError for
    datasets without a closed form (spiral, moons)."""
    check_name(name)
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"log_prob expects points of shape (n, 2), got {x.shape}")
    if name == "gaussian":
        d = x - GAUSSIAN_MEAN
        P = np.linalg.inv(GAUSSIAN_COV)
        return (-0.5 * np.einsum("ni,ij,nj->n", d, P, d)
                - 0.5 * np.log(np.linalg.det(2 * np.pi * GAUSSIAN_COV)))
    if name == "two-gaussians":
        d2 = ((x[:, None, :] - TWO_MEANS[None]) ** 2).sum(-1)           # (n, 2)
        comp = -0.5 * d2 / TWO_STD ** 2 - np.log(2 * np.pi * TWO_STD ** 2)
        return logsumexp(comp + np.log(0.5), axis=1)
    if name == "double-well":
        global _DW_LOGZ1
        if _DW_LOGZ1 is None:
            z1, _ = quad(lambda u: np.exp(-DW_A * (u * u - 1) ** 2 / DW_KT), -np.inf, np.inf)
            _DW_LOGZ1 = float(np.log(z1))
        var2 = DW_KT / (2 * DW_B)
        return (-double_well_energy(x) / DW_KT - _DW_LOGZ1 - 0.5 * np.log(2 * np.pi * var2))
    raise NotImplementedError(f"{name} has no closed-form density")


def has_log_prob(name: str) -> bool:
    return check_name(name) in ("gaussian", "two-gaussians", "double-well")
