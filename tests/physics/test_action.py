"""The φ⁴ action: its gradient against central differences, closed forms, bad parameters."""
import numpy as np
import pytest

from ddpm_np.nn.gradcheck import numerical_gradient, rel_error
from ddpm_np.physics import Phi4Action


def test_gradient_matches_central_differences(rng):
    action = Phi4Action(5, m2=-4.0, lam=6.975)
    phi = rng.standard_normal((5, 5)) * 0.7
    num = numerical_gradient(lambda: action(phi), phi)
    err = rel_error(action.grad(phi), num)
    assert err < 1e-7, f"relative error {err:.2e}"


def test_constant_field_closed_form():
    """φ ≡ c: each site has (2d + m²)c² + λc⁴ and two bonds of −2c²: S = V(m²c² + λc⁴)."""
    action = Phi4Action(4, m2=-4.0, lam=2.0)
    c = 0.3
    assert action(np.full((4, 4), c)) == pytest.approx(16 * (-4.0 * c ** 2 + 2.0 * c ** 4))


def test_free_covariance_is_the_lattice_propagator():
    """λ = 0: ⟨φₓ²⟩ = (1/V)·Σ_p 1/Ã(p), Ã(p) = 2(m² + Σ_μ 4 sin²(p_μ/2)), and ⟨M²⟩/V = 1/(2m²)."""
    L, m2 = 6, 0.7
    cov = Phi4Action(L, m2=m2, lam=0).free_covariance()
    p = 2 * np.pi * np.arange(L) / L
    A = 2 * (m2 + 4 * np.sin(p[:, None] / 2) ** 2 + 4 * np.sin(p[None, :] / 2) ** 2)
    np.testing.assert_allclose(np.diag(cov), np.mean(1 / A), rtol=1e-12)
    assert cov.sum() / L ** 2 == pytest.approx(1 / (2 * m2), rel=1e-12)


@pytest.mark.parametrize("kw, words", [
    (dict(L=1), "L must be an integer ≥ 2"),
    (dict(L=6.5), "L must be an integer ≥ 2"),
    (dict(L=6, lam=-1.0), "lam (λ) must be ≥ 0"),
    (dict(L=6, lam=float("nan")), "must be finite"),
    (dict(L=6, m2=float("inf")), "m2 must be finite"),
    (dict(L=6, lam=0.0, m2=-1.0), "needs m2 > 0"),
])
def test_bad_parameters_are_refused(kw, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        Phi4Action(**kw)


def test_field_shape_is_checked():
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 4, 4\)"):
        Phi4Action(4)(np.zeros((3, 5, 5)))
