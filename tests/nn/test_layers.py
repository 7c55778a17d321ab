"""Float64 central-difference checks of every layer's input and parameter gradients, on both
tiers (the `L` fixture), and the reference layers' values against their definitions."""
import numpy as np
import pytest

from ddpm_np.nn import (GELU, AvgPool2x, GroupNorm, Linear, ReLU, SelfAttention2d, SiLU,
                        Upsample2x, concat_channels, groupnorm_backward, groupnorm_forward,
                        split_channels)
from ddpm_np.nn.gradcheck import check_module, random_direction_check

from .layouts import channels_last


def assert_small(errors, tol=1e-6):
    for name, err in errors.items():
        assert err < tol, f"{name}: relative error {err:.2e} ≥ {tol}"


@pytest.mark.parametrize("N", [1, 3])
@pytest.mark.parametrize("shape", [(5,), (2, 5), (700, 3)])
def test_linear_gradcheck(rng, L, N, shape):
    """(3, 700, 3): 2,100 rows, which the fast tier cuts into chunks."""
    layer = L.Linear(shape[-1], 4, rng=rng, dtype=np.float64)
    errors = check_module(layer, rng.standard_normal((N,) + shape), rng, max_per_param=40)
    assert set(errors) == {"input0", "W", "b"}
    assert_small(errors)


@pytest.mark.parametrize("N", [1, 3])
@pytest.mark.parametrize("C,G", [(4, 2), (4, 1), (1, 1), (4, 4)])
def test_groupnorm_gradcheck(rng, L, N, C, G):
    layer = L.GroupNorm(G, C, dtype=np.float64)
    layer.scale.data[:] = rng.standard_normal(C)
    layer.shift.data[:] = rng.standard_normal(C)
    assert_small(check_module(layer, rng.standard_normal((N, C, 5, 7)) * 3 + 1, rng))


@pytest.mark.parametrize("N", [1, 3])
def test_groupnorm_silu_gradcheck_and_composition(rng, L, N):
    layer = L.GroupNormSiLU(2, 4, dtype=np.float64)
    layer.scale.data[:] = rng.standard_normal(4)
    layer.shift.data[:] = rng.standard_normal(4)
    x = rng.standard_normal((N, 4, 5, 7)) * 3 + 1
    assert_small(check_module(layer, x, rng))
    y, _ = groupnorm_forward(x, layer.scale.data, layer.shift.data, 2)
    np.testing.assert_allclose(layer(x), y / (1 + np.exp(-y)), rtol=1e-12, atol=1e-14)


def test_groupnorm_backward_against_the_full_jacobian(rng):
    """The textbook formula against ∂x̂_i/∂x_j = (δ_ij − 1/m − x̂_i·x̂_j/m)/σ summed by hand."""
    x = rng.standard_normal((1, 2, 3, 2))                      # one group of m = 12 numbers
    scale, shift = np.array([1.5, -0.5]), np.zeros(2)
    y, cache = groupnorm_forward(x, scale, shift, 1, norm_eps=1e-12)
    dy = rng.standard_normal(y.shape)
    dx, _, _ = groupnorm_backward(dy, cache)
    xv = x.ravel()
    m, sigma = xv.size, xv.std()
    x_hat = (xv - xv.mean()) / sigma
    J = (np.eye(m) - 1 / m - np.outer(x_hat, x_hat) / m) / sigma       # J[i, j] = ∂x̂_i/∂x_j
    g = (dy * scale[None, :, None, None]).ravel()
    np.testing.assert_allclose(dx.ravel(), g @ J, rtol=1e-8)


def test_groupnorm_float32_backward_agrees_with_float64(rng, L):
    # the backward works from per-channel sums (Σdy·x − μ·Σdy): check float32 does not lose the
    # result to cancellation on data whose mean is large against its spread
    x = (rng.standard_normal((4, 8, 14, 14)) * 0.5 + 4).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    grads = {}
    for dtype in (np.float32, np.float64):
        layer = L.GroupNorm(2, 8, dtype=dtype)
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


@pytest.mark.parametrize("name", ["SiLU", "ReLU", "GELU"])
@pytest.mark.parametrize("N", [1, 3])
def test_activation_gradcheck(rng, L, name, N):
    x = rng.standard_normal((N, 4, 5, 7)) * 3
    x[np.abs(x) < 1e-3] = 0.5  # keep ReLU's kink away from the finite-difference stencil
    assert_small(check_module(getattr(L, name)(), x, rng))


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


