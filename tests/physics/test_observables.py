"""Observables on configurations where they are known by hand."""
import numpy as np
import pytest

from ddpm_np.physics import per_config
from ddpm_np.physics.observables import effective_mass


def test_constant_field():
    """φ ≡ c: M/V = c, χ₂ = M²/V = V·c², E = c², G̃(t) = L·c² at every t."""
    L, c = 4, -0.5
    p = per_config(np.full((L, L), c))
    np.testing.assert_allclose(p[:5], [c, abs(c), L * L * c * c, L ** 4 * c ** 4, c * c])
    np.testing.assert_allclose(p[5:], L * c * c)


def test_two_point_function_by_loops(rng):
    L = 5
    phi = rng.standard_normal((L, L))
    G = np.zeros((L, L))
    for x in range(L):
        for y in range(L):
            G[x, y] = np.mean(phi * np.roll(phi, (-x, -y), axis=(0, 1)))
    p = per_config(phi)
    assert p[4] == pytest.approx(0.5 * (G[1, 0] + G[0, 1]))
    np.testing.assert_allclose(p[5:], 0.5 * (G.sum(axis=1) + G.sum(axis=0)))


def test_effective_mass_of_a_cosh():
    """G̃(t) ∝ cosh(m(t − L/2)) on a periodic lattice gives m_eff(t) = m at every t."""
    L, m = 8, 0.6
    t = np.arange(L)
    np.testing.assert_allclose(effective_mass(np.cosh(m * (t - L / 2))), m, rtol=1e-10)
