"""Float64 central-difference checks of every layer's input and parameter gradients."""
import numpy as np
import pytest

from ddpm_np.nn import (GELU, AvgPool2x, GroupNorm, Linear, ReLU, SelfAttention2d, Sequential,
                        SiLU, Upsample2x, Conv2d, concat_channels, split_channels)
from ddpm_np.nn.gradcheck import check_module, random_direction_check

from .naive import nchw, nhwc


def assert_small(errors, tol=1e-6):
    for name, err in errors.items():
        assert err < tol, f"{name}: relative error {err:.2e} ≥ {tol}"


@pytest.mark.parametrize("N", [1, 3])
@pytest.mark.parametrize("shape", [(5,), (2, 5)])
def test_linear_gradcheck(rng, N, shape):
    layer = Linear(shape[-1], 4, rng=rng, dtype=np.float64)
    errors = check_module(layer, rng.standard_normal((N,) + shape), rng)
    assert set(errors) == {"input0", "W", "b"}
    assert_small(errors)


@pytest.mark.parametrize("channels_last", [False, True], ids=["NCHW", "NHWC"])
@pytest.mark.parametrize("N", [1, 3])
@pytest.mark.parametrize("C,G", [(4, 2), (4, 1), (1, 1), (4, 4)])
def test_groupnorm_gradcheck(rng, N, C, G, channels_last):
    layer = GroupNorm(G, C, dtype=np.float64, channels_last=channels_last)
    layer.scale.data[:] = rng.standard_normal(C)
    layer.shift.data[:] = rng.standard_normal(C)
    x = rng.standard_normal((N, 5, 7, C) if channels_last else (N, C, 5, 7)) * 3 + 1
    assert_small(check_module(layer, x, rng))


