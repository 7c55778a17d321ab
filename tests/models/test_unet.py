import numpy as np
import pytest

from ddpm_np.models import UNet
from ddpm_np.nn.gradcheck import check_module, random_direction_check


def tiny_unet(rng, **kw):
    net = UNet(in_channels=1, base_channels=4, channel_mults=(1, 2), image_size=8, emb_dim=4,
               groups=2, rng=rng, dtype=np.float64, **kw)
    for m in net.modules():   # zero-initialised layers would hide the gradients behind them
        if hasattr(m, "W") and not m.W.data.any():
            m.W.data[:] = 0.3 * rng.standard_normal(m.W.shape)
    return net


@pytest.mark.parametrize("attention,num_classes,blocks", [((4,), 3, 1), ((8,), None, 2)])
def test_tiny_unet_elementwise_gradcheck(rng, attention, num_classes, blocks):
    net = tiny_unet(rng, attention_resolutions=attention, num_classes=num_classes,
                    num_res_blocks=blocks)
    x = rng.standard_normal((2, 1, 8, 8))
    t = np.array([3, 700])
    inputs = (x, t) if num_classes is None else (x, t, np.array([1, num_classes]))
    errors = check_module(net, inputs, rng, max_per_param=12)
    assert len(errors) == 1 + len(net.parameters())
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_default_unet_random_direction_check(rng):
    net = UNet(num_classes=10, rng=rng, dtype=np.float64)
    for m in net.modules():
        if hasattr(m, "W") and not m.W.data.any():
            m.W.data[:] = 0.05 * rng.standard_normal(m.W.shape)
    x = rng.standard_normal((2, 1, 28, 28))
    errors = random_direction_check(net, (x, np.array([5, 900]), np.array([3, 10])), rng)
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_default_unet_shapes_size_and_dtype(rng):
    net = UNet(rng=rng)
    # the reference layout of the issue: about 1.1 M parameters
    assert 1_000_000 < net.num_parameters() < 1_250_000
    x = rng.standard_normal((3, 1, 28, 28)).astype(np.float32)
    out = net(x, np.array([1, 2, 3]))
    assert out.shape == x.shape and out.dtype == np.float32
    dx = net.backward(np.ones_like(out))
    assert dx.shape == x.shape and dx.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in net.parameters())
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        net(x[:, :, :14, :14].copy(), np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="unconditional"):
        net(x, np.array([1, 2, 3]), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="divisible"):
        UNet(image_size=30, rng=rng)


def test_the_two_tiers_give_the_same_unet(rng):
    """The tier is a speed choice: same parameters, same ε_θ, same gradients (float64)."""
    nets = [tiny_unet(np.random.default_rng(7), attention_resolutions=(4,), num_classes=3,
                      tier=tier) for tier in ("reference", "fast")]
    assert nets[1].config() == nets[0].config()
    assert type(nets[0].conv_in) is not type(nets[1].conv_in)
    x = rng.standard_normal((3, 1, 8, 8))
    t, y = np.array([1, 400, 999]), np.array([0, 2, 3])
    d = rng.standard_normal(x.shape)
    outs = []
    for net in nets:
        net.zero_grad()
        eps = net(x, t, y)
        assert eps.shape == x.shape and eps.flags.c_contiguous
        outs.append((eps, net.backward(d)))
    np.testing.assert_allclose(outs[1][0], outs[0][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(outs[1][1], outs[0][1], rtol=1e-10, atol=1e-12)
    for (name, p), q in zip(nets[0].named_parameters(), nets[1].parameters()):
        np.testing.assert_allclose(q.grad, p.grad, rtol=1e-9, atol=1e-12, err_msg=name)


def test_training_a_tiny_unet_on_both_tiers_gives_the_same_weights(rng):
    """A few steps of Algorithm 1 in float32 with Adam: the tiers agree within float32 rounding."""
    from ddpm_np.diffusion import NoiseSchedule, sample_training_batch
    from ddpm_np.nn import mse_loss
    from ddpm_np.nn.optim import Adam
    schedule = NoiseSchedule.linear(1000)
    x0 = rng.uniform(-1, 1, (8, 1, 8, 8)).astype(np.float32)
    weights = []
    for tier in ("reference", "fast"):
        net = UNet(base_channels=8, channel_mults=(1, 2), image_size=8, emb_dim=8, groups=4,
                   attention_resolutions=(4,), num_classes=3, rng=np.random.default_rng(0),
                   tier=tier)
        start = net.state_dict()
        opt = Adam(net.parameters(), lr=1e-3)
        data_rng = np.random.default_rng(1)
        for _ in range(5):
            t, eps, xt = sample_training_batch(x0, schedule, data_rng)
            _, d = mse_loss(net(xt, t, np.arange(8) % 4), eps)
            net.zero_grad()
            net.backward(d)
            opt.step()
        weights.append(net.state_dict())
    assert not np.array_equal(weights[0]["conv_out.W"], start["conv_out.W"])   # it trained
    for name, w in weights[0].items():
        # Adam's first steps move every weight by about lr, whatever its gradient's size: compare
        # on that scale (5 steps of 1e-3; float32 rounding is about 1e-7 of that)
        np.testing.assert_allclose(weights[1][name], w, rtol=0, atol=2e-5, err_msg=name)


def test_unet_results_do_not_depend_on_the_thread_count(rng, monkeypatch):
    """Bit for bit, ε_θ and every gradient, with 2 or 3 threads (training resumes identically
    on another machine)."""
    x = rng.standard_normal((8, 1, 28, 28)).astype(np.float32)
    t, y = rng.integers(1, 1001, 8), rng.integers(0, 10, 8)
    d = rng.standard_normal(x.shape).astype(np.float32)
    results = []
    for workers in ("2", "3"):
        monkeypatch.setenv("DDPM_NP_THREADS", workers)
        net = UNet(num_classes=10, rng=np.random.default_rng(3))
        init = np.random.default_rng(5)            # the same weights for the zero-init layers
        for m in net.modules():
            if hasattr(m, "W") and not m.W.data.any():
                m.W.data[:] = 0.05 * init.standard_normal(m.W.shape)
        eps = net(x, t, y)
        results.append([eps, net.backward(d)] + [p.grad for p in net.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("tier", ["fast", "reference"])
@pytest.mark.parametrize("t,error,fragment", [
    (np.array([0, 1]), ValueError, "time steps must be ≥ 1"),
    (np.array([-5, 1]), ValueError, "time steps must be ≥ 1"),
    (np.array([1.5, 2.0]), TypeError, "time steps must be integers"),
    (np.array([np.nan, 1.0]), TypeError, "time steps must be integers"),
    (np.array([3]), ValueError, r"time steps must have shape \(2,\)"),
])
def test_the_unet_checks_t_like_the_schedule(tier, t, error, fragment):
    net = UNet(base_channels=8, channel_mults=(1, 2), attention_resolutions=(), image_size=8,
               groups=2, num_classes=3, rng=np.random.default_rng(0), tier=tier)
    with pytest.raises(error, match=fragment):
        net(np.zeros((2, 1, 8, 8), np.float32), t, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"no images \(N = 0\)"):
        net(np.zeros((0, 1, 8, 8), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64))
