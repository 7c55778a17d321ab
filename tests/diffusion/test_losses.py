import numpy as np
import pytest

from ddpm_np.diffusion import (NoiseSchedule, diffusion_loss, loss_simple, loss_weights,
                               sample_training_batch, q_sample)
from ddpm_np.nn.gradcheck import numerical_gradient, rel_error

SCHED = NoiseSchedule.linear()


def test_training_batch_is_algorithm_1(rng):
    x0 = rng.standard_normal((1000, 2)).astype(np.float32)
    t, eps, xt = sample_training_batch(x0, SCHED, np.random.default_rng(0))
    assert t.min() >= 1 and t.max() <= SCHED.T and t.dtype == np.int64
    assert eps.dtype == np.float32 and xt.dtype == np.float32
    np.testing.assert_allclose(xt, q_sample(x0, t, eps, SCHED), rtol=1e-6)
    t2, eps2, _ = sample_training_batch(x0, SCHED, np.random.default_rng(0))
    np.testing.assert_array_equal(t, t2)
    np.testing.assert_array_equal(eps, eps2)


@pytest.mark.parametrize("param", ["eps", "x0", "v"])
@pytest.mark.parametrize("weighting", ["none", "min_snr"])
def test_loss_gradients_by_finite_differences(rng, param, weighting):
    x0, eps, out = rng.standard_normal((3, 5, 2))
    t = rng.integers(1, SCHED.T + 1, size=5)
    loss, dout = diffusion_loss(out, x0, eps, t, SCHED, param, weighting)
    num = numerical_gradient(lambda: diffusion_loss(out, x0, eps, t, SCHED, param, weighting)[0],
                             out)
    assert rel_error(dout, num) < 1e-6
    assert np.isfinite(loss)


def test_loss_simple_is_mse_of_eps(rng):
    a, b = rng.standard_normal((2, 4, 3))
    loss, d = loss_simple(a, b)
    assert loss == pytest.approx(np.mean((a - b) ** 2))
    np.testing.assert_allclose(d, 2 * (a - b) / a.size)


def test_min_snr_weights_closed_form():
    t = np.array([1, 500, 1000])
    snr = SCHED.alpha_bars[t] / (1 - SCHED.alpha_bars[t])
    np.testing.assert_allclose(loss_weights(t, SCHED, "eps", "min_snr", 5.0),
                               np.minimum(snr, 5) / snr)
    np.testing.assert_allclose(loss_weights(t, SCHED, "v", "min_snr", 5.0),
                               np.minimum(snr, 5) / (snr + 1))


def test_loss_bad_options(rng):
    x = rng.standard_normal((2, 2))
    with pytest.raises(ValueError, match="parameterization"):
        diffusion_loss(x, x, x, np.array([1, 2]), SCHED, "score")
    with pytest.raises(ValueError, match="weighting"):
        diffusion_loss(x, x, x, np.array([1, 2]), SCHED, "eps", "p2")
    with pytest.raises(ValueError, match="shape"):
        loss_simple(x, x[:1])
