"""The variational bound against its closed-form expectation and the exact NLL."""
import numpy as np
import pytest
from scipy.stats import norm

from ddpm_np.diffusion import (NoiseSchedule, bound_parts,
                               discretized_gaussian_log_likelihood,
                               gaussian_eps_model, nll_bits_per_dim, posterior_coefficients,
                               vlb_terms)

SCHED = NoiseSchedule.linear()
MU, S = 1.0, 0.5


def expected_terms(sigma):
    """E_{x_0, noise}[L] per dimension for data N(MU, S²) and the optimal model, in closed form:
    every term is Gaussian. With Var(x_0|x_t) = S²(1−ᾱ_t)/(1−ᾱ_t+ᾱ_t S²) (constant in x_t):
      L_{t−1}: ½(log σ_t²/β̃_t + (β̃_t + c0_t²·Var(x_0|x_t))/σ_t² − 1)
      L_0:     ½ log(2πβ_1) + Var(x_0|x_1)/(2β_1)   (μ_θ(x_1, 1) = E[x_0|x_1]).
    Returns (prior, the KL terms for t = 2..T, decoder)."""
    ab, T = SCHED.alpha_bars, SCHED.T
    post_var = lambda t: S ** 2 * (1 - ab[t]) / (1 - ab[t] + ab[t] * S ** 2)
    c0, _ = posterior_coefficients(np.arange(T + 1), SCHED)
    s2 = SCHED.sigmas(sigma) ** 2
    prior = 0.5 * (ab[T] * (MU ** 2 + S ** 2) + (1 - ab[T]) - 1 - np.log(1 - ab[T]))
    t = np.arange(2, T + 1)
    bt = SCHED.beta_tildes[t]
    kl = 0.5 * (np.log(s2[t] / bt) + (bt + c0[t] ** 2 * post_var(t)) / s2[t] - 1)
    dec = 0.5 * np.log(2 * np.pi * SCHED.betas[1]) + post_var(1) / (2 * SCHED.betas[1])
    return prior, kl, dec


def expected_bound(sigma):
    prior, kl, dec = expected_terms(sigma)
    return prior + kl.sum() + dec


@pytest.mark.parametrize("sigma", ["beta_tilde", "beta"])
def test_bound_matches_closed_form_and_bounds_exact_nll(sigma):
    rng = np.random.default_rng(0)
    n = 4000
    x0 = MU + S * rng.standard_normal((n, 1))
    terms = vlb_terms(gaussian_eps_model([MU], S, SCHED), x0, SCHED, rng, sigma=sigma)
    total = terms["total"]
    se = total.std(ddof=1) / np.sqrt(n)
    expected = expected_bound(sigma)
    assert abs(total.mean() - expected) < 5 * se, (total.mean(), expected, se)
    exact_nll = 0.5 * np.log(2 * np.pi * np.e * S ** 2)   # E[−log N(x_0; MU, S²)], nats/dim
    # an upper bound: E[L] ≥ cross-entropy ≥ entropy of the data. Measured gaps (nats/dim):
    # σ²=β̃: 0.456, σ²=β: 0.0011 (β̃ is the right variance for a point mass, β for N(0,1)).
    assert expected >= exact_nll
    assert total.mean() > exact_nll - 5 * se
    gap = expected - exact_nll
    assert gap < (0.5 if sigma == "beta_tilde" else 0.01), f"gap {gap:.4f} nats/dim"


def test_wrong_model_has_a_larger_bound():
    rng = np.random.default_rng(1)
    x0 = MU + S * rng.standard_normal((2000, 1))
    good = vlb_terms(gaussian_eps_model([MU], S, SCHED), x0, SCHED, np.random.default_rng(5))
    bad = vlb_terms(gaussian_eps_model([MU + 0.5], S, SCHED), x0, SCHED, np.random.default_rng(5))
    diff = bad["total"] - good["total"]
    assert diff.mean() > 5 * diff.std(ddof=1) / np.sqrt(len(diff))


