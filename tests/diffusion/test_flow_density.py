"""The exact density of the deterministic samplers: against the Gaussian closed form (free
field), against finite differences of the whole map for a network, and the Jacobians that feed
it against backward passes and central differences."""
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from ddpm_np.diffusion import (NoiseSchedule, dpm_solver_sample, flow_sample,
                               gaussian_cov_eps_jacobian, gaussian_cov_eps_model,
                               module_eps_jacobian)
from ddpm_np.models import LatticeEps
from ddpm_np.nn.gradcheck import rel_error
from ddpm_np.nn.jacobian import jacobian
from ddpm_np.physics import Phi4Action


@pytest.mark.parametrize("order", [1, 2])
def test_free_field_density_is_the_gaussian_closed_form(order):
    """With the optimal ε of N(0, Σ) the sampler is linear, x_0 = M·x_T, so q = N(0, M Mᵀ).
    M comes from the project's own sampler run on the unit vectors (an independent route)."""
    cov = Phi4Action(4, m2=0.5, lam=0).free_covariance()
    schedule = NoiseSchedule.linear()
    rng = np.random.default_rng(0)
    x_T = rng.standard_normal((6, 1, 4, 4))
    x0, log_q = flow_sample(gaussian_cov_eps_jacobian(cov, schedule), x_T, schedule, 10, order)
    cols = dpm_solver_sample(gaussian_cov_eps_model(np.zeros(16), cov, schedule), (16, 16),
                             schedule, rng, steps=10, spacing="logsnr", order=order,
                             dtype=np.float64, x_T=np.eye(16), progress=False)
    M = cols.T                                   # column j = x_0(e_j)
    np.testing.assert_allclose(x0.reshape(6, 16), x_T.reshape(6, 16) @ M.T, atol=1e-12)
    exact = multivariate_normal(np.zeros(16), M @ M.T).logpdf(x0.reshape(6, 16))
    np.testing.assert_allclose(log_q, exact, rtol=1e-8)


def small_lattice_net(seed=0, tier="reference"):
    model = LatticeEps(4, 2, 8, rng=np.random.default_rng(seed), dtype=np.float64, tier=tier)
    rng = np.random.default_rng(seed + 1)
    for _, p in model.named_parameters():
        p.data[...] = 0.3 * rng.standard_normal(p.shape)
    return model


@pytest.mark.parametrize("order", [1, 2])
def test_network_flow_density_against_finite_differences(order):
    """log|det ∂x_0/∂x_T| of the sampler with a network, against central differences of the
    whole map on a 3×3 lattice."""
    model = small_lattice_net()
    schedule = NoiseSchedule.linear()
    ej = module_eps_jacobian(model)
    x_T = np.random.default_rng(2).standard_normal((1, 1, 3, 3))
    _, log_q = flow_sample(ej, x_T, schedule, 5, order)

    def run(x):
        return flow_sample(ej, x.reshape(1, 1, 3, 3), schedule, 5, order)[0].reshape(9)

    h, M = 1e-6, np.empty((9, 9))
    for j in range(9):
        e = np.zeros(9)
        e[j] = h
        M[:, j] = (run(x_T.reshape(9) + e) - run(x_T.reshape(9) - e)) / (2 * h)
    expected = multivariate_normal(np.zeros(9), np.eye(9)).logpdf(x_T.reshape(9)) \
        - np.linalg.slogdet(M)[1]
    assert log_q[0] == pytest.approx(expected, rel=1e-7)


def test_module_jacobian_against_central_differences(rng):
    model = small_lattice_net()
    x = rng.standard_normal((2, 1, 3, 3))
    t = np.array([3, 700])
    _, J = jacobian(model, x, t, rows=5)          # chunks smaller than a sample's copies too
    h = 1e-6
    for b in range(2):
        num = np.empty((9, 9))
        for j in range(9):
            e = np.zeros(9)
            e[j] = h
            up = model(x[b:b + 1] + e.reshape(1, 1, 3, 3), t[b:b + 1]).reshape(9)
            down = model(x[b:b + 1] - e.reshape(1, 1, 3, 3), t[b:b + 1]).reshape(9)
            num[:, j] = (up - down) / (2 * h)
        err = rel_error(J[b], num)
        assert err < 1e-7, f"relative error {err:.2e}"


@pytest.mark.parametrize("tier", ["reference", "fast"])
def test_forward_mode_jacobian_equals_backward_passes(rng, tier):
    model = small_lattice_net(tier=tier)
    x = rng.standard_normal((3, 1, 4, 4))
    t = np.array([1, 50, 999])
    eps_b, J_b = jacobian(model, x, t)
    eps_f, J_f = model.jacobian(x, t)
    np.testing.assert_allclose(eps_f, eps_b, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(J_f, J_b, rtol=1e-10, atol=1e-12)
    assert model.training                         # put back as it was


def test_bad_order_is_refused():
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        flow_sample(None, np.zeros((1, 4)), NoiseSchedule.linear(), 5, order=3)
