"""Sampling a Boltzmann distribution p(x) ∝ exp(−U(x)/kT): a diffusion model against a
Metropolis–Hastings chain (tutorial chapter 5).

The potentials are tilted double wells in 2-D, U(x) = a(x₁² − 1)² + c·x₁ + b·x₂², whose
reaction coordinate is x₁ (the wells sit near x₁ = ±1, the barrier at x₁ ≈ 0). They factorise,
so the exact answer is at hand: x₂ ~ N(0, kT/(2b)), and x₁'s density is computed on a fine grid,
which gives exact samples (inverse CDF), the exact free-energy profile F(x₁) = −kT ln p(x₁) and
the exact well populations.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


def _trapezoid(y, x):
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))


@dataclass(frozen=True)
class DoubleWell:
    a: float = 2.0          # barrier height at c = 0 (in energy units)
    b: float = 1.0          # stiffness across
    c: float = 0.0          # tilt: the right well lies higher by about 2c
    kT: float = 0.5
    name: str = "double well"

    def energy(self, x):
        """U(x) for x of shape (..., 2)."""
        x1, x2 = x[..., 0], x[..., 1]
        return self.a * (x1 ** 2 - 1) ** 2 + self.c * x1 + self.b * x2 ** 2

    def barrier_kT(self) -> float:
        """Height of the barrier above the lower well, in units of kT (on the grid)."""
        g, u = self._grid()
        left, right = u[g < 0].min(), u[g > 0].min()
        top = u[np.abs(g) < 0.5].max()
        return float((top - min(left, right)) / self.kT)

    def _grid(self, lo=-3.0, hi=3.0, n=60_001):
        g = np.linspace(lo, hi, n)
        return g, self.a * (g ** 2 - 1) ** 2 + self.c * g

    def marginal_x1(self):
        """(grid, density of x₁ on it), normalised."""
        g, u = self._grid()
        p = np.exp(-(u - u.min()) / self.kT)
        return g, p / _trapezoid(p, g)

    def free_energy(self, x1):
        """Exact F(x₁) = −kT ln p(x₁), shifted so that its minimum is 0."""
        g, p = self.marginal_x1()
        f = -self.kT * np.log(np.interp(x1, g, p))
        return f - (-self.kT * np.log(p.max()))

    def population_left(self) -> float:
        """Exact probability of x₁ < 0."""
        g, p = self.marginal_x1()
        return float(_trapezoid(np.where(g < 0, p, 0), g))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n exact, independent samples (inverse CDF on the grid for x₁)."""
        g, p = self.marginal_x1()
        cdf = np.concatenate([[0], np.cumsum((p[1:] + p[:-1]) / 2 * np.diff(g))])
        x1 = np.interp(rng.random(n) * cdf[-1], cdf, g)
        x2 = rng.normal(0, np.sqrt(self.kT / (2 * self.b)), n)
        return np.stack([x1, x2], axis=1)


def metropolis(potential, x_start, n_steps: int, step: float, rng: np.random.Generator):
    """Random-walk Metropolis–Hastings chains, one per row of x_start (C, 2), run side by side.

    Each step proposes x' = x + step·N(0, I) and accepts it with probability
    min(1, exp(−(U(x') − U(x))/kT)), which leaves exp(−U/kT) invariant (detailed balance).
    Returns (chain (n_steps, C, 2), acceptance rate, seconds per step of one chain)."""
    x = np.array(x_start, np.float64)
    u = potential.energy(x)
    chain = np.empty((n_steps,) + x.shape)
    accepted = 0
    t0 = time.perf_counter()
    for k in range(n_steps):
        proposal = x + step * rng.standard_normal(x.shape)
        u_new = potential.energy(proposal)
        accept = np.log(rng.random(len(x))) < -(u_new - u) / potential.kT
        x[accept], u[accept] = proposal[accept], u_new[accept]
        accepted += int(accept.sum())
        chain[k] = x
    seconds = (time.perf_counter() - t0) / n_steps / len(x)
    return chain, accepted / (n_steps * len(x)), seconds


def autocorrelation(series):
    """Normalised autocorrelation ρ(k), k = 0..n−1, of a (n,) series or the average over the
    columns of (n, C) series (FFT, mean removed per column)."""
    s = np.asarray(series, np.float64)
    s = s[:, None] if s.ndim == 1 else s
    n = len(s)
    z = s - s.mean(axis=0)
    f = np.fft.rfft(z, n=2 * n, axis=0)
    acov = np.fft.irfft(f * np.conj(f), axis=0)[:n].mean(axis=1)
    return acov / acov[0]


def integrated_time(series, c: float = 5.0):
    """(τ_int, reliable): τ = 1 + 2 Σ_{k=1}^{M} ρ(k) with Sokal's window, the smallest M ≥ c·τ(M).
    The chain yields about n/τ independent samples. `reliable` is False when the series is
    shorter than 50 τ: τ is then a lower bound."""
    rho = autocorrelation(series)
    taus = 1 + 2 * np.cumsum(rho[1:])
    m = np.arange(1, len(rho))
    ok = m >= c * taus
    tau = float(taus[np.argmax(ok)] if ok.any() else taus[-1])
    return tau, len(rho) >= 50 * tau


def free_energy_profile(x1, kT: float, bins):
    """F(x₁) = −kT ln (histogram density), shifted to a minimum of 0; NaN in empty bins.
    Returns (bin centres, F)."""
    hist, edges = np.histogram(x1, bins=bins, density=True)
    with np.errstate(divide="ignore"):
        f = -kT * np.log(hist)
    f[~np.isfinite(f)] = np.nan
    return (edges[:-1] + edges[1:]) / 2, f - np.nanmin(f)
