"""DPM-Solver++(2M) against the exact probability-flow ODE of Gaussian data.

For x_0 ~ N(μ, s²I) every marginal is N(α_t μ, v_t I), v_t = α_t² s² + σ_t², and the flow keeps
(x − α_t μ)/√v_t constant, so x_{t'} = α_{t'} μ + √(v_{t'}/v_t)·(x_t − α_t μ) exactly. With the
analytic optimal ε the only error left is the solver's.
"""
import numpy as np
import pytest

from ddpm_np.diffusion import NoiseSchedule, ddim_sample, gaussian_eps_model
from ddpm_np.diffusion.solvers import dpm_solver_sample, half_log_snr, solver_timesteps

S = NoiseSchedule.linear(1000)
MU, SD = np.array([1.0, -0.5]), 0.5
EPS = gaussian_eps_model(MU, SD, S)


def exact_flow(x_T, t_end):
    a, sg = np.sqrt(S.alpha_bars), np.sqrt(1 - S.alpha_bars)
    v = a ** 2 * SD ** 2 + sg ** 2
    return a[t_end] * MU + np.sqrt(v[t_end] / v[S.T]) * (x_T - a[S.T] * MU)


def solver_error(x_T, steps, order):
    x = dpm_solver_sample(EPS, x_T.shape, S, None, steps=steps, order=order, dtype=np.float64,
                          x_T=x_T, progress=False, t_end=1, spacing="logsnr")
    return np.abs(x - exact_flow(x_T, 1)).max()


def test_error_shrinks_at_the_solvers_order():
    """Doubling the steps divides the error by about 4 for DPM-Solver++(2M), 2 for DDIM."""
    x_T = np.random.default_rng(0).standard_normal((500, 2))
    for order, low, high in ((2, 3.0, 5.0), (1, 1.7, 2.3)):
        errs = [solver_error(x_T, n, order) for n in (20, 40, 80)]
        ratios = [errs[0] / errs[1], errs[1] / errs[2]]
        assert all(low < r < high for r in ratios), (order, errs, ratios)
    assert solver_error(x_T, 20, 2) < 0.2 * solver_error(x_T, 20, 1)


def test_twenty_steps_reproduce_the_gaussian_where_ddim_does_not():
    n = 20_000
    se_mean, se_sd = SD / np.sqrt(n), SD / np.sqrt(2 * n)
    x = dpm_solver_sample(EPS, (n, 2), S, np.random.default_rng(1), steps=20, dtype=np.float64,
                          progress=False, spacing="logsnr")
    assert np.all(np.abs(x.mean(0) - MU) < 5 * se_mean), x.mean(0)
    assert np.all(np.abs(x.std(0) - SD) < 5 * se_sd), x.std(0)
    y = ddim_sample(EPS, (n, 2), S, np.random.default_rng(1), steps=20, dtype=np.float64,
                    progress=False)
    assert np.all(y.std(0) < SD - 20 * se_sd)          # first order: visibly too narrow


def test_first_order_is_ddim():
    x_T = np.random.default_rng(2).standard_normal((5, 2))
    a = dpm_solver_sample(EPS, (5, 2), S, None, steps=10, spacing="uniform", order=1,
                          dtype=np.float64, x_T=x_T, progress=False)
    b = ddim_sample(EPS, (5, 2), S, None, steps=10, dtype=np.float64, x_T=x_T, progress=False)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spacing", ["logsnr", "uniform", "trailing"])
@pytest.mark.parametrize("steps", [1, 5, 15, 50, 1000])
def test_timesteps_are_strictly_decreasing_from_T(spacing, steps):
    ts = solver_timesteps(S, steps, spacing)
    assert len(ts) == steps and ts[0] == S.T and ts[-1] >= 1 and np.all(np.diff(ts) < 0)
    if spacing == "logsnr" and steps == 15:
        lam = half_log_snr(S)[ts]
        assert np.ptp(np.diff(lam)) < 0.5 * np.abs(np.diff(lam)).mean()   # about even in λ


def test_bad_arguments():
    with pytest.raises(ValueError, match="spacing must be one of logsnr, uniform, trailing"):
        solver_timesteps(S, 10, "karras")
    with pytest.raises(ValueError, match="steps .with T=1000. must be an integer in 1..1000"):
        solver_timesteps(S, 1001)
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        dpm_solver_sample(EPS, (2, 2), S, np.random.default_rng(0), order=3)
