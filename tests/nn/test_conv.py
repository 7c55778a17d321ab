"""The reference convolution: its im2col route against the naive loops, its gradients against
finite differences (on both tiers), im2col/col2im as adjoints, bad input."""
import numpy as np
import pytest

from ddpm_np.nn import (Conv2d, col2im, conv2d_backward, conv2d_forward, conv2d_naive,
                        conv2d_naive_backward, im2col)
from ddpm_np.nn.gradcheck import check_module, numerical_gradient, rel_error

GEOMETRIES = [  # (N, C, O, H, W, k, stride, padding)
    (1, 1, 1, 5, 7, 3, 1, 1),
    (3, 4, 2, 5, 7, 3, 2, 1),
    (3, 1, 4, 5, 7, 1, 1, 0),
    (1, 4, 4, 5, 7, 1, 2, 1),
    (3, 4, 1, 6, 6, 3, 2, 0),
    (1, 4, 4, 5, 7, 3, 1, 0),
    # awkward ones: stride 3, kernel = stride, padding ≥ kernel, a 1-pixel input
    (2, 3, 2, 7, 5, 3, 3, 2),
    (2, 2, 3, 6, 5, 2, 2, 0),
    (1, 2, 3, 4, 5, 2, 1, 3),
    (2, 2, 2, 1, 1, 3, 2, 1),
]


@pytest.mark.parametrize("N,C,O,H,W,k,stride,padding", GEOMETRIES)
def test_conv_matches_naive_loops(rng, N, C, O, H, W, k, stride, padding):
    x = rng.standard_normal((N, C, H, W))
    Wt = rng.standard_normal((O, C, k, k))
    b = rng.standard_normal(O)
    y, cache = conv2d_forward(x, Wt, b, stride, padding)
    np.testing.assert_allclose(y, conv2d_naive(x, Wt, b, stride, padding), rtol=1e-10, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    got = conv2d_backward(dy, cache)
    want = conv2d_naive_backward(dy, x, Wt, stride, padding)
    for name, a, e in zip(("dx", "dW", "db"), got, want):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12, err_msg=name)


def test_naive_loops_against_finite_differences(rng):
    """The oracle itself, checked by an independent route."""
    x, Wt, b = rng.standard_normal((2, 2, 4, 5)), rng.standard_normal((3, 2, 3, 3)), np.zeros(3)
    dy = rng.standard_normal(conv2d_naive(x, Wt, b, 2, 1).shape)
    dx, dW, _ = conv2d_naive_backward(dy, x, Wt, 2, 1)
    loss = lambda: np.sum(dy * conv2d_naive(x, Wt, b, 2, 1))  # noqa: E731
    assert rel_error(dx, numerical_gradient(loss, x)) < 1e-8
    assert rel_error(dW, numerical_gradient(loss, Wt)) < 1e-8


@pytest.mark.parametrize("N,C,O,H,W,k,stride,padding", GEOMETRIES)
def test_conv_gradcheck(rng, L, N, C, O, H, W, k, stride, padding):
    conv = L.Conv2d(C, O, k, stride, padding, rng=rng, dtype=np.float64)
    errors = check_module(conv, rng.standard_normal((N, C, H, W)), rng)
    assert set(errors) == {"input0", "W", "b"}
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


@pytest.mark.parametrize("k,stride", [(2, 1), (3, 1), (3, 2), (2, 2), (3, 3), (1, 2)])
def test_col2im_is_the_adjoint_of_im2col(rng, k, stride):
    """⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for every x and c: overlapping windows lose nothing."""
    N, C, H, W, p = 2, 3, 8, 7, 1
    Ho, Wo = (H + 2 * p - k) // stride + 1, (W + 2 * p - k) // stride + 1
    x = rng.standard_normal((N, C, H, W))
    c = rng.standard_normal((N * Ho * Wo, C * k * k))
    cols = im2col(np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))), k, k, stride, Ho, Wo)
    back = col2im(c, x.shape, k, k, stride, p, Ho, Wo)
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * back), rtol=1e-12)


def test_conv_float32_and_inputs_untouched(rng, L):
    conv = L.Conv2d(3, 5, 3, padding=1, rng=rng)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    x_copy = x.copy()
    y = conv(x)
    assert y.dtype == np.float32 and y.shape == (2, 5, 8, 8)
    dx = conv.backward(np.ones_like(y))
    assert dx.dtype == np.float32 and conv.W.grad.dtype == np.float32
    np.testing.assert_array_equal(x, x_copy)


def test_conv_bad_input(rng, L):
    conv = L.Conv2d(3, 4, 3, rng=rng)
    with pytest.raises(ValueError, match="channels"):
        conv(np.zeros((1, 2, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        conv(np.zeros((2, 8, 8), np.float32))
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv(np.zeros((1, 3, 2, 2), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        conv(np.zeros((1, 3, 8, 8), np.float64))
    with pytest.raises(RuntimeError, match="before forward"):
        L.Conv2d(3, 4, 3, rng=rng).backward(np.zeros((1, 4, 6, 6), np.float32))
    conv(np.zeros((2, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match="dout has shape"):
        conv.backward(np.zeros((2, 4, 5, 6), np.float32))
    for bad in (dict(kernel_size=0), dict(stride=0), dict(padding=-1)):
        kw = dict(in_channels=3, out_channels=4, kernel_size=3) | bad
        with pytest.raises(ValueError, match="|".join(bad)):
            L.Conv2d(**kw, rng=rng)
    with pytest.raises(ValueError, match="out_channels"):
        L.Conv2d(3, 0, 3, rng=rng)
