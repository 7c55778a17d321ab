"""Independence Metropolis–Hastings and reweighting: exact with an exact proposal, and exact
again after a deliberately wrong one, on a Gaussian target whose moments are known."""
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from ddpm_np.diffusion import NoiseSchedule, flow_sample, gaussian_cov_eps_jacobian
from ddpm_np.physics import (Phi4Action, estimate_all, ess_per_sample, gamma_method,
                             independence_mh, per_config, reweight)


def test_a_proposal_equal_to_the_target_always_accepts():
    action = Phi4Action(4, m2=0.5, lam=0)
    cov = action.free_covariance()
    rng = np.random.default_rng(0)
    phi = rng.multivariate_normal(np.zeros(16), cov, size=500)
    log_q = multivariate_normal(np.zeros(16), cov).logpdf(phi)
    log_w = -action(phi.reshape(-1, 4, 4)) - log_q          # = log Z, the same for all
    index, accepted = independence_mh(log_w, rng)
    assert accepted.all()
    np.testing.assert_array_equal(index, np.arange(500))
    assert ess_per_sample(log_w) == pytest.approx(1.0)


def test_mh_reaches_a_known_target_from_a_wider_proposal():
    """Target N(0, 1), proposals N(0, 2²): the chain's ⟨x²⟩ is 1 within 5σ."""
    rng = np.random.default_rng(1)
    x = 2 * rng.standard_normal(20_000)
    log_w = -0.5 * x ** 2 - (-0.5 * (x / 2) ** 2 - np.log(2))
    index, accepted = independence_mh(log_w, rng)
    r = gamma_method(x[index] ** 2)
    assert abs(r["value"] - 1) < 5 * r["error"]
    # the acceptance in closed form: E[min(1, w'/w)] for this pair is 2/π·atan(…); only check
    # that it is neither 0 nor 1
    assert 0.3 < accepted.mean() < 0.95


def test_a_wrong_proposal_is_biased_raw_and_exact_corrected():
    """Free field on 4×4, proposals from DPM-Solver++(2M) with 10 steps and ε* scaled by 1.2:
    the raw χ₂ and ⟨φ²⟩ are off by more than 5σ; reweighted and Metropolis–Hastings estimates
    are within 2σ of the closed forms."""
    action = Phi4Action(4, m2=0.5, lam=0)
    cov = action.free_covariance()
    schedule = NoiseSchedule.linear()
    exact = gaussian_cov_eps_jacobian(cov, schedule)

    def wrong(x, t):
        eps, J = exact(x, t)
        return 1.2 * eps, 1.2 * J

    rng = np.random.default_rng(2)
    x0, log_q = flow_sample(wrong, rng.standard_normal((6000, 1, 4, 4)), schedule, 10)
    phi = x0[:, 0]
    log_w = -action(phi) - log_q
    P = per_config(phi)
    truth = {"chi2": 1 / (2 * 0.5), "phi2": np.trace(cov) / 16}
    raw = estimate_all(P[None])
    index, accepted = independence_mh(log_w, rng)
    mh = estimate_all(P[index][None])
    rew = estimate_all(P, reweight(log_w))
    assert abs(raw["chi2"][0] - truth["chi2"]) > 5 * raw["chi2"][1], raw["chi2"]
    for est in (mh, rew):
        assert abs(est["chi2"][0] - truth["chi2"]) < 2 * est["chi2"][1], est["chi2"]
    phi2 = np.mean(phi ** 2, axis=(1, 2))
    raw2 = gamma_method(phi2)
    assert abs(raw2["value"] - truth["phi2"]) > 5 * raw2["error"]
    mh2 = gamma_method(phi2[index])
    assert abs(mh2["value"] - truth["phi2"]) < 2 * mh2["error"]


def test_bad_log_weights_are_refused():
    with pytest.raises(ValueError, match="not finite"):
        independence_mh(np.array([0.0, -np.inf]), np.random.default_rng(0))


@pytest.fixture(scope="module")
def free_field_network():
    """The lattice ε-network trained briefly on free-field samples (L = 4, m² = 0.5)."""
    from ddpm_np.data.batching import ArrayDataset
    from ddpm_np.models import LatticeEps
    from ddpm_np.train import TrainConfig, Trainer
    action = Phi4Action(4, m2=0.5, lam=0)
    rng = np.random.default_rng(0)
    data = rng.multivariate_normal(np.zeros(16), action.free_covariance(), size=20000)
    s = float(np.sqrt(np.mean(data ** 2)))
    model, schedule = LatticeEps(16, 2, rng=np.random.default_rng(1)), NoiseSchedule.linear()
    Trainer(model, schedule, ArrayDataset((data / s).reshape(-1, 1, 4, 4).astype(np.float32)),
            TrainConfig(steps=600, batch_size=256, warmup_steps=50)).run(progress=False)
    return action, model.eval(), schedule, s


def assert_corrected_to_the_free_field(action, phi, log_w, rng, raw_off=None):
    """The Metropolis–Hastings and reweighted estimates of χ₂ are within 3σ of the closed form
    1/(2m²) = 1 (and the raw one is off by more than `raw_off` σ)."""
    P = per_config(phi)
    index, _ = independence_mh(log_w, rng)
    raw = estimate_all(P[None])["chi2"]
    assert raw_off is None or abs(raw[0] - 1) > raw_off * raw[1], raw
    for est in (estimate_all(P[index][None])["chi2"], estimate_all(P, reweight(log_w))["chi2"]):
        assert abs(est[0] - 1) < 3 * est[1], est


@pytest.mark.slow
def test_a_trained_network_is_corrected_to_the_free_field(free_field_network):
    """Route flow: proposals with their exact log q from DPM-Solver++(2M) in 8 steps."""
    from ddpm_np.diffusion import module_eps_jacobian
    from ddpm_np.models import LatticeEps
    action, model, schedule, s = free_field_network
    rng = np.random.default_rng(0)
    net = LatticeEps(**model.config(), rng=np.random.default_rng(0), dtype=np.float64)
    net.load_state_dict(model.state_dict())
    x0, log_q = flow_sample(module_eps_jacobian(net.eval()), rng.standard_normal((6000, 1, 4, 4)),
                            schedule, 8)
    phi = s * x0[:, 0]
    log_w = -action(phi) - (log_q - 16 * np.log(s))
    assert_corrected_to_the_free_field(action, phi, log_w, rng, raw_off=5)


@pytest.mark.slow
def test_the_path_weight_corrects_the_same_network_to_the_free_field(free_field_network):
    """Route path: the ancestral chain in 100 steps of the float32 network, with its path
    weight (no Jacobian). Its raw samples are closer than the flow's (2σ here), so only the
    corrected estimates are judged."""
    from ddpm_np.diffusion.path_density import PathVariances, path_sample, path_timesteps
    action, model, schedule, s = free_field_network
    rng = np.random.default_rng(0)
    r = path_sample(model, rng.standard_normal((6000, 1, 4, 4)), schedule,
                    path_timesteps(schedule, 100), PathVariances(), rng)
    phi = s * r["x0"][:, 0]
    log_w = -action(phi) + 16 * np.log(s) + r["log_forward"] - r["log_q"]
    assert_corrected_to_the_free_field(action, phi, log_w, rng)
