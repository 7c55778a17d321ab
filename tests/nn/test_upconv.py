"""UpsampleConv2d = Conv2d(3×3, padding 1) ∘ Upsample2x, computed at low resolution."""
import numpy as np
import pytest

from ddpm_np.nn import Conv2d, Upsample2x, UpsampleConv2d, upconv2d_backward, upconv2d_forward
from ddpm_np.nn.gradcheck import check_module

from .naive import conv2d_naive, conv2d_naive_backward, nchw, nhwc


def _upsample(x):
    return x.repeat(2, axis=2).repeat(2, axis=3)


@pytest.mark.parametrize("channels_last", [False, True], ids=["NCHW", "NHWC"])
@pytest.mark.parametrize("N,C,O,H,W", [(1, 1, 1, 1, 1), (2, 3, 4, 3, 5), (3, 4, 2, 4, 4)])
def test_upconv_matches_naive_conv_of_upsampled_input(rng, N, C, O, H, W, channels_last):
    x = rng.standard_normal((N, C, H, W))
    Wt = rng.standard_normal((O, C, 3, 3))
    b = rng.standard_normal(O)
    to, back = (nhwc, nchw) if channels_last else (np.asarray, np.asarray)
    y, cache = upconv2d_forward(to(x), Wt, b, channels_last=channels_last)
    y = back(y)
    np.testing.assert_allclose(y, conv2d_naive(_upsample(x), Wt, b, 1, 1), rtol=1e-10, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx, dW, db = upconv2d_backward(to(dy), cache)
    dx = back(dx)
    ndxu, ndW, ndb = conv2d_naive_backward(dy, _upsample(x), Wt, 1, 1)
    ndx = ndxu.reshape(N, C, H, 2, W, 2).sum(axis=(3, 5))      # the upsample's adjoint
    for name, a, e in (("dx", dx, ndx), ("dW", dW, ndW), ("db", db, ndb)):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("channels_last", [False, True], ids=["NCHW", "NHWC"])
def test_upconv_gradcheck(rng, channels_last):
    layer = UpsampleConv2d(3, 2, rng=rng, dtype=np.float64, channels_last=channels_last)
    x = rng.standard_normal((2, 3, 4, 3) if channels_last else (2, 3, 3, 4))
    errors = check_module(layer, x, rng)
    assert set(errors) == {"input0", "W", "b"}
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_upconv_float32_equals_the_two_layer_route(rng):
    fused = UpsampleConv2d(4, 5, rng=rng)
    conv = Conv2d(4, 5, 3, padding=1, rng=np.random.default_rng(1))
    conv.load_state_dict(fused.state_dict())
    x = rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    y = fused(x)
    assert y.dtype == np.float32 and y.shape == (2, 5, 12, 12)
    np.testing.assert_allclose(y, conv(Upsample2x()(x)), rtol=1e-4, atol=1e-5)
    assert fused.nominal_flops(x.shape) == conv.flops((2, 4, 12, 12))
    assert fused.flops(x.shape) < 0.7 * fused.nominal_flops(x.shape)
    dx = fused.backward(np.ones_like(y))
    assert dx.dtype == np.float32 and fused.W.grad.dtype == np.float32


def test_upconv_bad_input(rng):
    layer = UpsampleConv2d(3, 2, rng=rng, dtype=np.float64)
    with pytest.raises(ValueError, match="matching C"):
        layer(np.zeros((1, 4, 3, 3)))
    layer(np.zeros((1, 3, 3, 3)))
    with pytest.raises(ValueError, match="dout has shape"):
        layer.backward(np.zeros((1, 2, 3, 3)))


def test_channels_last_upconv_bad_input(rng):
    layer = UpsampleConv2d(3, 2, rng=rng, dtype=np.float64, channels_last=True)
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        layer(np.zeros((1, 3, 3, 4)))
    y = layer(np.zeros((1, 3, 3, 3)))
    assert y.shape == (1, 6, 6, 2)
    with pytest.raises(ValueError, match="dout has shape"):
        layer.backward(np.zeros((1, 2, 6, 6)))


@pytest.mark.parametrize("k,stride", [(2, 1), (3, 1), (3, 2), (2, 2), (3, 3)])
def test_col2im_is_the_adjoint_of_im2col(rng, k, stride):
    """⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for every x and c: the grouping of overlapping windows
    into disjoint sets loses no contribution (checked beyond the 2×2, stride-1 case used here)."""
    from ddpm_np.nn.conv import _im2col
    from ddpm_np.nn.upconv import _col2im
    n, Hp, Wp, C = 2, 8, 7, 3
    Ho, Wo = (Hp - k) // stride + 1, (Wp - k) // stride + 1
    xp = rng.standard_normal((n, Hp, Wp, C))
    c = rng.standard_normal((n * Ho * Wo, k * k * C))
    cols = _im2col(xp, k, k, stride, Ho, Wo, np.empty_like(c))
    back = _col2im(c, k, k, stride, 0, Ho, Wo, np.empty_like(xp))
    np.testing.assert_allclose(np.sum(cols * c), np.sum(xp * back), rtol=1e-12)
