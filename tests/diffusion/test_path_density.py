"""The ancestral path's exact weight (diffusion/path_density.py) against closed forms: for
Gaussian data π = N(0, c²I) the normaliser Z and the variance are known, so an importance
estimate that is exact must find them, whatever the network, where the raw samples do not."""
import numpy as np
import pytest
from scipy.stats import norm

from ddpm_np.diffusion import NoiseSchedule
from ddpm_np.diffusion.analytic import gaussian_mixture_eps_model
from ddpm_np.diffusion.path_density import PathVariances, path_sample, path_timesteps
from ddpm_np.physics import ess_per_sample, independence_mh, reweight

C, D = 1.5, 3
SCHEDULE = NoiseSchedule.linear(200, beta_T=0.05)


def exact_eps(scale=1.0):
    """ε* of N(0, C²I), multiplied by `scale` (1: exact; else a wrong network)."""
    eps = gaussian_mixture_eps_model(np.zeros((1, D)), [C], [1.0], SCHEDULE)
    return lambda x, t: scale * eps(x, t)


def draw(n, eps_model, steps=50, variances=PathVariances(), seed=0, **kw):
    rng = np.random.default_rng(seed)
    r = path_sample(eps_model, rng.standard_normal((n, D)), SCHEDULE,
                    path_timesteps(SCHEDULE, steps), variances, rng, **kw)
    log_pi = -0.5 * np.sum(r["x0"] ** 2, axis=1) / C ** 2       # unnormalised π̃
    return r, log_pi + r["log_forward"] - r["log_q"]


def test_densities_match_an_independent_route():
    """log q and log P(path | x_0), each Gaussian of the path evaluated by scipy."""
    eps = exact_eps(0.8)
    r, _ = draw(5, eps, steps=7, variances=PathVariances(0.5, 2.0), keep_path=True)
    path, ts = r["path"], path_timesteps(SCHEDULE, 7)
    ab, sig2 = SCHEDULE.alpha_bars, PathVariances(0.5, 2.0).sigma2(SCHEDULE, ts)
    log_q = norm.logpdf(path[0]).sum(axis=1)
    log_f = np.zeros(5)
    for k, t in enumerate(ts):
        s = ts[k + 1] if k + 1 < len(ts) else 0
        x_t, x_s = path[k], path[k + 1]
        x0_hat = (x_t - np.sqrt(1 - ab[t]) * eps(x_t.astype(np.float32), t)) / np.sqrt(ab[t])
        mu = (np.sqrt(ab[s]) * (1 - ab[t] / ab[s]) * x0_hat
              + np.sqrt(ab[t] / ab[s]) * (1 - ab[s]) * x_t) / (1 - ab[t])
        log_q += norm.logpdf(x_s, mu, np.sqrt(sig2[k])).sum(axis=1)
        log_f += norm.logpdf(x_t, np.sqrt(ab[t] / ab[s]) * x_s,
                             np.sqrt(1 - ab[t] / ab[s])).sum(axis=1)
    np.testing.assert_allclose(r["log_q"], log_q, rtol=1e-10)
    np.testing.assert_allclose(r["log_forward"], log_f, rtol=1e-10)
    np.testing.assert_array_equal(r["x0"], path[-1])


@pytest.mark.parametrize("scale, variances", [(1.0, PathVariances()),
                                              (0.85, PathVariances()),
                                              (1.1, PathVariances(0.3, 3.0))])
def test_the_weights_are_unbiased_for_any_network(scale, variances):
    """E_q[w] = Z = (2πC²)^{D/2} and the reweighted ⟨x²⟩ = C², within errors, for the exact
    network and for wrong ones; the raw samples of a wrong network miss C² by many errors."""
    r, log_w = draw(20000, exact_eps(scale), variances=variances)
    w = np.exp(log_w - log_w.max())
    log_Z = np.log(w.mean()) + log_w.max()
    err = w.std() / w.mean() / np.sqrt(len(w))
    assert abs(log_Z - 0.5 * D * np.log(2 * np.pi * C ** 2)) < 4 * err + 1e-3
    x2 = np.mean(r["x0"] ** 2, axis=1)
    p = reweight(log_w)
    n_eff = ess_per_sample(log_w) * len(w)
    assert abs(p @ x2 - C ** 2) < 4 * np.std(x2) / np.sqrt(n_eff)
    if scale != 1.0:
        assert abs(x2.mean() - C ** 2) > 6 * np.std(x2) / np.sqrt(len(w))
    index, acc = independence_mh(log_w, np.random.default_rng(1))
    assert 0.05 < acc.mean() <= 1
    # the chain's error: about that of its accepted moves (each holds for 1/acceptance steps)
    assert abs(x2[index].mean() - C ** 2) < 5 * np.std(x2) * np.sqrt(2 / acc.sum())


def test_more_steps_and_matched_variances_spread_the_weights_less():
    """With the exact ε the spread of log w is discretisation only: it shrinks with the steps;
    σ² = β (v = 1) spreads it less than σ² = β̃ (v = 0)."""
    spread = {k: np.std(draw(2000, exact_eps(), steps=k)[1]) for k in (10, 40, 200)}
    assert spread[10] > spread[40] > spread[200]
    assert spread[200] < 0.1
    beta_tilde = np.std(draw(2000, exact_eps(), steps=40, variances=PathVariances(0.0))[1])
    assert beta_tilde > spread[40]


def test_a_float32_network_keeps_the_weight_exact_and_the_seed_repeats():
    """The network sees float32 (as in every test here, whose Z and C² come out right); the
    path is float64 and two runs with one seed agree bit for bit."""
    eps = exact_eps(0.9)
    a, log_a = draw(50, eps, seed=3)
    b, log_b = draw(50, eps, seed=3)
    np.testing.assert_array_equal(log_a, log_b)
    np.testing.assert_array_equal(a["x0"], b["x0"])
    assert a["x0"].dtype == np.float64


@pytest.mark.parametrize("v, c, message", [(-0.1, 1, "v (the variance between β̃ and β)"),
                                           (2.5, 1, "v (the variance between β̃ and β)"),
                                           (1, 0, "c (the last step's variance over β)"),
                                           (1, float("nan"), "c (the last step's")])
def test_bad_variances_are_refused(v, c, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PathVariances(v, c)
