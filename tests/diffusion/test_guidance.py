"""Classifier-free guidance, ε̃ = (1 + w)·ε(x_t, y) − w·ε(x_t, ∅), against its equation."""
import numpy as np
import pytest

from ddpm_np.diffusion import guided_eps_model


class Recorder:
    """A stand-in conditional ε-network: ε(x, t, y) = x·(y + 1) + t, and the batches it saw."""
    num_classes = 3

    def __init__(self):
        self.calls = []

    def __call__(self, xt, t, y):
        self.calls.append(len(xt))
        return xt * (np.asarray(y)[:, None] + 1.0) + t[:, None]


def test_guided_eps_is_the_equation_in_one_pass(rng):
    model = Recorder()
    x, t, y = rng.standard_normal((4, 2)), np.array([1, 5, 9, 2]), np.array([0, 1, 2, 1])
    w = 1.5
    got = guided_eps_model(model, y, w)(x, t)
    cond = x * (y[:, None] + 1.0) + t[:, None]
    uncond = x * (3 + 1.0) + t[:, None]                       # label 3 = "no label"
    np.testing.assert_allclose(got, (1 + w) * cond - w * uncond, rtol=1e-14)
    assert model.calls == [8]                                 # both halves in one batch of 2N


def test_no_guidance_and_unconditional_take_one_plain_pass(rng):
    model = Recorder()
    x, t, y = rng.standard_normal((4, 2)), np.arange(1, 5), np.array([0, 1, 2, 1])
    np.testing.assert_allclose(guided_eps_model(model, y, 0.0)(x, t),
                               x * (y[:, None] + 1.0) + t[:, None])
    np.testing.assert_allclose(guided_eps_model(model, None, 2.0)(x, t), x * 4.0 + t[:, None])
    assert model.calls == [4, 4]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.5, "1"])
def test_bad_guidance_is_refused(bad):
    with pytest.raises(ValueError, match="guidance must be a finite number ≥ 0"):
        guided_eps_model(Recorder(), np.array([0]), bad)


@pytest.mark.parametrize("parameterization", ["x0", "v"])
def test_an_x0_or_v_network_is_guided_as_its_eps_network(rng, parameterization):
    """A network predicting x_0 or v, seen through EpsNetwork, guides and samples as the
    ε-network it is equivalent to: the same labels, one pass, the same ε̃."""
    from ddpm_np.diffusion import NoiseSchedule, as_eps_model, v_from_eps_x0, x0_from_eps
    from ddpm_np.diffusion.param import EpsNetwork
    schedule = NoiseSchedule.cosine(50)
    eps_net = Recorder()

    class Other:
        num_classes = 3
        calls = []

        def __call__(self, xt, t, y):
            self.calls.append(len(xt))
            eps = eps_net(xt, t, y)
            x0 = x0_from_eps(xt, t, eps, schedule)
            return x0 if parameterization == "x0" else v_from_eps_x0(eps, x0, t, schedule)

    other = Other()
    net = as_eps_model(other, schedule, parameterization)
    assert isinstance(net, EpsNetwork) and net.num_classes == 3
    assert as_eps_model(eps_net, schedule, "eps") is eps_net
    x, t, y = rng.standard_normal((4, 2)), np.array([1, 5, 49, 20]), np.array([0, 1, 2, 1])
    np.testing.assert_allclose(guided_eps_model(net, y, 1.5)(x, t),
                               guided_eps_model(eps_net, y, 1.5)(x, t), rtol=1e-9, atol=1e-9)
    assert other.calls == [8]