@pytest.mark.parametrize("N", [1, 3])
def test_attention_gradcheck(rng, L, N):
    layer = L.SelfAttention2d(4, num_groups=2, rng=rng, dtype=np.float64)
    assert_small(check_module(layer, rng.standard_normal((N, 4, 3, 5)), rng))


def test_attention_bad_input(rng, L):
    layer = L.SelfAttention2d(4, num_groups=2, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 4, 3, 5))
    with pytest.raises(ValueError, match=r"\(N, 4, H, W\)"):
        layer(x[:, :3])
    layer(x)
    with pytest.raises(ValueError, match="dout has shape"):
        layer.backward(x[:, :, :2])


def test_concat_and_split_channels(rng):
    a, b = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 2, 4, 5))
    ab = concat_channels(a, b)
    assert ab.shape == (2, 5, 4, 5)
    da, db = split_channels(ab, 3)
    np.testing.assert_array_equal(da, a)
    np.testing.assert_array_equal(db, b)
    with pytest.raises(ValueError, match="differ outside"):
        concat_channels(a, b[:1])
    with pytest.raises(TypeError, match="dtypes"):
        concat_channels(a, b.astype(np.float32))
    with pytest.raises(ValueError, match="cannot split 5 channels at 5"):
        split_channels(ab, 5)


def test_concat_keeps_channels_last_memory(rng):
    """What lets the fast tier's layout pass through a UNet's skip connections untouched."""
    a, b = channels_last(rng.standard_normal((2, 3, 4, 5))), channels_last(
        rng.standard_normal((2, 2, 4, 5)))
    ab = concat_channels(a, b)
    assert ab.transpose(0, 2, 3, 1).flags.c_contiguous


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


def test_sequential_gradcheck_and_random_direction(rng, L):
    f64 = dict(dtype=np.float64)
    net = L.Sequential(L.Conv2d(2, 4, 3, padding=1, rng=rng, **f64), L.GroupNorm(2, 4, **f64),
                       L.SiLU(), L.Conv2d(4, 3, 3, stride=2, padding=1, rng=rng, **f64))
    x = rng.standard_normal((3, 2, 5, 7))
    assert_small(check_module(net, x, rng))
    errors = random_direction_check(net, x, rng)
    assert "all_params" in errors
    assert_small(errors)


def test_groupnorm_bad_input(rng, L):
    with pytest.raises(ValueError, match="divisible"):
        L.GroupNorm(3, 4)
    with pytest.raises(ValueError, match=r"\(N, 4"):
        L.GroupNorm(2, 4)(np.zeros((1, 3, 2, 2), np.float32))
    with pytest.raises(ValueError, match="positive"):
        L.GroupNorm(0, 4)
    with pytest.raises(ValueError, match="norm_eps"):
        L.GroupNorm(2, 4, norm_eps=0)
    gn = L.GroupNorm(2, 4)
    gn(np.zeros((1, 4, 2, 2), np.float32))
    with pytest.raises(ValueError, match="dout has shape"):
        gn.backward(np.zeros((1, 4, 2, 3), np.float32))
    with pytest.raises(ValueError, match="in_features"):
        Linear(0, 3, rng=rng)
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        Linear(3, 2, rng=rng)(np.zeros((2, 4), np.float32))
    with pytest.raises(TypeError, match="Generator"):
        Linear(3, 2, rng=0)


def test_per_sample_layers_take_an_empty_batch(L):
    x = np.zeros((0, 4, 2, 3), np.float32)
    for layer in (L.GroupNorm(2, 4), L.SiLU()):
        y = layer(x)
        assert y.shape == x.shape and y.dtype == np.float32
        assert layer.backward(y).shape == x.shape


def test_channel_sums(rng, L):
    x = rng.standard_normal((3, 4, 5, 7))
    want = x.sum(axis=(2, 3))
    np.testing.assert_allclose(L.channel_sums(x), want, rtol=1e-12)
    np.testing.assert_allclose(L.channel_sums(channels_last(x)), want, rtol=1e-12)
    assert L.channel_sums(channels_last(x).astype(np.float32)).dtype == np.float32
