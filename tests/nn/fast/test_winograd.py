"""Winograd's F(2×2, 3×3) route of the fast convolution: the identity it rests on, the same
numbers as the reference tier forward and backward (float64), a bounded float32 error, and the
rule that picks it."""
import numpy as np
import pytest

import ddpm_np.nn as ref
from ddpm_np.nn import fast
from ddpm_np.nn.fast import conv as fast_conv
from ddpm_np.nn.fast.winograd import A_T, B_T, G, transform_weights

from ..layouts import channels_last

ORDERS = {"NCHW": np.asarray, "channels-last": channels_last}
# (N, C, O, H, W): shapes that take the route, even and odd sizes
SHAPES = [(2, 64, 64, 14, 14), (3, 100, 40, 15, 17), (1, 96, 32, 28, 28), (5, 64, 80, 14, 21)]


def test_one_tile_is_the_valid_correlation(rng):
    d, g = rng.standard_normal((4, 4)), rng.standard_normal((3, 3))
    y = A_T @ ((G @ g @ G.T) * (B_T @ d @ B_T.T)) @ A_T.T
    naive = np.array([[np.sum(d[i:i + 3, j:j + 3] * g) for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(y, naive, rtol=1e-12, atol=1e-12)


def test_weight_transform_is_g_g_gt_per_channel_pair(rng):
    W = rng.standard_normal((3, 2, 3, 3))
    U = transform_weights(W)                                         # (16, C, O)
    for o in range(3):
        for c in range(2):
            np.testing.assert_allclose(U[:, c, o].reshape(4, 4), G @ W[o, c] @ G.T, atol=1e-12)


@pytest.mark.parametrize("x_order", ORDERS)
@pytest.mark.parametrize("N,C,O,H,W", SHAPES)
def test_the_route_matches_the_reference_forward_and_backward(rng, N, C, O, H, W, x_order):
    assert fast_conv.use_winograd(3, 3, 1, 1, C, O, H, W)
    x = rng.standard_normal((N, C, H, W))
    Wt, b = rng.standard_normal((O, C, 3, 3)), rng.standard_normal(O)
    y_ref, c_ref = ref.conv2d_forward(x, Wt, b, 1, 1)
    ws = {}
    for _ in range(2):                                  # a reused workspace keeps its zeros
        y, cache = fast.conv2d_forward(ORDERS[x_order](x), Wt, b, 1, 1, ws)
        np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-11)
    dy = rng.standard_normal(y.shape)
    for got, want in zip(fast.conv2d_backward(ORDERS[x_order](dy), cache),
                         ref.conv2d_backward(dy, c_ref)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("N,C,O,H,W", SHAPES[:2])
def test_float32_error_is_bounded(rng, N, C, O, H, W):
    """F(2×2, 3×3) in float32 stays within a few units in the last place of the output scale,
    like im2col: max |error| ≤ 2e-6 × max |y| (measured about 5e-7)."""
    x = rng.standard_normal((N, C, H, W))
    Wt, b = rng.standard_normal((O, C, 3, 3)) / np.sqrt(9 * C), rng.standard_normal(O)
    y64, c64 = ref.conv2d_forward(x, Wt, b, 1, 1)
    y32, c32 = fast.conv2d_forward(x.astype(np.float32), Wt.astype(np.float32),
                                   b.astype(np.float32), 1, 1, {})
    assert np.abs(y32 - y64).max() <= 2e-6 * np.abs(y64).max()
    dy = rng.standard_normal(y64.shape)
    dx64 = ref.conv2d_backward(dy, c64)[0]
    dx32 = fast.conv2d_backward(dy.astype(np.float32), c32)[0]
    assert np.abs(dx32 - dx64).max() <= 2e-6 * np.abs(dx64).max()


@pytest.mark.parametrize("k,s,p,C,O,H,W,route", [
    (3, 1, 1, 64, 64, 14, 14, True), (3, 1, 1, 96, 32, 28, 28, True),
    (3, 1, 1, 32, 32, 28, 28, False),        # too few channels: the transforms cost too much
    (3, 1, 1, 128, 128, 7, 7, False),        # too small an image: tiles half outside it
    (3, 2, 1, 64, 64, 28, 28, False), (1, 1, 0, 64, 64, 28, 28, False),
    (3, 1, 0, 64, 64, 28, 28, False)])
def test_the_rule(k, s, p, C, O, H, W, route):
    assert fast_conv.use_winograd(k, k, s, p, C, O, H, W) is route
