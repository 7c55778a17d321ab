"""The learned variance (Nichol & Dhariwal 2021): Σ_θ between β̃_t and β_t, L_vlb's terms against
their closed forms and the bound's own code, and L_hybrid's hand-written gradient against finite
differences (KL terms, the decoder at t = 1, the end bins)."""
import numpy as np
import pytest

from ddpm_np.diffusion import NoiseSchedule
from ddpm_np.diffusion.forward import q_posterior, q_sample
from ddpm_np.diffusion.learned_variance import (hybrid_loss, log_variance_bounds,
                                                model_log_variance, split_output, vlb_term)
from ddpm_np.diffusion.param import mu_theta_from_eps
from ddpm_np.diffusion.gaussian import discretized_gaussian_log_likelihood, gaussian_kl

SCHEDULE = NoiseSchedule.linear(50, 1e-3, 0.2)


def batch(rng, t, shape=(3, 2, 4, 4)):
    x0 = np.round(rng.uniform(-1, 1, shape) * 127.5) / 127.5     # 8-bit values in [−1, 1]
    x0[0, 0, 0, :2] = [-1.0, 1.0]                                 # the end bins
    t = np.broadcast_to(np.asarray(t), shape[:1]).astype(np.int64)
    eps = rng.standard_normal(shape)
    return x0, eps, q_sample(x0, t, eps, SCHEDULE), t


def test_the_variance_runs_from_beta_tilde_to_beta():
    log_beta, log_beta_tilde = log_variance_bounds(SCHEDULE)
    t = np.array([1, 2, 30, 50])
    v = np.zeros((4, 1))
    assert np.allclose(np.exp(model_log_variance(v, t, SCHEDULE))[1:, 0],
                       SCHEDULE.beta_tildes[t[1:]])
    assert np.allclose(np.exp(model_log_variance(v + 1, t, SCHEDULE))[:, 0], SCHEDULE.betas[t])
    assert np.isclose(np.exp(log_beta_tilde[1]), SCHEDULE.beta_tildes[2])     # β̃_1 = 0 clipped
    assert np.all(np.isfinite(log_beta[1:])) and np.all(np.isfinite(log_beta_tilde[1:]))


def test_the_terms_are_the_kl_and_the_decoder_of_the_bound(rng):
    for t in (1, 2, 17, 50):
        x0, eps, xt, tt = batch(rng, t)
        mu = mu_theta_from_eps(xt, tt, eps + 0.1 * rng.standard_normal(eps.shape), SCHEDULE)
        v = rng.uniform(-0.5, 1.5, x0.shape)
        term, _ = vlb_term(v, mu, x0, xt, tt, SCHEDULE)
        var = np.exp(model_log_variance(v, tt, SCHEDULE))
        if t == 1:
            expected = -discretized_gaussian_log_likelihood(x0, mu, np.sqrt(var))
        else:
            mu_q, var_q = q_posterior(x0, xt, tt, SCHEDULE)
            expected = gaussian_kl(mu_q, var_q, mu, var)
        np.testing.assert_allclose(term, expected, rtol=1e-10, atol=1e-12)


def test_the_kl_vanishes_at_the_posterior():
    """With μ_θ = μ̃ and σ² = β̃_t (v = 0), p_θ is q(x_{t−1}|x_t, x_0): KL = 0, ∂KL/∂v = 0."""
    rng = np.random.default_rng(0)
    x0, _, xt, t = batch(rng, 20)
    mu_q, _ = q_posterior(x0, xt, t, SCHEDULE)
    term, d = vlb_term(np.zeros_like(x0), mu_q, x0, xt, t, SCHEDULE)
    assert np.abs(term).max() < 1e-12 and np.abs(d).max() < 1e-12


