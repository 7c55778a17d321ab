"""Every fast kernel against its reference twin, forward and backward, on awkward geometries,
with inputs and output gradients in either memory order."""
import numpy as np
import pytest

import ddpm_np.nn as ref
from ddpm_np.nn import fast
from ddpm_np.nn.fast.conv_phases import phase_plan

from ddpm_np.nn.fast.layout import is_channels_last

from ..layouts import channels_last
from ..test_conv import GEOMETRIES

ORDERS = {"NCHW": np.asarray, "channels-last": channels_last}


def assert_close(got, want, rtol=1e-10, atol=1e-12):
    for i, (a, e) in enumerate(zip(got, want)):
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=f"output {i}")


@pytest.mark.parametrize("x_order", ORDERS)
@pytest.mark.parametrize("dy_order", ORDERS)
@pytest.mark.parametrize("N,C,O,H,W,k,stride,padding", GEOMETRIES)
def test_conv_matches_reference(rng, N, C, O, H, W, k, stride, padding, x_order, dy_order):
    x = rng.standard_normal((N, C, H, W))
    Wt, b = rng.standard_normal((O, C, k, k)), rng.standard_normal(O)
    y_ref, c_ref = ref.conv2d_forward(x, Wt, b, stride, padding)
    y, cache = fast.conv2d_forward(ORDERS[x_order](x), Wt, b, stride, padding, {})
    np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    assert_close(fast.conv2d_backward(ORDERS[dy_order](dy), cache),
                 ref.conv2d_backward(dy, c_ref))


# the narrow routes (conv_narrow.py): few channels out (forward, dW) or in (dx); a 1×1 image;
# a 5×5 kernel; a geometry that must not take them (stride 2)
NARROW = [(3, 6, 1, 5, 7, 3, 1, 1, "narrow"), (2, 1, 6, 5, 7, 3, 1, 1, None),
          (2, 5, 3, 4, 6, 5, 1, 2, "narrow"), (2, 3, 5, 6, 4, 5, 1, 2, None),
          (2, 6, 1, 1, 1, 3, 1, 1, "narrow"), (2, 6, 1, 6, 6, 3, 2, 1, None)]


@pytest.mark.parametrize("x_order", ORDERS)
@pytest.mark.parametrize("N,C,O,H,W,k,stride,padding,route", NARROW)
def test_narrow_convolutions_match_reference(rng, N, C, O, H, W, k, stride, padding, route,
                                             x_order):
    x = rng.standard_normal((N, C, H, W))
    Wt, b = rng.standard_normal((O, C, k, k)), rng.standard_normal(O)
    y_ref, c_ref = ref.conv2d_forward(x, Wt, b, stride, padding)
    y, cache = fast.conv2d_forward(ORDERS[x_order](x), Wt, b, stride, padding, {})
    assert (cache[0] if isinstance(cache[0], str) else None) == route
    np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    got = fast.conv2d_backward(channels_last(dy), cache)
    assert is_channels_last(got[0])
    assert_close(got, ref.conv2d_backward(dy, c_ref))
    with pytest.raises(ValueError, match="dout has shape"):
        fast.conv2d_backward(dy[:1], cache)


# one geometry per route of the fast convolution: im2col, F(2×2), F(4×4), narrow, 1×1
ROUTES = [(2, 3, 4, 5, 7, 3, 2, 1), (2, 64, 64, 14, 14, 3, 1, 1), (1, 32, 32, 28, 28, 3, 1, 1),
          (2, 6, 1, 5, 5, 3, 1, 1), (2, 3, 4, 5, 7, 1, 1, 0)]