def test_subsampled_timesteps_estimate_is_unbiased_and_bits_per_dim():
    rng = np.random.default_rng(2)
    x0 = MU + S * rng.standard_normal((3000, 2))
    model = gaussian_eps_model([MU, MU], S, SCHED)
    bpd, se, terms = nll_bits_per_dim(model, x0, SCHED, rng, num_timesteps=100)
    assert terms["kl"].shape == terms["t"].shape == (3000, 100)
    exact_bpd = expected_bound("beta_tilde") / np.log(2)
    assert abs(bpd - exact_bpd) < 5 * se, (bpd, exact_bpd, se)


def test_discretized_decoder_is_a_distribution_over_256_values():
    values = np.linspace(-1, 1, 256)
    for mu, sigma in [(0.3, 0.05), (-0.99, 0.01), (1.2, 0.3), (0.0, 1e-3)]:
        p = np.exp(discretized_gaussian_log_likelihood(values, mu, sigma))
        assert p.sum() == pytest.approx(1.0, abs=1e-9)
    # an interior bin equals the CDF difference
    x = values[100]
    lp = discretized_gaussian_log_likelihood(np.array([x]), 0.1, 0.2)
    expected = norm.cdf((x + 1 / 255 - 0.1) / 0.2) - norm.cdf((x - 1 / 255 - 0.1) / 0.2)
    assert np.exp(lp[0]) == pytest.approx(expected, rel=1e-10)


def test_vlb_is_seeded_and_checks_decoder():
    x0 = np.linspace(-1, 1, 8).reshape(4, 2)
    sched = NoiseSchedule.linear(T=50, beta_T=0.3)
    model = gaussian_eps_model([0.0, 0.0], 0.5, sched)
    a = vlb_terms(model, x0, sched, np.random.default_rng(3), decoder="discretized")
    b = vlb_terms(model, x0, sched, np.random.default_rng(3), decoder="discretized")
    np.testing.assert_array_equal(a["total"], b["total"])
    with pytest.raises(ValueError, match="decoder"):
        vlb_terms(model, x0, sched, np.random.default_rng(3), decoder="laplace")


def test_bound_parts_match_the_closed_form_band_by_band_and_add_up():
    rng = np.random.default_rng(4)
    x0 = MU + S * rng.standard_normal((3000, 1))
    terms = vlb_terms(gaussian_eps_model([MU], S, SCHED), x0, SCHED, rng, sigma="beta")
    parts = bound_parts(terms, edges=(10, 100))
    assert list(parts) == ["decoder L_0", "KL t 2..10", "KL t 11..100", "KL t 101..1000",
                           "prior L_T"]
    assert sum(parts.values()) == pytest.approx(terms["total"].mean() / np.log(2), rel=1e-12)
    prior, kl, dec = expected_terms("beta")       # nats/dim, kl[i] is t = i + 2
    expected = {"decoder L_0": dec, "KL t 2..10": kl[:9].sum(), "KL t 11..100": kl[9:99].sum(),
                "KL t 101..1000": kl[99:].sum(), "prior L_T": prior}
    t = terms["t"]
    per_example = {"decoder L_0": terms["decoder"], "prior L_T": terms["prior"],
                   "KL t 2..10": (terms["kl"] * (t <= 10)).sum(1),
                   "KL t 11..100": (terms["kl"] * ((t > 10) & (t <= 100))).sum(1),
                   "KL t 101..1000": (terms["kl"] * (t > 100)).sum(1)}
    for key, value in expected.items():
        se = per_example[key].std(ddof=1) / np.sqrt(len(x0)) / np.log(2)
        assert abs(parts[key] - value / np.log(2)) < 5 * se + 1e-12, (key, parts[key], value)


@pytest.mark.parametrize("edges", [(1, 100), (100, 10), (10, 1000), (10, 10)])
def test_bound_parts_refuse_edges_that_do_not_split_2_to_T(edges):
    sched = NoiseSchedule.linear(T=1000)
    x0 = np.zeros((2, 1))
    terms = vlb_terms(gaussian_eps_model([0.0], 0.5, sched), x0, sched,
                      np.random.default_rng(0), num_timesteps=3)
    with pytest.raises(ValueError, match="edges must rise strictly"):
        bound_parts(terms, edges)
