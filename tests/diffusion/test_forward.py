import numpy as np
import pytest

from ddpm_np.diffusion import (NoiseSchedule, eps_from_v, eps_from_x0, mu_theta_from_eps,
                               q_chain, q_posterior, q_sample, v_from_eps_x0, x0_from_eps,
                               x0_from_v)

SCHED = NoiseSchedule.linear()


def test_q_sample_moments_match_closed_form(rng):
    n, t = 200_000, 300
    x0 = np.full((n, 1), 1.5)
    xt = q_sample(x0, t, rng.standard_normal(x0.shape), SCHED)
    ab = SCHED.alpha_bars[t]
    mean, var = np.sqrt(ab) * 1.5, 1 - ab
    se_mean, se_var = np.sqrt(var / n), var * np.sqrt(2 / (n - 1))
    assert abs(xt.mean() - mean) < 5 * se_mean
    assert abs(xt.var(ddof=1) - var) < 5 * se_var


def test_step_by_step_chain_matches_closed_form(rng):
    """The paper's trick: t steps of eq. 2 have the distribution of one step of eq. 4."""
    n, t = 20_000, 60
    x0 = np.concatenate([np.full((n // 2, 1), -1.0), np.full((n // 2, 1), 2.0)])
    chain = q_chain(x0, t, SCHED, rng)
    direct = q_sample(x0, t, rng.standard_normal(x0.shape), SCHED)
    ab = SCHED.alpha_bars[t]
    for half in (slice(0, n // 2), slice(n // 2, n)):
        m = n // 2
        se_mean, se_var = np.sqrt((1 - ab) / m), (1 - ab) * np.sqrt(2 / (m - 1))
        for x in (chain[half], direct[half]):
            assert abs(x.mean() - np.sqrt(ab) * x0[half][0, 0]) < 5 * se_mean
            assert abs(x.var(ddof=1) - (1 - ab)) < 5 * se_var
    start = x0[:3].copy()
    xs = q_chain(start, 4, SCHED, rng, return_all=True)
    assert len(xs) == 5 and xs[0] is start


def test_mu_theta_eq11_equals_mu_tilde_eq7_at_x0_hat(rng):
    x0 = rng.standard_normal((7, 3))
    eps = rng.standard_normal((7, 3))
    t = rng.integers(1, SCHED.T + 1, size=7)
    xt = q_sample(x0, t, eps, SCHED)
    eps_theta = rng.standard_normal((7, 3))  # any prediction, not just the true ε
    mu_tilde, _ = q_posterior(x0_from_eps(xt, t, eps_theta, SCHED), xt, t, SCHED)
    np.testing.assert_allclose(mu_theta_from_eps(xt, t, eps_theta, SCHED), mu_tilde,
                               rtol=1e-12, atol=1e-12)


def test_posterior_is_bayes_rule_of_the_two_gaussians():
    """q(x_{t−1}|x_t,x_0) ∝ q(x_t|x_{t−1})·q(x_{t−1}|x_0): precision and mean by completing the
    square, an independent route to eq. 7."""
    t, x0, xt = 40, np.array([[0.7]]), np.array([[-0.3]])
    a, b, ab_prev = SCHED.alphas[t], SCHED.betas[t], SCHED.alpha_bars[t - 1]
    prec = a / b + 1 / (1 - ab_prev)
    mean = (np.sqrt(a) * xt / b + np.sqrt(ab_prev) * x0 / (1 - ab_prev)) / prec
    mu, var = q_posterior(x0, xt, t, SCHED)
    np.testing.assert_allclose(mu, mean, rtol=1e-12)
    assert var.item() == pytest.approx(1 / prec, rel=1e-12)


def test_parameterisation_round_trips(rng):
    x0, eps = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    t = rng.integers(1, SCHED.T + 1, size=5)
    xt = q_sample(x0, t, eps, SCHED)
    np.testing.assert_allclose(x0_from_eps(xt, t, eps, SCHED), x0, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(eps_from_x0(xt, t, x0, SCHED), eps, rtol=1e-9, atol=1e-9)
    v = v_from_eps_x0(eps, x0, t, SCHED)
    np.testing.assert_allclose(x0_from_v(xt, t, v, SCHED), x0, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(eps_from_v(xt, t, v, SCHED), eps, rtol=1e-9, atol=1e-9)


def test_float32_stays_float32(rng):
    x0 = rng.standard_normal((4, 2)).astype(np.float32)
    assert q_sample(x0, np.array([1, 2, 3, 4]), x0, SCHED).dtype == np.float32


@pytest.mark.parametrize("t,exc,match", [
    (np.array([0, 1]), ValueError, "1..1000"),
    (np.array([1, 1001]), ValueError, "1..1000"),
    (np.array([1.0, 2.0]), TypeError, "integers"),
    (np.array([1, 2, 3]), ValueError, "shape"),
])
def test_bad_t(rng, t, exc, match):
    x = rng.standard_normal((2, 2))
    with pytest.raises(exc, match=match):
        q_posterior(x, x, t, SCHED)


def test_mismatched_shapes(rng):
    with pytest.raises(ValueError, match="shape"):
        q_sample(np.zeros((2, 2)), 3, np.zeros((2, 3)), SCHED)