@pytest.mark.parametrize("x_order", ORDERS)
@pytest.mark.parametrize("add_kind", ["residual", "per-sample shift", "per-channel"])
@pytest.mark.parametrize("N,C,O,H,W,k,stride,padding", ROUTES)
def test_conv_add_matches_reference_on_every_route(rng, N, C, O, H, W, k, stride, padding,
                                                    add_kind, x_order):
    """Conv2d(x, add=a) = conv(x) + a, the addend added chunk by chunk in every route."""
    L = dict(ref=ref, fast=fast)
    layers = {name: M.Conv2d(C, O, k, stride, padding, rng=np.random.default_rng(1),
                             dtype=np.float64) for name, M in L.items()}
    x = rng.standard_normal((N, C, H, W))
    Ho, Wo = (H + 2 * padding - k) // stride + 1, (W + 2 * padding - k) // stride + 1
    shape = {"residual": (N, O, Ho, Wo), "per-sample shift": (N, O, 1, 1),
             "per-channel": (1, O, 1, 1)}[add_kind]
    add = ORDERS[x_order](rng.standard_normal(shape)) if len(set(shape)) > 2 else \
        rng.standard_normal(shape)
    want = layers["ref"](x) + add
    got = layers["fast"](ORDERS[x_order](x), add=add)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_conv_add_of_the_wrong_shape_is_one_line(rng):
    layer = fast.Conv2d(3, 4, 3, padding=1, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 3, 5, 5))
    for bad in (np.zeros((2, 3, 5, 5)), np.zeros((4,)), np.zeros((2, 4, 5, 4))):
        with pytest.raises(ValueError, match=r"add must broadcast to the output shape \(2, 4, 5, 5\)"):
            layer(x, add=bad)
    with pytest.raises(TypeError, match="float64"):
        layer(x, add=np.zeros((2, 4, 5, 5), np.float32))


