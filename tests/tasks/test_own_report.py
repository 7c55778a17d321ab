"""The metrics of a run on your own data (tasks/own_report.py) against closed forms."""
import numpy as np
from scipy.stats import multivariate_normal

from ddpm_np.diffusion import gaussian_cov_eps_model
from ddpm_np.diffusion.gaussian import LN2
from ddpm_np.tasks.own_report import N_BOUND, held_out_bound, memorisation
from ddpm_np.tasks.toy import toy_schedule


def test_the_bound_moves_to_the_data_units_by_the_change_of_variables(rng):
    """Standardised Gaussian data and its exact optimal ε: the bound's distance to the exact
    −log₂ p per dimension is the same in the model's units and, after the shift by
    Σ log₂ σ_j / D, in the data's (the Jacobian of x = μ + σ·z)."""
    mean, std, rho = np.array([3.0, -1.0]), np.array([10.0, 0.5]), 0.6
    corr = np.array([[1, rho], [rho, 1]])
    x_data = rng.multivariate_normal(mean, corr * np.outer(std, std), N_BOUND)
    z = (x_data - mean) / std
    schedule = toy_schedule(200)
    meta = {"data": {"scaling": {"mean": mean.tolist(), "std": std.tolist()}}}
    out = held_out_bound(gaussian_cov_eps_model(np.zeros(2), corr, schedule), schedule, meta,
                         "points", z, None, rng)
    bits = 2 * LN2
    exact_data = -multivariate_normal(mean, corr * np.outer(std, std)).logpdf(x_data).mean() / bits
    exact_model = -multivariate_normal(np.zeros(2), corr).logpdf(z).mean() / bits
    np.testing.assert_allclose(out["bound_bits_per_dim_data_units"] - exact_data,
                               out["bound_bits_per_dim"] - exact_model, atol=1e-9)
    assert out["bound_bits_per_dim"] > exact_model - 3 * out["bound_stderr"]


def test_memorisation_tells_copies_from_new_images(rng):
    train = rng.uniform(-1, 1, (400, 1, 6, 6))
    val = rng.uniform(-1, 1, (100, 1, 6, 6))
    fresh = memorisation(rng.uniform(-1, 1, (100, 1, 6, 6)), train, val, rng)
    copies = memorisation(train[:100] + 1e-3, train, val, rng)
    assert fresh["memorised_share"] < 0.2 and copies["memorised_share"] == 1.0
