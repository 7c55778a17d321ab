import numpy as np
import pytest

from ddpm_np.metrics import energy_distance, energy_noise_floor, mixture_weights, moment_errors


def test_energy_distance_closed_form_for_two_points():
    # X = {0}, Y = {d}: 2·d − 0 − 0 → √(2d)
    assert energy_distance(np.zeros((1, 2)), np.array([[3.0, 4.0]])) == pytest.approx(np.sqrt(10))
    x = np.random.default_rng(0).standard_normal((50, 2))
    assert energy_distance(x, x) == 0.0


def test_energy_distance_separates_distributions_beyond_floor():
    rng = np.random.default_rng(1)
    f = lambda n, r: r.standard_normal((n, 2))
    floor, sd = energy_noise_floor(f, 500, rng)
    shifted = energy_distance(f(500, rng) + 0.5, f(500, rng))
    assert shifted > floor + 5 * sd
    with pytest.raises(ValueError, match=r"\(n, D\)"):
        energy_distance(np.zeros(3), np.zeros((3, 1)))


def test_moments_and_weights():
    x = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    m = moment_errors(x, [1.0, 1.0], np.eye(2) * 4 / 3)
    assert m["mean_error"] == pytest.approx(0) and m["cov_rel_error"] == pytest.approx(0, abs=1e-12)
    np.testing.assert_allclose(mixture_weights(x, [[0, 0], [2, 2.5]]), [0.75, 0.25])


def test_frechet_distance_closed_forms():
    from ddpm_np.metrics import frechet_distance
    rng = np.random.default_rng(3)
    a = rng.standard_normal((5000, 1))
    b = 2.0 + 3.0 * a                      # exactly N-affine: FD = (μa−μb)² + (σa−σb)²
    sa, sb = a.std(ddof=1), b.std(ddof=1)
    assert frechet_distance(a, b) == pytest.approx((a.mean() - b.mean()) ** 2 + (sa - sb) ** 2,
                                                   rel=1e-9)
    x = rng.standard_normal((50, 3)) @ rng.standard_normal((3, 3))
    assert frechet_distance(x, x) == pytest.approx(0, abs=1e-9)
    few = rng.standard_normal((10, 40))          # singular covariances: finite, no warning
    assert np.isfinite(frechet_distance(few, rng.standard_normal((12, 40))))
