import numpy as np
import pytest

from ddpm_np.data import toy2d


@pytest.mark.parametrize("name", toy2d.NAMES)
def test_sample_shape_dtype_and_seed(name):
    a = toy2d.sample(name, 1000, np.random.default_rng(5))
    b = toy2d.sample(name, 1000, np.random.default_rng(5))
    assert a.shape == (1000, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


def test_gaussian_moments():
    n = 100_000
    x = toy2d.sample("gaussian", n, np.random.default_rng(0)).astype(np.float64)
    se = np.sqrt(np.diag(toy2d.GAUSSIAN_COV) / n)
    assert np.all(np.abs(x.mean(0) - toy2d.GAUSSIAN_MEAN) < 5 * se)
    c = np.cov(x.T)
    # SE of a covariance entry: √((Σ_ii Σ_jj + Σ_ij²)/n)
    S = toy2d.GAUSSIAN_COV
    se_c = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S ** 2) / n)
    assert np.all(np.abs(c - S) < 5 * se_c)


def test_two_gaussians_equal_weights():
    n = 50_000
    x = toy2d.sample("two-gaussians", n, np.random.default_rng(1))
    p = np.mean(x[:, 0] < 0)
    assert abs(p - 0.5) < 5 * np.sqrt(0.25 / n)


def test_double_well_is_the_boltzmann_distribution():
    """Rejection sampling against the exact marginal of x₁ (histogram, χ²-style 5σ per bin)."""
    n = 200_000
    x = toy2d.sample("double-well", n, np.random.default_rng(2)).astype(np.float64)
    edges = np.linspace(-2, 2, 21)
    counts, _ = np.histogram(x[:, 0], edges)
    g = np.linspace(-2.5, 2.5, 20001)
    dens = np.exp(-toy2d.DW_A * (g ** 2 - 1) ** 2 / toy2d.DW_KT)
    dens /= np.trapezoid(dens, g)
    probs = np.array([np.trapezoid(dens[(g >= a) & (g <= b)], g[(g >= a) & (g <= b)])
                      for a, b in zip(edges[:-1], edges[1:])])
    expected = n * probs
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected) + 5)
    assert abs(x[:, 1].var() - toy2d.DW_KT / (2 * toy2d.DW_B)) < 5 * 0.25 * np.sqrt(2 / n)


@pytest.mark.parametrize("name", ["gaussian", "two-gaussians", "double-well"])
def test_log_prob_integrates_to_one(name):
    g = np.linspace(-6, 6, 601)
    X, Y = np.meshgrid(g, g)
    p = np.exp(toy2d.log_prob(name, np.stack([X.ravel(), Y.ravel()], 1)))
    assert p.sum() * (g[1] - g[0]) ** 2 == pytest.approx(1.0, abs=1e-4)


def test_errors():
    with pytest.raises(ValueError, match="unknown dataset 'ring'"):
        toy2d.sample("ring", 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="positive integer"):
        toy2d.sample("spiral", 0, np.random.default_rng(0))
    with pytest.raises(NotImplementedError, match="closed-form"):
        toy2d.log_prob("spiral", np.zeros((1, 2)))