@pytest.mark.parametrize("k,sign", [(3, 1), (3, -1), (5, 1), (5, -1)])
def test_shift_add_against_its_definition(rng, k, sign):
    """out[h, w] = Σ_(i,j) Z[h + sign·(i − p), w + sign·(j − p), tap (i, j)], zero outside."""
    from ddpm_np.nn.fast.conv_narrow import shift_add
    n, H, W, K, p = 2, 4, 6, 3, (k - 1) // 2
    Z = rng.standard_normal((n, H, W, k * k, K))
    want = np.zeros((n, H, W, K))
    for h in range(H):
        for w in range(W):
            for i in range(k):
                for j in range(k):
                    r, c = h + sign * (i - p), w + sign * (j - p)
                    if 0 <= r < H and 0 <= c < W:
                        want[:, h, w] += Z[:, r, c, i * k + j]
    np.testing.assert_allclose(shift_add(Z, np.empty((n, H, W, K)), k, sign), want,
                               rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("x_order", ORDERS)
@pytest.mark.parametrize("N,C,O,H,W", [(1, 1, 1, 1, 1), (2, 3, 4, 3, 5), (3, 4, 2, 4, 4)])
def test_upconv_matches_reference(rng, N, C, O, H, W, x_order):
    x = rng.standard_normal((N, C, H, W))
    Wt, b = rng.standard_normal((O, C, 3, 3)), rng.standard_normal(O)
    y_ref, c_ref = ref.upconv2d_forward(x, Wt, b)
    y, cache = fast.upconv2d_forward(ORDERS[x_order](x), Wt, b, {})
    np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    assert_close(fast.upconv2d_backward(ORDERS[x_order](dy), cache),
                 ref.upconv2d_backward(dy, c_ref))


@pytest.mark.parametrize("name", ["groupnorm", "groupnorm_silu"])
@pytest.mark.parametrize("x_order", ORDERS)
@pytest.mark.parametrize("shape,G", [((3, 8, 5, 7), 4), ((2, 8, 28, 28), 2), ((2, 8, 1, 1), 4),
                                     ((3, 1, 4, 4), 1), ((2, 6, 9), 3), ((0, 4, 2, 2), 2),
                                     ((5, 96, 28, 28), 8)])
def test_groupnorm_and_the_fused_pair_match_reference(rng, shape, G, x_order, name):
    """GroupNorm, and GroupNormSiLU against GroupNorm then SiLU; (5, 96, 28, 28) spans several
    of the fused pass's blocks."""
    if len(shape) != 4 and x_order != "NCHW":
        pytest.skip("channels last is a 4-D layout")
    fwd_ref, bwd_ref = getattr(ref, f"{name}_forward"), getattr(ref, f"{name}_backward")
    fwd, bwd = getattr(fast, f"{name}_forward"), getattr(fast, f"{name}_backward")
    C = shape[1]
    x = rng.standard_normal(shape) * 2 + 1
    scale, shift = np.linspace(0.5, 2, C), np.linspace(-1, 1, C)
    y_ref, c_ref = fwd_ref(x, scale, shift, G)
    y, cache = fwd(ORDERS[x_order](x), scale, shift, G)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    if name == "groupnorm_silu":
        y_inference, _ = fwd(ORDERS[x_order](x), scale, shift, G, keep=False)
        np.testing.assert_array_equal(y_inference, y)
    dy = rng.standard_normal(shape)
    assert_close(bwd(dy, cache), bwd_ref(dy, c_ref))


def test_groupnorm_silu_blocks_do_not_change_the_numbers(rng, monkeypatch):
    """Blocks of one sample or of the whole batch: the same bits (statistics are per sample)."""
    from ddpm_np.nn.fast import norm_silu
    x = channels_last(rng.standard_normal((6, 8, 5, 5)).astype(np.float32))
    dy = rng.standard_normal(x.shape).astype(np.float32)
    scale, shift = np.linspace(0.5, 2, 8, dtype=np.float32), np.zeros(8, np.float32)
    results = []
    for block in (1, 1 << 30):
        monkeypatch.setattr(norm_silu, "BLOCK_BYTES", block)
        y, cache = fast.groupnorm_silu_forward(x, scale, shift, 4)
        results.append((y, *fast.groupnorm_silu_backward(dy, cache)))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_groupnorm_silu_backward_needs_a_training_forward(rng):
    layer = fast.GroupNormSiLU(2, 4)
    x = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    layer.eval()
    layer.forward(x)                      # inference: tanh h is not kept
    with pytest.raises(RuntimeError, match="keep=False"):
        layer.backward(np.ones_like(x))
    layer.train()
    layer(x)
    with pytest.raises(ValueError, match="dout has shape"):
        layer.backward(x[:, :, :2])


@pytest.mark.parametrize("shape", [(3, 6), (2, 700, 6), (3000, 6)])
def test_linear_matches_reference(rng, shape):
    """Few rows: one product; many (≥ MIN_ROWS): row chunks on every core."""
    x, W, b = rng.standard_normal(shape), rng.standard_normal((6, 4)), rng.standard_normal(4)
    y_ref, c_ref = ref.linear_forward(x, W, b)
    y, cache = fast.linear_forward(x, W, b)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    assert_close(fast.linear_backward(dy, cache), ref.linear_backward(dy, c_ref))


@pytest.mark.parametrize("N,L,C", [(1, 4, 3), (40, 49, 16)])
def test_attend_matches_reference(rng, N, L, C):
    q, k, v = (rng.standard_normal((N, L, C)) for _ in range(3))
    o_ref, A_ref = ref.attend_forward(q, k, v, 0.25)
    o, A = fast.attend_forward(q, k, v, 0.25)
    np.testing.assert_allclose(o, o_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(A, A_ref, rtol=1e-12, atol=1e-14)
    do = rng.standard_normal(o.shape)
    assert_close(fast.attend_backward(do, q, k, v, A, 0.25),
                 ref.attend_backward(do, q, k, v, A_ref, 0.25))


@pytest.mark.parametrize("x_order", ORDERS)
@pytest.mark.parametrize("shape", [(3, 4, 5, 7), (0, 4, 2, 2), (5, 3), ()])
def test_silu_matches_reference(rng, shape, x_order):
    if len(shape) != 4 and x_order != "NCHW":
        pytest.skip("channels last is a 4-D layout")
    x = rng.standard_normal(shape) * 4
    y_ref, c_ref = ref.silu_forward(x)
    y, cache = fast.silu_forward(ORDERS[x_order](x))
    np.testing.assert_allclose(y, y_ref, rtol=1e-14, atol=1e-15)
    dy = rng.standard_normal(shape)
    np.testing.assert_allclose(fast.silu_backward(dy, cache), ref.silu_backward(dy, c_ref),
                               rtol=1e-13, atol=1e-15)


def test_fast_layers_return_channels_last_memory_and_keep_it(rng):
    """Channels-last memory in, channels-last out: the model between layers never copies."""
    x = channels_last(rng.standard_normal((2, 4, 6, 6)).astype(np.float32))
    layers = [fast.Conv2d(4, 6, 3, padding=1, rng=rng), fast.GroupNorm(2, 6), fast.SiLU(),
              fast.GroupNormSiLU(3, 6),
              fast.Conv2d(6, 8, 1, rng=rng), fast.SelfAttention2d(8, 2, rng=rng),
              fast.Conv2d(8, 8, 3, stride=2, padding=1, rng=rng), fast.UpsampleConv2d(8, 4, rng=rng)]
    h = x
    for layer in layers:
        h = layer(h)
        assert is_channels_last(h), type(layer).__name__
    d = channels_last(np.ones(h.shape, np.float32))
    for layer in reversed(layers):
        d = layer.backward(d)
        assert is_channels_last(d), type(layer).__name__


@pytest.mark.parametrize("name", ["Conv2d", "GroupNorm", "GroupNormSiLU", "SiLU", "Linear",
                                  "SelfAttention2d", "UpsampleConv2d"])
def test_fast_module_matches_reference_module_in_float32(rng, name):
    """The same parameters give the same numbers within float32 rounding."""
    make = {"Conv2d": lambda L: L.Conv2d(8, 6, 3, stride=2, padding=1, rng=np.random.default_rng(0)),
            "GroupNorm": lambda L: L.GroupNorm(4, 8),
            "GroupNormSiLU": lambda L: L.GroupNormSiLU(4, 8),
            "SiLU": lambda L: L.SiLU(),
            "Linear": lambda L: L.Linear(7, 5, rng=np.random.default_rng(0)),
            "SelfAttention2d": lambda L: L.SelfAttention2d(8, 4, rng=np.random.default_rng(0)),
            "UpsampleConv2d": lambda L: L.UpsampleConv2d(8, 6, rng=np.random.default_rng(0))}
    a, b = make[name](ref), make[name](fast)
    assert type(b) is not type(a) and isinstance(b, type(a))
    x = (rng.standard_normal((4, 8, 7, 7)) * 2 + 0.5).astype(np.float32)
    y_a, y_b = a(x), b(channels_last(x))
    assert y_b.dtype == np.float32
    np.testing.assert_allclose(y_b, y_a, rtol=1e-4, atol=1e-5)
    dy = rng.standard_normal(y_a.shape).astype(np.float32)
    np.testing.assert_allclose(b.backward(dy), a.backward(dy), rtol=1e-4, atol=1e-5)
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(q.grad, p.grad, rtol=1e-4, atol=1e-4, err_msg=n)


@pytest.mark.parametrize("stride", [1, 2])
def test_reused_workspace_keeps_its_zero_border(rng, stride):
    """The padded buffers are zeroed once and only their interior is written after that: a
    second call with other data must still see zero padding (forward and backward)."""
    conv = fast.Conv2d(3, 4, 3, stride, padding=1, rng=rng, dtype=np.float64)
    for _ in range(2):
        x = rng.standard_normal((2, 3, 6, 5)) * 10
        y_ref, c_ref = ref.conv2d_forward(x, conv.W.data, conv.b.data, stride, 1)
        np.testing.assert_allclose(conv(x), y_ref, rtol=1e-10, atol=1e-12)
        dy = rng.standard_normal(y_ref.shape)
        conv.zero_grad()
        dx = conv.backward(dy)
        ndx, ndW, _ = ref.conv2d_backward(dy, c_ref)
        np.testing.assert_allclose(dx, ndx, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(conv.W.grad, ndW, rtol=1e-10, atol=1e-12)


def test_workspace_follows_the_batch_size_and_can_be_freed(rng):
    conv = fast.Conv2d(3, 5, 3, padding=1, rng=rng)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    y1 = conv(x).copy()
    y2 = conv(x[:1].copy()).copy()        # another batch size re-allocates the workspace
    np.testing.assert_array_equal(conv(x), y1)
    np.testing.assert_array_equal(y2, y1[:1])
    conv.free_workspace()
    with pytest.raises(RuntimeError, match="before forward"):
        conv.backward(y1)


def test_one_workspace_shared_by_two_paddings(rng):
    """(6×6, padding 1) and (8×8, padding 0) both need an 8×8 padded buffer; the second fills all
    of it, so sharing one buffer would leave data where the first expects its zero border."""
    ws = {}
    Wt, b = rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2)
    x6, x8 = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((2, 3, 8, 8)) + 5
    for x, p in ((x6, 1), (x8, 0), (x6, 1)):
        y, _ = fast.conv2d_forward(x, Wt, b, 1, p, ws)
        np.testing.assert_allclose(y, ref.conv2d_naive(x, Wt, b, 1, p), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("k,stride,padding", [(3, 1, 1), (3, 2, 1), (3, 3, 2), (2, 2, 0),
                                              (5, 2, 2), (1, 2, 0)])
def test_every_kernel_offset_serves_exactly_one_phase(k, stride, padding):
    """The phase split of dx performs the multiply-adds of dy·Wᵀ, no more: each kernel offset
    (u, v) belongs to one phase of x, and the phases tile x."""
    H, Wd = 9, 8
    Ho, Wo = ref.conv_output_size(H, k, stride, padding), ref.conv_output_size(Wd, k, stride,
                                                                               padding)
    _, plan = phase_plan(H, Wd, Ho, Wo, k, k, stride, padding)
    taps = sorted((u, v) for *_, us, vs in plan for u in us for v in vs)
    assert taps == [(u, v) for u in range(k) for v in range(k)]
    assert sum(Ma * Mb for _, _, Ma, Mb, *_ in plan) == H * Wd


@pytest.mark.parametrize("k,stride", [(2, 1), (3, 1), (3, 2), (2, 2), (3, 3)])
def test_nhwc_col2im_is_the_adjoint_of_im2col(rng, k, stride):
    """⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩: the grouping of overlapping windows into disjoint sets
    loses no contribution (checked beyond the 2×2, stride-1 case the up-sampling uses)."""
    from ddpm_np.nn.fast.im2col import im2col_nhwc
    from ddpm_np.nn.fast.upconv import _col2im
    n, Hp, Wp, C = 2, 8, 7, 3
    Ho, Wo = (Hp - k) // stride + 1, (Wp - k) // stride + 1
    xp = rng.standard_normal((n, Hp, Wp, C))
    c = rng.standard_normal((n * Ho * Wo, k * k * C))
    cols = im2col_nhwc(xp, k, k, stride, Ho, Wo, np.empty_like(c))
    back = _col2im(c, k, k, stride, 0, Ho, Wo, np.empty_like(xp))
    np.testing.assert_allclose(np.sum(cols * c), np.sum(xp * back), rtol=1e-12)


def test_every_reference_name_has_a_fast_twin():
    """`layers("fast")` serves wherever `layers("reference")` does."""
    missing = [n for n in ref.__all__ if not hasattr(fast, n)]
    assert not missing
    for name in ("Linear", "Conv2d", "GroupNormSiLU", "SelfAttention2d"):
        twin, reference = getattr(fast, name), getattr(ref, name)
        assert twin is not reference and issubclass(twin, reference)
    assert fast.Sequential is ref.Sequential          # containers need no twin
