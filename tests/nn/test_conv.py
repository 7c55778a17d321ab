import numpy as np
import pytest

from ddpm_np.nn import Conv2d, conv2d_forward, conv2d_backward
from ddpm_np.nn.gradcheck import check_module

from .naive import conv2d_naive, conv2d_naive_backward, nchw, nhwc

GEOMETRIES = [  # (N, C, O, H, W, k, stride, padding)
    (1, 1, 1, 5, 7, 3, 1, 1),
    (3, 4, 2, 5, 7, 3, 2, 1),
    (3, 1, 4, 5, 7, 1, 1, 0),
    (1, 4, 4, 5, 7, 1, 2, 1),
    (3, 4, 1, 6, 6, 3, 2, 0),
    (1, 4, 4, 5, 7, 3, 1, 0),
    # the phase split of dx (nn/conv_phases.py) at its edges: stride 3, kernel = stride,
    # padding ≥ kernel, a 1-pixel input
    (2, 3, 2, 7, 5, 3, 3, 2),
    (2, 2, 3, 6, 5, 2, 2, 0),
    (1, 2, 3, 4, 5, 2, 1, 3),
    (2, 2, 2, 1, 1, 3, 2, 1),
]


@pytest.mark.parametrize("channels_last", [False, True], ids=["NCHW", "NHWC"])
@pytest.mark.parametrize("N,C,O,H,W,k,stride,padding", GEOMETRIES)
def test_conv_matches_naive_loops(rng, N, C, O, H, W, k, stride, padding, channels_last):
    x = rng.standard_normal((N, C, H, W))
    Wt = rng.standard_normal((O, C, k, k))
    b = rng.standard_normal(O)
    to, back = (nhwc, nchw) if channels_last else (np.asarray, np.asarray)
    y, cache = conv2d_forward(to(x), Wt, b, stride, padding, channels_last=channels_last)
    y = back(y)
    np.testing.assert_allclose(y, conv2d_naive(x, Wt, b, stride, padding), rtol=1e-10, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx, dW, db = conv2d_backward(to(dy), cache)
    dx = back(dx)
    ndx, ndW, ndb = conv2d_naive_backward(dy, x, Wt, stride, padding)
    for name, a, e in (("dx", dx, ndx), ("dW", dW, ndW), ("db", db, ndb)):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("channels_last", [False, True], ids=["NCHW", "NHWC"])
@pytest.mark.parametrize("N,C,O,H,W,k,stride,padding", GEOMETRIES)
def test_conv_gradcheck(rng, N, C, O, H, W, k, stride, padding, channels_last):
    conv = Conv2d(C, O, k, stride, padding, rng=rng, dtype=np.float64,
                  channels_last=channels_last)
    x = rng.standard_normal((N, H, W, C) if channels_last else (N, C, H, W))
    errors = check_module(conv, x, rng)
    assert set(errors) == {"input0", "W", "b"}
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_conv_float32_and_workspace_reuse(rng):
    conv = Conv2d(3, 5, 3, padding=1, rng=rng)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    x_copy = x.copy()
    y1 = conv(x)
    assert y1.dtype == np.float32
    dx = conv.backward(np.ones_like(y1))
    assert dx.dtype == np.float32 and conv.W.grad.dtype == np.float32
    np.testing.assert_array_equal(x, x_copy)
    y2 = conv(x[:1].copy())        # another batch size re-allocates the workspace
    y3 = conv(x)
    np.testing.assert_array_equal(y1, y3)
    np.testing.assert_array_equal(y2, y1[:1])


def test_conv_bad_input(rng):
    conv = Conv2d(3, 4, 3, rng=rng)
    with pytest.raises(ValueError, match="channels"):
        conv(np.zeros((1, 2, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        conv(np.zeros((2, 8, 8), np.float32))
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv(np.zeros((1, 3, 2, 2), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        conv(np.zeros((1, 3, 8, 8), np.float64))
    for bad in (dict(kernel_size=0), dict(stride=0), dict(padding=-1)):
        kw = dict(in_channels=3, out_channels=4, kernel_size=3) | bad
        with pytest.raises(ValueError, match="|".join(bad)):
            Conv2d(**kw, rng=rng)
    with pytest.raises(ValueError, match="out_channels"):
        Conv2d(3, 0, 3, rng=rng)


def test_channels_last_conv_is_the_nchw_conv_transposed(rng):
    """Same parameters, same numbers: only the layout of input and output differs (float32)."""
    for k, stride, padding in ((3, 1, 1), (3, 2, 1), (1, 1, 0)):
        a = Conv2d(4, 6, k, stride, padding, rng=rng)
        b = Conv2d(4, 6, k, stride, padding, rng=rng, channels_last=True)
        b.load_state_dict(a.state_dict())
        x = rng.standard_normal((3, 4, 9, 8)).astype(np.float32)
        y = a(x)
        y_cl = b(nhwc(x))
        assert y_cl.dtype == np.float32 and y_cl.shape == nhwc(y).shape
        np.testing.assert_allclose(nchw(y_cl), y, rtol=1e-5, atol=1e-5)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        np.testing.assert_allclose(nchw(b.backward(nhwc(dy))), a.backward(dy), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(b.W.grad, a.W.grad, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(b.b.grad, a.b.grad, rtol=1e-4, atol=1e-4)
        assert b.flops(y_cl.shape[:1] + (9, 8, 4)) == a.flops(x.shape)


def test_channels_last_conv_bad_input(rng):
    conv = Conv2d(3, 4, 3, rng=rng, channels_last=True)
    with pytest.raises(ValueError, match="channels"):
        conv(np.zeros((1, 8, 8, 2), np.float32))
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        conv(np.zeros((8, 8, 3), np.float32))
    conv(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="dout has shape"):
        conv.backward(np.zeros((2, 4, 6, 6), np.float32))


@pytest.mark.parametrize("channels_last", [False, True], ids=["NCHW", "NHWC"])
@pytest.mark.parametrize("stride", [1, 2])
def test_reused_workspace_keeps_its_zero_border(rng, stride, channels_last):
    """The padded buffers are zeroed once and only their interior is written after that: a
    second call with other data must still see zero padding (forward and backward)."""
    conv = Conv2d(3, 4, 3, stride, padding=1, rng=rng, dtype=np.float64,
                  channels_last=channels_last)
    to, back = (nhwc, nchw) if channels_last else (np.asarray, np.asarray)
    for _ in range(2):
        x = rng.standard_normal((2, 3, 6, 5)) * 10
        y = back(conv(to(x)))
        np.testing.assert_allclose(y, conv2d_naive(x, conv.W.data, conv.b.data, stride, 1),
                                   rtol=1e-10, atol=1e-12)
        dy = rng.standard_normal(y.shape)
        conv.zero_grad()
        dx = back(conv.backward(to(dy)))
        ndx, ndW, _ = conv2d_naive_backward(dy, x, conv.W.data, stride, 1)
        np.testing.assert_allclose(dx, ndx, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(conv.W.grad, ndW, rtol=1e-10, atol=1e-12)


def test_one_workspace_shared_by_two_paddings(rng):
    """(6×6, padding 1) and (8×8, padding 0) both need an 8×8 padded buffer; the second fills all
    of it, so sharing one buffer would leave data where the first expects its zero border."""
    ws = {}
    Wt, b = rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2)
    x6, x8 = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((2, 3, 8, 8)) + 5
    for x, p in ((x6, 1), (x8, 0), (x6, 1)):
        y, _ = conv2d_forward(x, Wt, b, 1, p, ws)
        np.testing.assert_allclose(y, conv2d_naive(x, Wt, b, 1, p), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("k,stride,padding", [(3, 1, 1), (3, 2, 1), (3, 3, 2), (2, 2, 0),
                                              (5, 2, 2), (1, 2, 0)])
def test_every_kernel_offset_serves_exactly_one_phase(k, stride, padding):
    """The phase split of dx (nn/conv_phases.py) performs the multiply-adds of dy·Wᵀ, no more:
    each kernel offset (u, v) belongs to one phase of x, and the phases tile x."""
    from ddpm_np.nn.conv import conv_output_size
    from ddpm_np.nn.conv_phases import phase_plan
    H, Wd = 9, 8
    Ho, Wo = conv_output_size(H, k, stride, padding), conv_output_size(Wd, k, stride, padding)
    _, plan = phase_plan(H, Wd, Ho, Wo, k, k, stride, padding)
    taps = sorted((u, v) for *_, us, vs in plan for u in us for v in vs)
    assert taps == [(u, v) for u in range(k) for v in range(k)]
    assert sum(Ma * Mb for _, _, Ma, Mb, *_ in plan) == H * Wd
