"""The diffusion functions refuse what is not an array of floats, and η that is not a finite
number ≥ 0, with a message that says what to do."""
import numpy as np
import pytest

from ddpm_np.diffusion import (NoiseSchedule, ddim_sample, ddim_step, ddpm_step, loss_simple,
                               nll_bits_per_dim, q_posterior, q_sample, sample_training_batch,
                               x0_from_eps)

S = NoiseSchedule.linear(1000)
X = [[0.1, 0.2]]


@pytest.mark.parametrize("call", [
    lambda: q_sample(X, 5, np.zeros((1, 2)), S),
    lambda: q_posterior(np.zeros((1, 2)), X, 5, S),
    lambda: x0_from_eps(X, 5, np.zeros((1, 2)), S),
    lambda: ddpm_step(X, np.zeros((1, 2)), 5, S, z=np.zeros((1, 2))),
    lambda: ddim_step(np.zeros((1, 2)), X, 5, 4, S),
    lambda: loss_simple(X, np.zeros((1, 2))),
    lambda: sample_training_batch(X, S, np.random.default_rng(0)),
    lambda: nll_bits_per_dim(lambda x, t: np.zeros_like(x), X, S, np.random.default_rng(0)),
], ids=["q_sample", "q_posterior", "x0_from_eps", "ddpm_step", "ddim_step", "loss_simple",
        "sample_training_batch", "nll_bits_per_dim"])
def test_lists_are_refused_with_the_fix(call):
    with pytest.raises(TypeError, match=r"must be a NumPy array, got list; use np.asarray"):
        call()


def test_integer_arrays_are_refused():
    with pytest.raises(TypeError, match="floating-point numbers, got dtype int64"):
        q_sample(np.zeros((1, 2), np.int64), 5, np.zeros((1, 2), np.int64), S)


@pytest.mark.parametrize("eta", [float("nan"), float("inf"), -0.1])
def test_eta_must_be_finite_and_not_negative(eta):
    x = np.zeros((2, 2))
    with pytest.raises(ValueError, match="eta must be a finite number ≥ 0"):
        ddim_step(x, x, 5, 4, S, eta=eta)
    calls = []
    with pytest.raises(ValueError, match="eta must be a finite number ≥ 0"):
        ddim_sample(lambda xt, t: calls.append(1) or np.zeros_like(xt), (2, 2), S,
                    np.random.default_rng(0), steps=5, eta=eta, progress=False)
    assert calls == []                           # refused before the first model call
