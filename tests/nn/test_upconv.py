"""UpsampleConv2d = Conv2d(3×3, padding 1) ∘ Upsample2x, on both tiers."""
import numpy as np
import pytest

from ddpm_np.nn import Conv2d, Upsample2x, conv2d_naive, conv2d_naive_backward
from ddpm_np.nn.gradcheck import check_module


def _upsample(x):
    return x.repeat(2, axis=2).repeat(2, axis=3)


@pytest.mark.parametrize("N,C,O,H,W", [(1, 1, 1, 1, 1), (2, 3, 4, 3, 5), (3, 4, 2, 4, 4)])
def test_upconv_matches_naive_conv_of_upsampled_input(rng, L, N, C, O, H, W):
    x = rng.standard_normal((N, C, H, W))
    Wt = rng.standard_normal((O, C, 3, 3))
    b = rng.standard_normal(O)
    y, cache = L.upconv2d_forward(x, Wt, b)
    np.testing.assert_allclose(y, conv2d_naive(_upsample(x), Wt, b, 1, 1), rtol=1e-10, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx, dW, db = L.upconv2d_backward(dy, cache)
    ndxu, ndW, ndb = conv2d_naive_backward(dy, _upsample(x), Wt, 1, 1)
    ndx = ndxu.reshape(N, C, H, 2, W, 2).sum(axis=(3, 5))      # the upsample's adjoint
    for name, a, e in (("dx", dx, ndx), ("dW", dW, ndW), ("db", db, ndb)):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12, err_msg=name)


def test_upconv_gradcheck(rng, L):
    layer = L.UpsampleConv2d(3, 2, rng=rng, dtype=np.float64)
    errors = check_module(layer, rng.standard_normal((2, 3, 3, 4)), rng)
    assert set(errors) == {"input0", "W", "b"}
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_upconv_float32_equals_the_two_layer_route(rng, L):
    fused = L.UpsampleConv2d(4, 5, rng=rng)
    conv = Conv2d(4, 5, 3, padding=1, rng=np.random.default_rng(1))
    conv.load_state_dict(fused.state_dict())
    x = rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    y = fused(x)
    assert y.dtype == np.float32 and y.shape == (2, 5, 12, 12)
    np.testing.assert_allclose(y, conv(Upsample2x()(x)), rtol=1e-4, atol=1e-5)
    dx = fused.backward(np.ones_like(y))
    assert dx.dtype == np.float32 and fused.W.grad.dtype == np.float32


def test_upconv_bad_input(rng, L):
    layer = L.UpsampleConv2d(3, 2, rng=rng, dtype=np.float64)
    with pytest.raises(ValueError, match="channels|matching C"):
        layer(np.zeros((1, 4, 3, 3)))
    layer(np.zeros((1, 3, 3, 3)))
    with pytest.raises(ValueError, match="dout has shape"):
        layer.backward(np.zeros((1, 2, 3, 3)))
