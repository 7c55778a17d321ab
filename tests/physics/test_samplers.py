"""HMC and local Metropolis against the free field's closed forms, and against each other on
the interacting theory; the leapfrog's reversibility and its energy error."""
import numpy as np
import pytest

from ddpm_np.physics import (Phi4Action, estimate_all, gamma_method, hmc, local_metropolis,
                             per_config)
from ddpm_np.physics.hmc import leapfrog


def _phi2(phi):
    return np.mean(phi ** 2, axis=(-2, -1))


@pytest.mark.parametrize("sampler", ["hmc", "local"])
def test_free_field_moments(sampler):
    """⟨φₓ²⟩ and χ₂ = ⟨M²⟩/V within 5σ (Γ-method) of the propagator's closed form."""
    action = Phi4Action(4, m2=0.5, lam=0)
    cov = action.free_covariance()
    rng = np.random.default_rng(0)
    if sampler == "hmc":
        run = hmc(action, 16, 1000, rng, thermalize=100)
        assert 0.7 <= run["acceptance"] <= 0.9
    else:
        run = local_metropolis(action, 16, 1000, rng, delta=1.5, thermalize=100)
    est = estimate_all(per_config(run["phi"]))
    chi2, err = est["chi2"]
    assert abs(chi2 - 1 / (2 * 0.5)) < 5 * err, (chi2, err)
    g = gamma_method(_phi2(run["phi"]))
    assert abs(g["value"] - np.trace(cov) / 16) < 5 * g["error"]


def test_hmc_and_local_metropolis_agree_on_phi4():
    """Two independent samplers of the interacting theory agree within 3σ on |M|/V and E."""
    action = Phi4Action(6, m2=-4.0, lam=6.975)
    a = estimate_all(per_config(hmc(action, 16, 600, np.random.default_rng(1))["phi"]))
    b = estimate_all(per_config(local_metropolis(action, 16, 1500,
                                                 np.random.default_rng(2))["phi"]))
    for k in ("abs_m", "e_ising", "chi2"):
        d = abs(a[k][0] - b[k][0]) / np.hypot(a[k][1], b[k][1])
        assert d < 3, f"{k}: {a[k]} vs {b[k]} ({d:.1f}σ)"


def test_leapfrog_is_reversible_and_second_order(rng):
    action = Phi4Action(4, m2=-4.0, lam=6.975)
    phi0, pi0 = 0.5 * rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 4, 4))
    phi1, pi1 = leapfrog(action, phi0, pi0, 0.05, 20)
    back, piback = leapfrog(action, phi1, -pi1, 0.05, 20)
    np.testing.assert_allclose(back, phi0, atol=1e-10)
    np.testing.assert_allclose(-piback, pi0, atol=1e-10)

    def dH(step):
        p, q = leapfrog(action, phi0, pi0, step, int(round(1 / step)))
        H = lambda f, m: 0.5 * np.sum(m ** 2, axis=(-2, -1)) + action(f)  # noqa: E731
        return np.abs(H(p, q) - H(phi0, pi0)).max()
    ratio = dH(0.02) / dH(0.01)
    assert 3 < ratio < 5, f"energy error should fall 4× when the step halves, fell {ratio:.2f}×"


def test_same_seed_same_chain():
    action = Phi4Action(4)
    a = hmc(action, 2, 10, np.random.default_rng(3), thermalize=10)["phi"]
    b = hmc(action, 2, 10, np.random.default_rng(3), thermalize=10)["phi"]
    np.testing.assert_array_equal(a, b)


def test_local_metropolis_needs_an_even_lattice():
    with pytest.raises(ValueError, match="even L"):
        local_metropolis(Phi4Action(5), 2, 2, np.random.default_rng(0))
