"""Importance-sampled t (Nichol & Dhariwal 2021, §3.3, eq. 18): uniform until every t has its
history, then p_t ∝ √E[L_t²]; the weights 1/(T·p_t) keep the estimate of Σ_t L_t unbiased and,
for terms that do not vary, remove its variance; the history is a ring and a state."""
import numpy as np
import pytest

from ddpm_np.diffusion.timestep_sampling import LossSecondMomentSampler

T = 20
L = np.geomspace(100.0, 0.01, T)          # L_t for t = 1..T: a decoder term far above the rest


def warm(sampler, losses=L, times=None):
    for _ in range(times or sampler.history):
        sampler.update(np.arange(1, sampler.T + 1), losses)
    return sampler


def test_uniform_until_every_t_has_its_history():
    s = LossSecondMomentSampler(T, history=3)
    s.update(np.arange(1, T), L[:-1])                 # t = T never seen
    s.update(np.arange(1, T), L[:-1])
    s.update(np.arange(1, T), L[:-1])
    assert not s.warm
    np.testing.assert_allclose(s.probabilities()[1:], 1 / T)
    s.update(np.array([T, T, T]), np.full(3, L[-1]))
    assert s.warm and s.probabilities()[1] > 0.3    # the largest term, drawn most


def test_p_is_the_root_second_moment_with_a_uniform_share():
    s = warm(LossSecondMomentSampler(T, history=2))
    s.update(np.array([1]), np.array([300.0]))        # the ring now holds 100 and 300 for t = 1
    rms = np.sqrt(np.r_[(100.0 ** 2 + 300.0 ** 2) / 2, L[1:] ** 2])
    expected = 0.999 * rms / rms.sum() + 0.001 / T
    p = s.probabilities()
    assert p[0] == 0 and p.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(p[1:], expected, rtol=1e-12)


def test_the_weighted_estimate_is_unbiased_and_its_variance_falls():
    s = warm(LossSecondMomentSampler(T))
    p = s.probabilities()[1:]
    w = 1 / (T * p)
    assert np.sum(p * w * L) == pytest.approx(L.mean(), rel=1e-12)          # exact: unbiased
    var_importance = np.sum(p * (w * L) ** 2) - L.mean() ** 2
    var_uniform = np.mean(L ** 2) - L.mean() ** 2
    assert var_importance < 1e-2 * var_uniform       # only the uniform share is left
    t, weights = s.draw(np.random.default_rng(0), 200_000)
    estimate = weights * L[t - 1]
    se = estimate.std() / np.sqrt(len(t))
    assert abs(estimate.mean() - L.mean()) < 5 * se
    np.testing.assert_allclose(weights, w[t - 1])


def test_the_history_is_a_ring_and_the_state_round_trips():
    s = warm(LossSecondMomentSampler(T, history=4))
    warm(s, losses=np.ones(T), times=4)               # the first values are all forgotten
    np.testing.assert_allclose(s.probabilities()[1:], 1 / T)
    copy = LossSecondMomentSampler(T, history=4)
    copy.load_state_dict(s.state_dict())
    a = s.draw(np.random.default_rng(1), 50)
    b = copy.draw(np.random.default_rng(1), 50)
    np.testing.assert_array_equal(a[0], b[0])
    with pytest.raises(ValueError, match="does not fit T = 20"):
        LossSecondMomentSampler(T, history=3).load_state_dict(s.state_dict())


def test_bad_inputs_are_refused():
    s = LossSecondMomentSampler(T)
    with pytest.raises(ValueError, match="equal 1-D shapes"):
        s.update(np.array([1, 2]), np.array([1.0]))
    with pytest.raises(ValueError, match="history"):
        LossSecondMomentSampler(T, history=0)
    with pytest.raises(ValueError, match="uniform_share"):
        LossSecondMomentSampler(T, uniform_share=1.5)
