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


# -- the samplers' entry: one clear error naming the argument, before any model call ------------
def _eps(calls):
    return lambda xt, t: calls.append(1) or np.zeros_like(xt)


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpm++2m"])
@pytest.mark.parametrize("bad,error,fragment", [
    (dict(rng=None), TypeError, "rng must be a numpy.random.Generator, got NoneType"),
    (dict(schedule="linear"), TypeError, "schedule must be a NoiseSchedule, got str"),
    (dict(eps_model=3.0), TypeError, "eps_model must be callable"),
    (dict(shape=(0, 2)), ValueError, "shape must be a tuple of positive sizes"),
])
def test_a_sampler_refuses_a_bad_argument_before_any_work(sampler, bad, error, fragment):
    from ddpm_np.diffusion import ddpm_sample, dpm_solver_sample
    calls = []
    args = dict(eps_model=_eps(calls), shape=(2, 2), schedule=NoiseSchedule.linear(20, beta_T=0.5),
                rng=np.random.default_rng(0)) | bad
    run = {"ddpm": ddpm_sample, "ddim": ddim_sample, "dpm++2m": dpm_solver_sample}[sampler]
    with pytest.raises(error, match=fragment):
        run(args["eps_model"], args["shape"], args["schedule"], args["rng"], progress=False)
    assert calls == []


@pytest.mark.parametrize("out", [lambda xt: 0.0, lambda xt: np.zeros((1, 2)),
                                 lambda xt: np.zeros(xt.shape[:1])])
def test_dpm_solver_refuses_an_eps_model_of_the_wrong_shape(out):
    from ddpm_np.diffusion import dpm_solver_sample
    with pytest.raises(ValueError, match=r"must return an array of x_t's shape \(3, 2\)"):
        dpm_solver_sample(lambda xt, t: out(xt), (3, 2), NoiseSchedule.linear(20, beta_T=0.5),
                          np.random.default_rng(0), steps=3, progress=False)


def test_ddim_without_a_generator_is_fine_when_nothing_is_random():
    x_T = np.ones((2, 2))
    got = ddim_sample(lambda xt, t: np.zeros_like(xt), (2, 2), NoiseSchedule.linear(20, beta_T=0.5), None,
                      steps=4, x_T=x_T, progress=False)
    assert got.shape == (2, 2)


def test_one_deterministic_step_starts_from_pure_noise_not_from_t_1():
    """With the analytic ε of N(0, I) data the one step from x_T gives x̂_0 = √ᾱ_T·x_T, near
    zero; a grid of t = 1 alone would have returned the noise itself."""
    from ddpm_np.diffusion import ddim_timesteps, gaussian_eps_model
    S20 = NoiseSchedule.linear(20, beta_T=0.5)
    assert ddim_timesteps(20, 1).tolist() == [20] and ddim_timesteps(20, 2).tolist() == [20, 1]
    x_T = np.random.default_rng(0).standard_normal((500, 2))
    x0 = ddim_sample(gaussian_eps_model(np.zeros(2), 1.0, S20), (500, 2), S20, None,
                     steps=1, x_T=x_T, progress=False, dtype=np.float64)
    np.testing.assert_allclose(x0, np.sqrt(S20.alpha_bars[20]) * x_T, rtol=1e-6)


def test_guidance_needs_a_class_conditional_model():
    from ddpm_np.diffusion import guided_eps_model
    with pytest.raises(TypeError, match="model must be a class-conditional network"):
        guided_eps_model(lambda xt, t: xt, None, 0.5)


def test_repaint_refuses_a_mask_of_the_wrong_shape():
    from ddpm_np.diffusion import repaint_sample
    with pytest.raises(ValueError, match=r"mask of shape \(3,\) does not broadcast to x0's "
                                         r"shape \(2, 2\)"):
        repaint_sample(lambda xt, t: np.zeros_like(xt), np.zeros((2, 2)), np.ones(3),
                       NoiseSchedule.linear(20, beta_T=0.5), np.random.default_rng(0), steps=4,
                       progress=False)
