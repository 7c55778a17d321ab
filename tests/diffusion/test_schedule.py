import numpy as np
import pytest

from ddpm_np.diffusion import NoiseSchedule


def test_linear_schedule_endpoints_and_sentinel():
    s = NoiseSchedule.linear()
    assert s.T == 1000 and len(s.betas) == 1001
    assert s.betas[0] == 0 and s.alpha_bars[0] == 1 and s.beta_tildes[0] == 0
    assert s.betas[1] == pytest.approx(1e-4) and s.betas[1000] == pytest.approx(0.02)
    # ᾱ_1000 = ∏(1 − β_t), β_t linear 1e-4 → 0.02: 4.0358e-5 (the figure quoted by Ho et al.'s
    # code and by most tutorials as ≈ 4.04e-5)
    assert s.alpha_bars[1000] == pytest.approx(4.0358e-5, rel=1e-3)
    np.testing.assert_allclose(s.alpha_bars[1:], np.cumprod(1 - np.linspace(1e-4, 0.02, 1000)),
                               rtol=1e-12)


@pytest.mark.parametrize("make", [NoiseSchedule.linear, NoiseSchedule.cosine,
                                  NoiseSchedule.quadratic])
def test_schedule_invariants(make):
    s = make(T=200) if make is NoiseSchedule.cosine else make(T=1000)
    assert np.all(np.diff(s.alpha_bars) < 0), "ᾱ must be strictly decreasing"
    assert s.beta_tildes[1] == 0
    bt, b = s.beta_tildes[2:], s.betas[2:]
    assert np.all(bt > 0) and np.all(bt <= b)
    np.testing.assert_allclose(s.alphas, 1 - s.betas, rtol=0, atol=0)


def test_cosine_matches_its_formula():
    T, s_ = 1000, 0.008
    s = NoiseSchedule.cosine(T, s=s_)
    f = lambda t: np.cos((t / T + s_) / (1 + s_) * np.pi / 2) ** 2
    t = np.arange(T + 1)
    expected = f(t) / f(0)
    unclipped = (1 - expected[1:] / expected[:-1]) < 0.999
    # where β was not clipped at max_beta, ᾱ_t equals the formula exactly
    k = np.argmin(unclipped)  # first clipped index (only the last few steps are)
    np.testing.assert_allclose(s.alpha_bars[:k + 1], expected[:k + 1], rtol=1e-10)
    assert s.betas.max() <= 0.999


def test_short_linear_schedule_warns():
    with pytest.warns(UserWarning, match="not close to N\\(0, I\\)"):
        NoiseSchedule.linear(T=50)


@pytest.mark.parametrize("kwargs,match", [
    (dict(T=0), "T must be an integer in 1..100000"),
    (dict(T=100_001), "T must be an integer in 1..100000"),
    (dict(T=10, beta_1=0.0, beta_T=0.5), "β_1"),
    (dict(T=10, beta_1=0.1, beta_T=1.0), "β_10"),
])
def test_bad_schedules(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NoiseSchedule.linear(**kwargs)


def test_bad_sigma_and_round_trip():
    s = NoiseSchedule.cosine(100)
    with pytest.raises(ValueError, match="unknown sigma"):
        s.sigmas("learned")
    s2 = NoiseSchedule.from_dict(s.to_dict())
    np.testing.assert_array_equal(s2.alpha_bars, s.alpha_bars)


def test_schedules_that_are_not_schedules_are_refused():
    with pytest.raises(ValueError, match="must not decrease with t.*β_2 = 0.01 < β_1 = 0.02"):
        NoiseSchedule([0.02, 0.01, 0.03])
    NoiseSchedule.cosine(1000)                  # clipped at max_beta: flat, not decreasing
    for bad in ({}, {"name": "linear"}, [0.1]):
        with pytest.raises(ValueError, match="needs its 'betas'"):
            NoiseSchedule.from_dict(bad)
