"""Samplers driven by the analytic optimal ε-predictor must reproduce the data distribution."""
import numpy as np
import pytest

from ddpm_np.diffusion import (NoiseSchedule, ddim_sample, ddim_step, ddim_timesteps,
                               ddpm_sample, ddpm_step, gaussian_eps_model,
                               gaussian_mixture_eps_model)

SCHED = NoiseSchedule.linear()
MU, S = np.array([1.0, -2.0]), 0.5


def assert_gaussian(x, mu, var, n_sigma=5):
    n = x.shape[0]
    se_mean = np.sqrt(var / n)
    se_var = var * np.sqrt(2 / (n - 1))
    err_m = np.abs(x.mean(axis=0) - mu)
    err_v = np.abs(x.var(axis=0, ddof=1) - var)
    assert np.all(err_m < n_sigma * se_mean), f"mean error {err_m} vs 5·SE {n_sigma * se_mean}"
    assert np.all(err_v < n_sigma * se_var), f"var error {err_v} vs 5·SE {n_sigma * se_var}"


@pytest.mark.parametrize("sigma", ["beta_tilde", "beta"])
def test_ddpm_reproduces_gaussian(sigma):
    rng = np.random.default_rng(0)
    x = ddpm_sample(gaussian_eps_model(MU, S, SCHED), (20_000, 2), SCHED, rng, sigma=sigma,
                    progress=False)
    assert x.dtype == np.float32
    assert_gaussian(x.astype(np.float64), MU, S ** 2)


MIX = dict(means=[[-2.0, 0.0], [2.0, 1.0]], stds=[0.5, 0.3], weights=[0.3, 0.7])


def check_mixture(x):
    n = x.shape[0]
    means = np.array(MIX["means"])
    k = np.argmin(((x[:, None, :] - means) ** 2).sum(-1), axis=1)
    p = 0.3
    se = np.sqrt(p * (1 - p) / n)
    assert abs(np.mean(k == 0) - p) < 5 * se, f"weight {np.mean(k == 0):.4f} vs {p} (SE {se:.4f})"
    for j in (0, 1):
        xj = x[k == j].astype(np.float64)
        assert_gaussian(xj, means[j], MIX["stds"][j] ** 2)


@pytest.mark.parametrize("sigma", ["beta_tilde", "beta"])
def test_ddpm_reproduces_mixture(sigma):
    model = gaussian_mixture_eps_model(**MIX, schedule=SCHED)
    check_mixture(ddpm_sample(model, (10_000, 2), SCHED, np.random.default_rng(1), sigma=sigma,
                              progress=False))


def test_ddim50_reproduces_mixture_weights_and_means():
    model = gaussian_mixture_eps_model(**MIX, schedule=SCHED)
    x = ddim_sample(model, (10_000, 2), SCHED, np.random.default_rng(2), steps=50,
                    progress=False).astype(np.float64)
    means = np.array(MIX["means"])
    k = np.argmin(((x[:, None, :] - means) ** 2).sum(-1), axis=1)
    se = np.sqrt(0.3 * 0.7 / len(x))
    assert abs(np.mean(k == 0) - 0.3) < 5 * se
    for j in (0, 1):
        xj = x[k == j]
        assert np.all(np.abs(xj.mean(0) - means[j]) < 5 * MIX["stds"][j] / np.sqrt(len(xj)))


def ddim_exact_moments(steps, mu, s):
    """Deterministic DDIM with the Gaussian ε* is affine per step, x ↦ A·x + B, so the output
    law from x_T ~ N(0, 1) follows exactly: m ← A·m + B, v ← A²·v (1-D)."""
    model = gaussian_eps_model([mu], s, SCHED)
    ts = ddim_timesteps(SCHED.T, steps)
    m, v = 0.0, 1.0
    for t, tp in zip(ts, np.append(ts[1:], 0)):
        x = np.array([[0.0], [1.0]])
        y, _ = ddim_step(model(x, np.full(2, t)), x, int(t), int(tp), SCHED)
        B, A = y[0, 0], y[1, 0] - y[0, 0]
        m, v = A * m + B, A * A * v
    return m, v