@pytest.mark.parametrize("t", [1, 2, 9, 50, "mixed"])
def test_the_gradient_of_the_terms_matches_finite_differences(rng, t):
    t = rng.integers(1, 51, 3) if t == "mixed" else t
    x0, eps, xt, tt = batch(rng, t)
    mu = mu_theta_from_eps(xt, tt, eps + 0.3 * rng.standard_normal(eps.shape), SCHEDULE)
    v = rng.uniform(-0.5, 1.5, x0.shape)
    _, d = vlb_term(v, mu, x0, xt, tt, SCHEDULE)
    h = 1e-6
    fd = (vlb_term(v + h, mu, x0, xt, tt, SCHEDULE)[0] -
          vlb_term(v - h, mu, x0, xt, tt, SCHEDULE)[0]) / (2 * h)
    np.testing.assert_allclose(d, fd, rtol=1e-5, atol=1e-7)


def test_hybrid_loss_gradient_matches_finite_differences(rng):
    """Every element of the output, both halves: ε by L_simple, v by λ·T·L_{t−1}, the mean
    held fixed (so the ε half's gradient is L_simple's alone)."""
    x0, eps, xt, t = batch(rng, 0, shape=(4, 1, 3, 3))
    t = np.array([1, 2, 25, 50])
    xt = q_sample(x0, t, eps, SCHEDULE)
    out = np.concatenate([eps + 0.2 * rng.standard_normal(eps.shape),
                          rng.uniform(-0.5, 1.5, eps.shape)], axis=1)
    loss, d = hybrid_loss(out, x0, eps, xt, t, SCHEDULE, lam=0.3)
    h, fd = 1e-6, np.empty_like(out)
    for i in np.ndindex(out.shape):
        e = np.zeros_like(out)
        e[i] = h
        eps_half = i[1] < 1
        plus, minus = out + e, out - e
        if eps_half:        # the stop-gradient: the mean is a constant of the v term
            lp = hybrid_loss(plus, x0, eps, xt, t, SCHEDULE, lam=0.0)[0]
            lm = hybrid_loss(minus, x0, eps, xt, t, SCHEDULE, lam=0.0)[0]
        else:
            lp = hybrid_loss(plus, x0, eps, xt, t, SCHEDULE, lam=0.3)[0]
            lm = hybrid_loss(minus, x0, eps, xt, t, SCHEDULE, lam=0.3)[0]
        fd[i] = (lp - lm) / (2 * h)
    np.testing.assert_allclose(d, fd, rtol=1e-5, atol=1e-8)
    simple = np.mean((out[:, :1] - eps) ** 2)
    assert loss > simple


def test_importance_weights_scale_both_terms_per_example_and_terms_are_unweighted(rng):
    """hybrid_loss with per-example weights on L_simple and on the L_vlb term equals the weighted
    sum of one-example losses, gradient included; `terms` gives each L_{t−1} in bits/dim."""
    x0, eps, xt, t = batch(rng, 0, shape=(3, 1, 3, 3))
    t = np.array([1, 7, 40])
    xt = q_sample(x0, t, eps, SCHEDULE)
    out = np.concatenate([eps + 0.1 * rng.standard_normal(eps.shape),
                          rng.uniform(-0.5, 1.5, eps.shape)], axis=1)
    w = np.array([0.2, 1.5, 3.0])
    loss, d, terms = hybrid_loss(out, x0, eps, xt, t, SCHEDULE, lam=0.3, weights=w,
                                 vlb_weights=w, terms=True)
    parts = [hybrid_loss(out[i:i + 1], x0[i:i + 1], eps[i:i + 1], xt[i:i + 1], t[i:i + 1],
                         SCHEDULE, lam=0.3, terms=True) for i in range(3)]
    assert loss == pytest.approx(sum(wi * p[0] for wi, p in zip(w, parts)) / 3, rel=1e-10)
    np.testing.assert_allclose(d, np.concatenate([wi * p[1] for wi, p in zip(w, parts)]) / 3,
                               rtol=1e-6, atol=1e-12)
    mu = mu_theta_from_eps(xt, t, out[:, :1], SCHEDULE)
    want, _ = vlb_term(out[:, 1:], mu, x0, xt, t, SCHEDULE)
    np.testing.assert_allclose(terms, want.reshape(3, -1).mean(1) / np.log(2), rtol=1e-12)
    np.testing.assert_allclose(terms, np.concatenate([p[2] for p in parts]), rtol=1e-12)


