"""The lattice φ⁴ action on an L×L periodic lattice (Albergo, Kanwar & Shanahan 2019, eq. 12).

    S(φ) = Σₓ [ (2d + m²)·φₓ² + λ·φₓ⁴ − 2·Σ_μ φₓ·φₓ₊μ̂ ],   d = 2

so that p(φ) ∝ exp(−S(φ)). Fields have shape (..., L, L); the neighbours φₓ₊μ̂ are np.roll's
(periodic boundary). The benchmark ensembles (m² = −4, L/ξ ≈ 4) are in ENSEMBLES.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# λ at m² = −4 for which L/ξ ≈ 4: the ensembles of the normalising-flow benchmarks (L = 6–14 and
# 32), and for L = 4 and 16 the λ at which this project's HMC gives L/ξ = 4.0 ± 0.1
# (observables.py's definition; docs/results.md)
ENSEMBLES = {4: 9.9, 6: 6.975, 8: 6.008, 10: 5.550, 12: 5.276, 14: 5.113, 16: 4.99, 32: 4.572}
MAX_EXACT_L = 10     # V = L² ≤ 100: the exact Jacobian costs ~V² a proposal and step


def _finite(value, name, low=None, strict=False):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (v < low or (strict and v == low)):
        raise ValueError(f"{name} must be {'>' if strict else '≥'} {low}, got {value!r}")
    return v


@dataclass(frozen=True)
class Phi4Action:
    """S(φ) and ∂S/∂φ for the 2-D lattice φ⁴ theory. L ≥ 2, λ ≥ 0, m² finite (λ = 0 needs
    m² > 0: the free field is normalisable only with a positive mass)."""
    L: int
    m2: float = -4.0
    lam: float = 6.975

    def __post_init__(self):
        if isinstance(self.L, bool) or not isinstance(self.L, (int, np.integer)) or self.L < 2:
            raise ValueError(f"L must be an integer ≥ 2 (the lattice is L×L), got {self.L!r}")
        object.__setattr__(self, "L", int(self.L))
        object.__setattr__(self, "m2", _finite(self.m2, "m2"))
        object.__setattr__(self, "lam", _finite(self.lam, "lam (λ)", low=0))
        if self.lam == 0 and self.m2 <= 0:
            raise ValueError(f"with λ = 0 the field is free and needs m2 > 0, got m2={self.m2}")

    @property
    def V(self) -> int:
        return self.L * self.L

    def hopping(self, phi):
        """Σ_μ (φₓ₊μ̂ + φₓ₋μ̂): the four neighbours of each site, shape of phi."""
        return (np.roll(phi, 1, -1) + np.roll(phi, -1, -1) + np.roll(phi, 1, -2)
                + np.roll(phi, -1, -2))

    def __call__(self, phi):
        """S(φ) for phi (..., L, L) -> (...) float64."""
        phi = self._check(phi)
        phi2 = phi * phi
        kinetic = phi * (np.roll(phi, 1, -1) + np.roll(phi, 1, -2))     # φₓ Σ_μ φₓ₊μ̂
        dens = (4 + self.m2) * phi2 + self.lam * phi2 * phi2 - 2 * kinetic
        return dens.sum(axis=(-2, -1))

    def grad(self, phi):
        """∂S/∂φₓ = 2(2d + m²)φₓ + 4λφₓ³ − 2Σ_μ(φₓ₊μ̂ + φₓ₋μ̂), shape of phi."""
        phi = self._check(phi)
        return 2 * (4 + self.m2) * phi + 4 * self.lam * phi ** 3 - 2 * self.hopping(phi)

    def free_covariance(self):
        """For λ = 0: S = ½φᵀAφ, the exact covariance A⁻¹ (V, V), sites in row-major order."""
        if self.lam != 0:
            raise ValueError("the covariance is in closed form only for the free field (λ = 0)")
        eye = np.eye(self.V).reshape(self.V, self.L, self.L)
        A = (2 * (4 + self.m2) * eye - 2 * self.hopping(eye)).reshape(self.V, self.V)
        return np.linalg.inv(A)

    def _check(self, phi):
        phi = np.asarray(phi, dtype=np.float64)
        if phi.ndim < 2 or phi.shape[-2:] != (self.L, self.L):
            raise ValueError(f"fields must have shape (..., {self.L}, {self.L}), got {phi.shape}")
        return phi