@pytest.mark.parametrize("shape", [(3, 8, 5, 7), (2, 8, 28, 28), (2, 8, 1, 1)])
def test_channels_last_groupnorm_is_the_nchw_one_transposed(rng, shape):
    """Same statistics, same gradients; 28×28 takes the long-run views, 1×1 the degenerate ones."""
    a = GroupNorm(4, 8, dtype=np.float64)
    b = GroupNorm(4, 8, dtype=np.float64, channels_last=True)
    for layer in (a, b):
        layer.scale.data[:] = np.linspace(0.5, 2, 8)
        layer.shift.data[:] = np.linspace(-1, 1, 8)
    x = rng.standard_normal(shape) * 2 + 1
    dy = rng.standard_normal(shape)
    np.testing.assert_allclose(nchw(b(nhwc(x))), a(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(nchw(b.backward(nhwc(dy))), a.backward(dy), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.scale.grad, a.scale.grad, rtol=1e-10)
    np.testing.assert_allclose(b.shift.grad, a.shift.grad, rtol=1e-10)


def test_groupnorm_float32_backward_agrees_with_float64(rng):
    # the backward works from per-channel sums (Σdy·x − μ·Σdy): check float32 does not lose the
    # result to cancellation on data whose mean is large against its spread
    x = (rng.standard_normal((4, 8, 14, 14)) * 0.5 + 4).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    grads = {}
    for dtype in (np.float32, np.float64):
        layer = GroupNorm(2, 8, dtype=dtype)
        layer.scale.data[:] = np.linspace(0.5, 2, 8)
        layer(x.astype(dtype))
        grads[dtype] = (layer.backward(dy.astype(dtype)), layer.scale.grad, layer.shift.grad)
    for name, a, e in zip(("dx", "dscale", "dshift"), grads[np.float32], grads[np.float64]):
        assert a.dtype == np.float32
        err = np.abs(a - e).max() / np.abs(e).max()
        assert err < 1e-4, f"{name}: float32 relative error {err:.1e}"


def test_groupnorm_normalises(rng):
    x = rng.standard_normal((2, 4, 5, 7)) * 5 + 3
    y = GroupNorm(2, 4, dtype=np.float64)(x)
    g = y.reshape(2, 2, -1)
    np.testing.assert_allclose(g.mean(axis=2), 0, atol=1e-12)
    np.testing.assert_allclose(g.var(axis=2), 1, rtol=1e-3)  # up to norm_eps


@pytest.mark.parametrize("layer_cls", [SiLU, ReLU, GELU])
@pytest.mark.parametrize("N", [1, 3])
def test_activation_gradcheck(rng, layer_cls, N):
    x = rng.standard_normal((N, 4, 5, 7)) * 3
    x[np.abs(x) < 1e-3] = 0.5  # keep ReLU's kink away from the finite-difference stencil
    assert_small(check_module(layer_cls(), x, rng))


def test_activation_values():
    x = np.array([-2.0, 0.0, 1.5])
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(SiLU()(x), x * s, rtol=1e-15)
    np.testing.assert_array_equal(ReLU()(x), [0, 0, 1.5])
    gelu = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(GELU()(x), gelu, rtol=1e-15)
    assert SiLU()(np.array([-1e4, 1e4], np.float32)).dtype == np.float32  # no overflow warning


@pytest.mark.parametrize("N", [1, 3])
def test_resample_gradcheck_and_values(rng, N):
    x = rng.standard_normal((N, 4, 5, 7))
    assert_small(check_module(Upsample2x(), x, rng))
    up = Upsample2x()(x)
    assert up.shape == (N, 4, 10, 14)
    np.testing.assert_array_equal(up[:, :, 1::2, ::2], x)
    x2 = rng.standard_normal((N, 4, 6, 8))
    assert_small(check_module(AvgPool2x(), x2, rng))
    np.testing.assert_allclose(AvgPool2x()(x2)[:, :, 1, 2], x2[:, :, 2:4, 4:6].mean(axis=(2, 3)))
    with pytest.raises(ValueError, match="even"):
        AvgPool2x()(x)


@pytest.mark.parametrize("channels_last", [False, True], ids=["NCHW", "NHWC"])
@pytest.mark.parametrize("N", [1, 3])
def test_attention_gradcheck(rng, N, channels_last):
    layer = SelfAttention2d(4, num_groups=2, rng=rng, dtype=np.float64,
                            channels_last=channels_last)
    x = rng.standard_normal((N, 3, 5, 4) if channels_last else (N, 4, 3, 5))
    assert_small(check_module(layer, x, rng))


def test_channels_last_attention_is_the_nchw_one_transposed(rng):
    a = SelfAttention2d(4, num_groups=2, rng=rng, dtype=np.float64)
    b = SelfAttention2d(4, num_groups=2, rng=rng, dtype=np.float64, channels_last=True)
    b.load_state_dict(a.state_dict())
    x, dy = rng.standard_normal((2, 4, 3, 5)), rng.standard_normal((2, 4, 3, 5))
    np.testing.assert_allclose(nchw(b(nhwc(x))), a(x), rtol=1e-12)
    np.testing.assert_allclose(nchw(b.backward(nhwc(dy))), a.backward(dy), rtol=1e-10)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(q.grad, p.grad, rtol=1e-10, atol=1e-12, err_msg=name)
    with pytest.raises(ValueError, match=r"\(N, H, W, 4\)"):
        b(x[:, :3])
    with pytest.raises(ValueError, match="dout has shape"):
        b(nhwc(x))
        b.backward(dy)


@pytest.mark.parametrize("channels_last", [False, True], ids=["NCHW", "NHWC"])
def test_concat_and_split_channels(rng, channels_last):
    a, b = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 2, 4, 5))
    if channels_last:
        a, b = nhwc(a), nhwc(b)
    ab = concat_channels(a, b, channels_last)
    assert ab.shape == ((2, 4, 5, 5) if channels_last else (2, 5, 4, 5))
    da, db = split_channels(ab, 3, channels_last)
    np.testing.assert_array_equal(da, a)
    np.testing.assert_array_equal(db, b)
    with pytest.raises(ValueError, match="differ outside"):
        concat_channels(a, b[:1], channels_last)
    with pytest.raises(TypeError, match="dtypes"):
        concat_channels(a, b.astype(np.float32), channels_last)
    with pytest.raises(ValueError, match="cannot split 5 channels at 5"):
        split_channels(ab, 5, channels_last)