def test_ddim50_matches_its_exact_law_and_converges_to_the_data():
    mu, s = 1.0, 0.5
    m50, v50 = ddim_exact_moments(50, mu, s)
    x = ddim_sample(gaussian_eps_model([mu], s, SCHED), (20_000, 1), SCHED,
                    np.random.default_rng(3), steps=50, progress=False).astype(np.float64)
    assert_gaussian(x, m50, v50)          # the implementation does what the math says
    # DDIM(η=0) is Euler on the probability-flow ODE: the std shrinks by O(1/steps)
    # (for unit-variance data by ∏cos Δθ_i, ᾱ = cos²θ, about 3% at 50 uniform steps).
    assert abs(m50 - mu) < 0.01
    assert abs(np.sqrt(v50) / s - 1) < 0.07, f"DDIM-50 std ratio {np.sqrt(v50) / s:.4f}"
    m1000, v1000 = ddim_exact_moments(1000, mu, s)
    assert abs(np.sqrt(v1000) / s - 1) < 0.01, f"DDIM-1000 std ratio {np.sqrt(v1000) / s:.4f}"


def test_ddim_eta1_full_steps_equals_ddpm_beta_tilde(rng):
    xt, eps, z = rng.standard_normal((3, 4, 2))
    t = np.array([2, 10, 500, 1000])
    a, _ = ddim_step(eps, xt, t, t - 1, SCHED, eta=1.0, z=z)
    b, _ = ddpm_step(eps, xt, t, SCHED, z=z, sigma="beta_tilde")
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_ddpm_step_adds_no_noise_at_t1_and_clip(rng):
    xt, eps, z = rng.standard_normal((3, 4, 2))
    t = np.array([1, 1, 5, 5])
    out, _ = ddpm_step(eps, xt, t, SCHED, z=z)
    out0, _ = ddpm_step(eps, xt, t, SCHED, z=np.zeros_like(z))
    np.testing.assert_array_equal(out[:2], out0[:2])
    assert not np.allclose(out[2:], out0[2:])
    _, x0c = ddpm_step(eps * 50, xt, 500, SCHED, z=z, clip_x0=1.0)
    assert np.abs(x0c).max() <= 1.0


def test_samplers_are_deterministic_per_seed_and_return_trajectories():
    model = gaussian_eps_model(MU, S, NoiseSchedule.linear(T=100, beta_T=0.2))
    sched = NoiseSchedule.linear(T=100, beta_T=0.2)
    a = ddpm_sample(model, (5, 2), sched, np.random.default_rng(7), progress=False)
    b = ddpm_sample(model, (5, 2), sched, np.random.default_rng(7), progress=False)
    np.testing.assert_array_equal(a, b)
    x, traj = ddim_sample(model, (5, 2), sched, np.random.default_rng(7), steps=20, eta=0.5,
                          progress=False, return_trajectory=True, trajectory_every=5)
    np.testing.assert_array_equal(traj["t"], [100, 74, 48, 22, 0])
    assert traj["xt"].shape == (5, 5, 2) and traj["x0_hat"].shape == (5, 5, 2)
    np.testing.assert_array_equal(traj["xt"][-1], x)


@pytest.mark.parametrize("call,match", [
    (lambda m, s, r: ddpm_sample(m, (2, 2), s, r, sigma="learned", progress=False),
     "unknown sigma"),
    (lambda m, s, r: ddim_sample(m, (2, 2), s, r, steps=0, progress=False), "steps"),
    (lambda m, s, r: ddim_sample(m, (2, 2), s, r, steps=2000, progress=False), "steps"),
    (lambda m, s, r: ddim_sample(m, (2, 2), s, r, eta=-1, progress=False), "eta"),
    (lambda m, s, r: ddim_step(np.zeros((2, 2)), np.zeros((2, 2)), 5, 5, s), "t_prev < t"),
    (lambda m, s, r: ddpm_step(np.zeros((2, 2)), np.zeros((2, 3)), 5, s), "shape"),
    (lambda m, s, r: ddpm_step(np.zeros((2, 2)), np.zeros((2, 2)), 5, s), "needs z"),
    (lambda m, s, r: ddpm_sample(m, (2, 2), s, r, clip_x0=-1, progress=False), "clip_x0"),
])
def test_sampler_bad_arguments(call, match):
    sched = NoiseSchedule.linear(T=100, beta_T=0.2)
    with pytest.raises(ValueError, match=match):
        call(gaussian_eps_model(MU, S, sched), sched, np.random.default_rng(0))