def test_a_bad_output_is_refused():
    with pytest.raises(ValueError, match="even number of channels"):
        split_output(np.zeros((2, 3, 4, 4)))
    x0 = np.zeros((2, 1, 4, 4))
    with pytest.raises(ValueError, match="does not hold"):
        hybrid_loss(np.zeros((2, 4, 4, 4)), x0, x0, x0, np.array([3, 4]), SCHEDULE)


def _fixed_v(value):
    """A model of the data N(0.3, 0.5²) per element: its optimal ε, and v = value."""
    from ddpm_np.diffusion.analytic import gaussian_eps_model
    optimal = gaussian_eps_model(0.3, 0.5, SCHEDULE)

    def model(x, t):
        return optimal(x, t), np.full_like(x, value)
    return model


@pytest.mark.parametrize("v, sigma", [(0.0, "beta_tilde"), (1.0, "beta")])
def test_ancestral_sampling_with_v_at_an_end_is_algorithm_2(v, sigma):
    from ddpm_np.diffusion import ddpm_sample
    from ddpm_np.diffusion.learned_variance import ancestral_sample
    model = _fixed_v(v)
    ours = ancestral_sample(model, (5, 3), SCHEDULE, np.random.default_rng(4), dtype=np.float64,
                            progress=False)
    ref = ddpm_sample(lambda x, t: model(x, t)[0], (5, 3), SCHEDULE, np.random.default_rng(4),
                      sigma=sigma, dtype=np.float64, progress=False)
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


def test_strided_sampling_with_v_0_is_ddim_with_eta_1():
    from ddpm_np.diffusion import ddim_sample
    from ddpm_np.diffusion.learned_variance import ancestral_sample
    model = _fixed_v(0.0)
    ours = ancestral_sample(model, (5, 3), SCHEDULE, np.random.default_rng(4), steps=7,
                            dtype=np.float64, progress=False)
    ref = ddim_sample(lambda x, t: model(x, t)[0], (5, 3), SCHEDULE, np.random.default_rng(4),
                      steps=7, eta=1.0, dtype=np.float64, progress=False)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-11)


def test_strided_variance_needs_ordered_steps():
    from ddpm_np.diffusion.learned_variance import strided_log_variance
    with pytest.raises(ValueError, match="1 ≤ t_prev < t ≤ T"):
        strided_log_variance(np.zeros(2), 5, 5, SCHEDULE)


@pytest.mark.parametrize("decoder", ["gaussian", "discretized"])
def test_the_bound_with_v_1_is_the_bound_with_sigma_beta(decoder):
    from ddpm_np.diffusion import vlb_terms
    model = _fixed_v(1.0)
    x0 = np.round(np.random.default_rng(2).uniform(-1, 1, (6, 3)) * 127.5) / 127.5
    learned = vlb_terms(model, x0, SCHEDULE, np.random.default_rng(3), sigma="learned",
                        decoder=decoder)
    fixed = vlb_terms(lambda x, t: model(x, t)[0], x0, SCHEDULE, np.random.default_rng(3),
                      sigma="beta", decoder=decoder)
    np.testing.assert_allclose(learned["total"], fixed["total"], rtol=1e-12)


def test_guidance_mixes_epsilon_and_keeps_the_conditional_variance(rng):
    from ddpm_np.diffusion import guided_eps_model
    from ddpm_np.diffusion.learned_variance import eps_only, guided_with_variance

    class Net:
        num_classes, learn_sigma = 3, True

        def __call__(self, x, t, y):
            return np.concatenate([x * (1 + y[:, None]), x * 10 + y[:, None]], axis=1)

    x, t, y = rng.standard_normal((4, 1)), np.full(4, 5), np.array([0, 1, 2, 0])
    eps, v = guided_with_variance(Net(), y, 0.5)(x, t)
    np.testing.assert_allclose(eps, 1.5 * x * (1 + y[:, None]) - 0.5 * x * 4)
    np.testing.assert_allclose(v, x * 10 + y[:, None])
    np.testing.assert_allclose(guided_eps_model(eps_only(Net()), y, 0.5)(x, t), eps)
    eps0, v0 = guided_with_variance(Net(), None)(x, t)          # no label: the null class
    np.testing.assert_allclose(v0, x * 10 + 3)