def test_attention_zero_init_is_identity(rng):
    layer = SelfAttention2d(4, num_groups=2, rng=rng, dtype=np.float64, zero_init=True)
    x = rng.standard_normal((2, 4, 3, 3))
    np.testing.assert_array_equal(layer(x), x)


def test_attention_matches_loop(rng):
    """Each output position is x + proj(Σ_j softmax_j(q·k_j/√C)·v_j), computed position by position."""
    C = 4
    layer = SelfAttention2d(C, num_groups=2, rng=rng, dtype=np.float64)
    x = rng.standard_normal((1, C, 2, 3))
    h = layer.norm(x)[0].reshape(C, -1).T  # (L, C)
    W, b = layer.qkv.W.data, layer.qkv.b.data
    out = np.empty((C, 6))
    for i in range(6):
        q = h[i] @ W[:, :C] + b[:C]
        logits = np.array([q @ (h[j] @ W[:, C:2 * C] + b[C:2 * C]) / 2.0 for j in range(6)])
        w = np.exp(logits - logits.max())
        w /= w.sum()
        o = sum(w[j] * (h[j] @ W[:, 2 * C:] + b[2 * C:]) for j in range(6))
        out[:, i] = o @ layer.proj.W.data + layer.proj.b.data
    np.testing.assert_allclose(layer(x)[0], x[0] + out.reshape(C, 2, 3), rtol=1e-12)


def test_sequential_gradcheck_and_random_direction(rng):
    net = Sequential(Conv2d(2, 4, 3, padding=1, rng=rng, dtype=np.float64), GroupNorm(2, 4,
                     dtype=np.float64), SiLU(), Conv2d(4, 3, 3, stride=2, padding=1, rng=rng,
                                                       dtype=np.float64))
    x = rng.standard_normal((3, 2, 5, 7))
    assert_small(check_module(net, x, rng))
    errors = random_direction_check(net, x, rng)
    assert "all_params" in errors
    assert_small(errors)


def test_groupnorm_bad_input(rng):
    with pytest.raises(ValueError, match="divisible"):
        GroupNorm(3, 4)
    with pytest.raises(ValueError, match=r"\(N, 4"):
        GroupNorm(2, 4)(np.zeros((1, 3, 2, 2), np.float32))
    with pytest.raises(ValueError, match=r"\(N, \.\.\., 4\)"):
        GroupNorm(2, 4, channels_last=True)(np.zeros((1, 4, 2, 2), np.float32))
    with pytest.raises(ValueError, match="positive"):
        GroupNorm(0, 4)
    with pytest.raises(ValueError, match="in_features"):
        Linear(0, 3, rng=rng)
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        Linear(3, 2, rng=rng)(np.zeros((2, 4), np.float32))
    with pytest.raises(TypeError, match="Generator"):
        Linear(3, 2, rng=0)


@pytest.mark.parametrize("channels_last", [False, True], ids=["NCHW", "NHWC"])
def test_per_sample_layers_take_an_empty_batch(channels_last):
    x = np.zeros((0, 2, 3, 4) if channels_last else (0, 4, 2, 3), np.float32)
    for layer in (GroupNorm(2, 4, channels_last=channels_last), SiLU()):
        y = layer(x)
        assert y.shape == x.shape and y.dtype == np.float32
        assert layer.backward(y).shape == x.shape


def test_channel_sums_in_both_layouts(rng):
    from ddpm_np.nn import channel_sums
    x = rng.standard_normal((3, 4, 5, 7))
    want = x.sum(axis=(2, 3))
    np.testing.assert_allclose(channel_sums(x), want, rtol=1e-12)
    np.testing.assert_allclose(channel_sums(nhwc(x), channels_last=True), want, rtol=1e-12)
    assert channel_sums(nhwc(x).astype(np.float32), True).dtype == np.float32
