"""DDIM inversion against the exact flow of Gaussian data, and spherical interpolation."""
import numpy as np
import pytest

from ddpm_np.diffusion import NoiseSchedule, ddim_invert, ddim_sample, gaussian_eps_model, slerp

S = NoiseSchedule.linear(1000)
MU, SD = np.array([1.0, -0.5]), 0.5
EPS = gaussian_eps_model(MU, SD, S)


def test_round_trip_returns_the_data_up_to_first_order():
    """DDIM-k(invert-k(x_0)) = x_0 + O(1/k): doubling the steps halves the error, and the noise
    found converges to the exact flow's x_T = α_T μ + √(v_T/v_0)·(x_0 − μ)."""
    x0 = np.random.default_rng(0).normal(MU, SD, (300, 2))
    a, v = np.sqrt(S.alpha_bars), S.alpha_bars * SD ** 2 + 1 - S.alpha_bars
    exact_T = a[-1] * MU + np.sqrt(v[-1] / v[0]) * (x0 - MU)
    errs, noise_errs = [], []
    for k in (50, 100, 200):
        x_T = ddim_invert(EPS, x0, S, k, progress=False)
        back = ddim_sample(EPS, x0.shape, S, None, steps=k, dtype=np.float64, x_T=x_T,
                           progress=False)
        errs.append(np.abs(back - x0).max())
        noise_errs.append(np.abs(x_T - exact_T).max())
    for e in (errs, noise_errs):
        assert all(1.7 < e[i] / e[i + 1] < 2.3 for i in range(2)), e
    assert errs[-1] < 0.06


def test_slerp_keeps_the_norm_and_ends_at_the_ends(rng):
    z0, z1 = rng.standard_normal((3, 4000)), rng.standard_normal((3, 4000))
    np.testing.assert_allclose(slerp(z0, z1, 0.0), z0, atol=1e-12)
    np.testing.assert_allclose(slerp(z0, z1, 1.0), z1, atol=1e-12)
    mid = slerp(z0, z1, 0.5)
    # independent noises are nearly orthogonal: slerp keeps their norm where lerp shrinks it
    ratio = np.linalg.norm(mid, axis=1) / np.linalg.norm(z0, axis=1)
    assert np.all(np.abs(ratio - 1) < 0.05)
    assert np.all(np.linalg.norm(0.5 * (z0 + z1), axis=1) / np.linalg.norm(z0, axis=1) < 0.75)
    np.testing.assert_allclose(slerp(z0, z0, 0.3), z0, atol=1e-12)      # parallel: no 0/0
    with pytest.raises(ValueError, match="equal shapes"):
        slerp(z0, z1[:2], 0.5)
