"""Winograd's F(2×2, 3×3) and F(4×4, 3×3) routes of the fast convolution: the identity they
rest on, the same numbers as the reference tier forward and backward (dx and dW both by
Winograd; float64), a bounded float32 error, and the rule that picks them."""
import numpy as np
import pytest

import ddpm_np.nn as ref
from ddpm_np.nn import fast
from ddpm_np.nn.fast import conv as fast_conv
from ddpm_np.nn.fast.winograd import MATRICES, transform_weights

from ..layouts import channels_last

ORDERS = {"NCHW": np.asarray, "channels-last": channels_last}
# (N, C, O, H, W, m): shapes that take the route, even and odd sizes
SHAPES = [(2, 64, 64, 14, 14, 2), (3, 100, 40, 15, 17, 2), (1, 96, 32, 28, 28, 4),
          (5, 64, 80, 14, 21, 2), (2, 32, 32, 28, 28, 4), (1, 40, 30, 32, 36, 4)]


@pytest.mark.parametrize("m", [2, 4])
def test_one_tile_is_the_valid_correlation(rng, m):
    B_T, G, A_T = MATRICES[m]
    d, g = rng.standard_normal((m + 2, m + 2)), rng.standard_normal((3, 3))
    y = A_T @ ((G @ g @ G.T) * (B_T @ d @ B_T.T)) @ A_T.T
    naive = np.array([[np.sum(d[i:i + 3, j:j + 3] * g) for j in range(m)] for i in range(m)])
    np.testing.assert_allclose(y, naive, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("m", [2, 4])
def test_weight_transform_is_g_g_gt_per_channel_pair(rng, m):
    G = MATRICES[m][1]
    W = rng.standard_normal((3, 2, 3, 3))
    U = transform_weights(W, m)                                      # (α², C, O)
    for o in range(3):
        for c in range(2):
            np.testing.assert_allclose(U[:, c, o].reshape(m + 2, m + 2), G @ W[o, c] @ G.T,
                                       atol=1e-12)


@pytest.mark.parametrize("x_order", ORDERS)
@pytest.mark.parametrize("N,C,O,H,W,m", SHAPES)
def test_the_route_matches_the_reference_forward_and_backward(rng, N, C, O, H, W, m, x_order):
    assert fast_conv.use_winograd(3, 3, 1, 1, C, O, H, W) == m
    x = rng.standard_normal((N, C, H, W))
    Wt, b = rng.standard_normal((O, C, 3, 3)), rng.standard_normal(O)
    y_ref, c_ref = ref.conv2d_forward(x, Wt, b, 1, 1)
    ws = {}
    for _ in range(2):                                  # a reused workspace keeps its zeros
        y, cache = fast.conv2d_forward(ORDERS[x_order](x), Wt, b, 1, 1, ws)
        np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-10)
    dy = rng.standard_normal(y.shape)
    for got, want in zip(fast.conv2d_backward(ORDERS[x_order](dy), cache),
                         ref.conv2d_backward(dy, c_ref)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("N,C,O,H,W,m,bound", [(2, 64, 64, 14, 14, 2, 2e-6),
                                               (3, 100, 40, 15, 17, 2, 2e-6),
                                               (2, 96, 32, 28, 28, 4, 2e-5),
                                               (2, 32, 32, 28, 28, 4, 2e-5)])
def test_float32_error_is_bounded(rng, N, C, O, H, W, m, bound):
    """In float32, max |error| ≤ bound × max |y|: F(2×2) within a few units in the last place,
    like im2col (measured about 5e-7); F(4×4), whose transforms have entries up to 8 and 1/24,
    about ten times that (measured 4e-6 to 6e-6)."""
    assert fast_conv.use_winograd(3, 3, 1, 1, C, O, H, W) == m
    x = rng.standard_normal((N, C, H, W))
    Wt, b = rng.standard_normal((O, C, 3, 3)) / np.sqrt(9 * C), rng.standard_normal(O)
    y64, c64 = ref.conv2d_forward(x, Wt, b, 1, 1)
    y32, c32 = fast.conv2d_forward(x.astype(np.float32), Wt.astype(np.float32),
                                   b.astype(np.float32), 1, 1, {})
    assert np.abs(y32 - y64).max() <= bound * np.abs(y64).max()
    dy = rng.standard_normal(y64.shape)
    for g32, g64 in zip(fast.conv2d_backward(dy.astype(np.float32), c32),
                        ref.conv2d_backward(dy, c64)):             # dx, dW and db
        assert np.abs(g32 - g64).max() <= bound * np.abs(g64).max()


@pytest.mark.parametrize("k,s,p,C,O,H,W,m", [
    (3, 1, 1, 64, 64, 14, 14, 2), (3, 1, 1, 96, 32, 28, 28, 4), (3, 1, 1, 32, 32, 28, 28, 4),
    (3, 1, 1, 32, 64, 14, 14, 0),            # too few channels: the transforms cost too much
    (3, 1, 1, 16, 16, 28, 28, 0),
    (3, 1, 1, 128, 128, 7, 7, 0),            # too small an image: tiles a third outside it
    (3, 1, 1, 64, 64, 30, 30, 2),            # F(4×4) only where 4 divides the sides
    (3, 2, 1, 64, 64, 28, 28, 0), (1, 1, 0, 64, 64, 28, 28, 0),
    (3, 1, 0, 64, 64, 28, 28, 0)])
def test_the_rule(k, s, p, C, O, H, W, m):
    assert fast_conv.use_winograd(k, k, s, p, C, O, H, W) == m


@pytest.mark.parametrize("k,s,p,C,O,H,W,want", [
    (1, 1, 0, 64, 64, 28, 28, ("1x1", 0)), (3, 1, 1, 64, 64, 28, 28, ("winograd", 4)),
    (3, 1, 1, 64, 3, 28, 28, ("narrow", 0)),      # few outputs: narrow before Winograd
    (3, 1, 1, 3, 64, 28, 28, ("im2col", 0)),      # few inputs: im2col, dx by the narrow route
    (3, 2, 1, 64, 64, 28, 28, ("im2col", 0))])
def test_the_route_of_a_shape(k, s, p, C, O, H, W, want):
    assert fast_conv.route(k, k, s, p, C, O, H, W) == want


@pytest.mark.parametrize("C,O,H,route", [(32, 32, 28, ("winograd", 4)), (64, 64, 14, ("winograd", 2)),
                                         (8, 1, 6, ("narrow", 0)), (1, 8, 6, ("im2col", 0))])
def test_every_route_passes_a_central_difference_check(rng, C, O, H, route):
    """The fast Conv2d's gradients by finite differences on each route (dx and dW by Winograd,
    the narrow forward and dW, the narrow dx), float64, with `add` in the forward pass."""
    from ddpm_np.nn.gradcheck import check_module
    assert fast_conv.route(3, 3, 1, 1, C, O, H, H) == route
    layer = fast.Conv2d(C, O, 3, padding=1, rng=rng, dtype=np.float64)
    add = rng.standard_normal((2, O, 1, 1))
    layer.forward = (lambda f: lambda x: f(x, add=add))(layer.forward)
    errors = check_module(layer, rng.standard_normal((2, C, H, H)), rng, max_per_param=30)
    assert set(errors) == {"input0", "W", "b"}
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"
