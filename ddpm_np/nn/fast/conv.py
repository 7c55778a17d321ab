"""2-D convolution, fast tier: im2col and one GEMM per chunk of the batch, on every core.

Same numbers as the reference `ddpm_np.nn.conv2d_forward` (tested against it and the naive
loops); what differs is where the work happens:

    xp    (N, Hp, Wp, C)            padded, channels last: a window row is contiguous memory
    cols  (n·Ho·Wo, kh·kw·C)        one chunk's im2col rows, ordered (kh, kw, C), in a scratch
                                    buffer that stays in this core's cache
    Wm    (kh·kw·C, O)              W (O, C, kh, kw) reordered to match
    y     = cols · Wm + b           "mk,ko->mo", written straight into the (N, Ho, Wo, O) output

Backward (the multiply-adds of two more GEMMs):
    dW    = colsᵀ · dy              "mk,mo->ko", cols rebuilt per chunk from xp: re-gathering a
                                    chunk that then stays in cache costs less than writing the
                                    whole patch matrix (kh·kw times the input) and reading it back
    dx    per phase (h mod s, w mod s) of x, an im2col of the zero-padded dy times the kernel
          offsets that reach that phase, "mk,kc->mc" (conv_phases.py; for stride 1, one phase:
          the padded dy convolved with the flipped kernel). No col2im, no scatter-add.

Layout: outputs are (N, C, H, W) arrays with channels-last memory (layout.py); inputs may be
either, a channels-last one is read without a transposing copy.

The other routes, chosen by shape (a rule of the shapes alone, so that a layer always gives
the same numbers): a 1×1 convolution is a matrix product over channels (conv1x1.py); a 3×3,
stride-1, padding-1 one between enough channels (`use_winograd`) runs Winograd's F(2×2, 3×3) or
F(4×4, 3×3), forward, dx and dW (conv_winograd.py, winograd.py): 2.25× or 4× fewer multiply-adds;
a "same" stride-1 one with at most 3 channels on one side forms its products on the wide side
(conv_narrow.py). Every route adds the bias, and `add` if given, to each chunk of its output
while it is in cache (im2col.epilogue); the windows and copies they share are in im2col.py.

Memory: each layer's workspace keeps the padded input xp (the forward pass's cache) and, per
thread, one chunk's scratch buffers, re-allocated only when the input shape changes. The cache of
a forward pass therefore refers to the workspace and is valid until the layer's next forward.
"""
import numpy as np

from ..conv import check_conv_geometry, conv_output_size
from .conv1x1 import conv1x1_backward, conv1x1_forward
from .conv_narrow import (NARROW_CHANNELS, narrow_backward, narrow_forward, narrow_input,
                          narrow_output, shift_add)
from .conv_phases import phase_plan, phase_weights
from .conv_winograd import winograd_backward, winograd_forward
from .im2col import epilogue, gather, pad_into, patches
from .layout import buffer, nchw, nhwc
from . import tuning
from .threads import chunk_bounds, chunk_bytes, largest, num_threads, run_chunks

# Where Winograd paid on a 2-core AMD EPYC (per layer at batch 64; docs/performance.md), as
# (m of F(m×m, 3×3), fewest pixels, fewest channels in and out together), the first that fits:
# F(4×4) on images of at least 28×28 whose sides 4 divides (tiles hanging over the edge cost
# it more than F(2×2) at 14×14) with 64 channels; F(2×2) from 14×14 with 128 channels. Below,
# the transforms cost what they save, and at 7×7 a third of the tiles' outputs fall outside the
# image.
WINOGRAD_ROUTES = ((4, 28 * 28, 64), (2, 14 * 14, 128))


def check_addend(add, out_shape):
    """Raise ValueError unless `add` broadcasts to the output shape (N, O, Ho, Wo) as it is."""
    shape = getattr(add, "shape", None)
    if shape is None or len(shape) != 4 or any(a not in (1, o) for a, o in zip(shape, out_shape)):
        raise ValueError(f"Conv2d: add must broadcast to the output shape {tuple(out_shape)}, "
                         f"got {shape}")


def use_winograd(kh, kw, stride, padding, C, O, H, W) -> int:
    """The output tile m (0: none) of Winograd's F(m×m, 3×3) for a 3×3, stride-1, padding-1
    convolution (C → O channels on H×W), by WINOGRAD_ROUTES. A rule of the shapes alone, so
    that a layer always takes the same route (same numbers, run after run)."""
    if (kh, kw, stride, padding) != (3, 3, 1, 1):
        return 0
    for m, min_pixels, min_channels in WINOGRAD_ROUTES:
        if (H * W >= min_pixels and C + O >= min_channels
                and (m == 2 or (H % m == 0 and W % m == 0))):
            return m
    return 0


def route(kh, kw, stride, padding, C, O, H, W, winograd=None, narrow=NARROW_CHANNELS, N=None,
          dtype=np.float32) -> tuple:
    """The route a convolution takes: ("1x1", 0), ("narrow", 0) (few output channels:
    conv_narrow.py), ("winograd", m) or ("im2col", 0). Few input channels keep the im2col route,
    whose backward pass then takes dx by the narrow route. Between im2col, F(2×2) and F(4×4)
    for a 3×3, stride-1, padding-1 convolution: the rule of the shapes (`use_winograd`), or
    with calibration on (tuning.py) the fastest on this machine for a batch of about N
    (measured the first time, if N is given). The benchmarks compare the routes through two
    arguments: `winograd` (0, 2 or 4) overrides both, and `narrow` is the most channels the
    narrow side may have (0: no narrow route)."""
    if (kh, kw, stride, padding) == (1, 1, 1, 0):
        return "1x1", 0
    if narrow_output(kh, kw, stride, padding, C, O, narrow):
        return "narrow", 0
    if winograd is not None:
        if winograd not in (0, 2, 4) or (winograd and (kh, kw, stride, padding) != (3, 3, 1, 1)):
            raise ValueError(f"winograd must be 0, 2 or 4, and only for a 3×3, stride-1, "
                             f"padding-1 convolution; got {winograd!r}")
        m = winograd
    else:
        m = 0 if narrow_input(kh, kw, stride, padding, C, O, narrow) else \
            use_winograd(kh, kw, stride, padding, C, O, H, W)
        if (kh, kw, stride, padding) == (3, 3, 1, 1) and narrow == NARROW_CHANNELS and \
                not narrow_input(kh, kw, stride, padding, C, O, narrow):
            m = calibrated_winograd(C, O, H, W, N, np.dtype(dtype), m)
    return ("winograd", m) if m else ("im2col", 0)


def batch_class(N) -> int:
    """The batch a choice is measured at and remembered for: the power of two ≤ N."""
    return 1 << (max(int(N or 1), 1).bit_length() - 1)


def winograd_key(C, O, H, W, n, dtype) -> str:
    """The name of a 3×3 convolution's route choice in the calibration table."""
    return f"conv 3x3 {C}->{O} @{H}x{W}, batch {n}, {np.dtype(dtype).name}, " \
           f"{num_threads()} threads"


def calibrated_chunk_bytes() -> int:
    """The chunk size (threads.chunk_bytes) this machine runs fastest, measured on a 32→32
    convolution at 28×28, batch 64, forward and backward."""
    def seconds(_candidate):
        rng = np.random.default_rng(0)
        x = rng.standard_normal((64, 32, 28, 28), dtype=np.float32)
        W = rng.standard_normal((32, 32, 3, 3), dtype=np.float32)
        b, dy, ws = np.zeros(32, np.float32), np.ones((64, 32, 28, 28), np.float32), {}
        return tuning.best_seconds(lambda: conv2d_backward(
            dy, conv2d_forward(x, W, b, 1, 1, ws, winograd=0)[1]))

    return chunk_bytes(seconds)


def calibrated_winograd(C, O, H, W, N, dtype, rule) -> int:
    """im2col (0), F(2×2) or F(4×4) for a 3×3 "same" convolution C → O on H×W: this machine's
    fastest for batches of about N (a power of two ≤ N), forward and backward (tuning.py)."""
    calibrated_chunk_bytes()        # calibrated first: the routes are timed with it
    n = batch_class(N)
    key = winograd_key(C, O, H, W, n, dtype)

    def seconds(m):
        rng = np.random.default_rng(0)
        x = rng.standard_normal((n, C, H, W)).astype(dtype)
        Wt = rng.standard_normal((O, C, 3, 3)).astype(dtype)
        b, dy, ws = np.zeros(O, dtype), np.ones((n, O, H, W), dtype), {}
        return tuning.best_seconds(lambda: conv2d_backward(
            dy, conv2d_forward(x, Wt, b, 1, 1, ws, winograd=m)[1]))

    return tuning.choose(key, (0, 2, 4), rule, seconds if N is not None else None)


def conv2d_forward(x, W, b, stride=1, padding=0, workspace=None, add=None, winograd=None,
                   narrow=NARROW_CHANNELS):
    """As `ddpm_np.nn.conv2d_forward`, plus `add`: x (N, C, H, W) -> y (N, O, Ho, Wo) (+ add,
    an array broadcastable to y, added chunk by chunk), channels-last memory. `winograd`,
    `narrow`: see `route` (the defaults: the rule of the shapes).

    The batch is cut into chunks (`threads.chunk_bounds`); each chunk goes through steps 1–3 on
    one core. workspace: optional dict of reusable buffers (a layer passes its own).
    Cache: (xp, x.shape, W, stride, padding, workspace, narrow_dx), xp the padded NHWC input,
    narrow_dx whether the backward pass takes dx by the narrow route.
    """
    check_conv_geometry(x.shape, W.shape, stride, padding)
    N, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    if add is not None:
        Ho = conv_output_size(H, kh, stride, padding)
        Wo = conv_output_size(Wd, kw, stride, padding)
        check_addend(add, (N, O, Ho, Wo))
    name, m = route(kh, kw, stride, padding, C, O, H, Wd, winograd, narrow, N, x.dtype)
    if name == "1x1":
        return conv1x1_forward(x, W, b, add)
    if name == "narrow":
        return narrow_forward(x, W, b, workspace, add)
    if name == "winograd":
        return winograd_forward(x, W, b, workspace, m, add)
    Ho = conv_output_size(H, kh, stride, padding)
    Wo = conv_output_size(Wd, kw, stride, padding)
    p, P, K = padding, Ho * Wo, kh * kw * C
    xp = buffer(workspace, ("xp", p), (N, H + 2 * p, Wd + 2 * p, C), x.dtype, zeros=True)
    Wm = W.transpose(2, 3, 1, 0).reshape(K, O)      # rows ordered (kh, kw, C) like cols
    out = np.empty((N, Ho, Wo, O), x.dtype)
    x_nhwc = nhwc(x)
    chunks = chunk_bounds(N, P * K * x.itemsize)
    rows = largest(chunks) * P
    win = patches(xp, kh, kw, stride, Ho, Wo)
    finish = epilogue(b, add)

    def chunk(_, n0, n1, w):
        n = n1 - n0
        # 1. copy into the zero-bordered buffer (rows of C numbers if x is channels last)
        pad_into(x_nhwc[n0:n1], p, p, xp[n0:n1])
        # 2. im2col (one gather copy) into this thread's scratch
        cols = gather(win[n0:n1], buffer(workspace, ("cols", w), (rows, K), x.dtype)[:n * P])
        # 3. the GEMM "mk,ko->mo", written into the output: m = n·Ho·Wo rows ordered (n, Ho, Wo)
        np.matmul(cols, Wm, out=out[n0:n1].reshape(n * P, O))
        finish(out[n0:n1], n0, n1)

    run_chunks(chunk, chunks)
    narrow_dx = narrow_input(kh, kw, stride, padding, C, O, narrow)
    return nchw(out), (xp, x.shape, W, stride, padding, workspace, narrow_dx)


def conv2d_backward(dout, cache):
    """Gradients (dx, dW, db) of the fast conv2d_forward; dx with channels-last memory.

    Math: dW = colsᵀ·dy ("mk,mo->ko"), db = Σ dy, and dx = ∂/∂x of Σ dy·y, computed as s²
    stride-1 convolutions of the zero-padded dy, one per phase (h mod s, w mod s) of x
    (conv_phases.py; for stride 1, the flipped kernel). Chunked over the batch like the forward
    pass; dW and db are summed over the chunks' partial sums in chunk order, so the result does
    not depend on the thread count.
    """
    if isinstance(cache[0], str):           # "1x1", "narrow" or "winograd"
        route = {"1x1": conv1x1_backward, "narrow": narrow_backward,
                 "winograd": winograd_backward}[cache[0]]
        return route(dout, *cache[1:])
    xp, x_shape, W, stride, padding, ws, narrow = cache
    N, C, H, Wd = x_shape
    O, _, kh, kw = W.shape
    Ho = conv_output_size(H, kh, stride, padding)
    Wo = conv_output_size(Wd, kw, stride, padding)
    if dout.shape != (N, O, Ho, Wo):
        raise ValueError(f"conv2d_backward: dout has shape {dout.shape}, expected "
                         f"{(N, O, Ho, Wo)}")
    P, K, dt = Ho * Wo, kh * kw * C, dout.dtype
    pads, plan = phase_plan(H, Wd, Ho, Wo, kh, kw, stride, padding)
    Wph = phase_weights(W, plan)
    top, left, bottom, right = pads
    chunks = chunk_bounds(N, P * K * dout.itemsize)     # as in the forward pass: same scratch
    n_max = largest(chunks)
    dW_parts = np.empty((len(chunks), K, O), dt)
    db_parts = np.empty((len(chunks), O), dt)
    dx = np.empty((N, H, Wd, C), dt)
    if kh < stride or kw < stride:
        dx.fill(0)                                      # phases no kernel offset reaches
    dcols_size = max(Ma * Mb * len(us) * len(vs) for _, _, Ma, Mb, _, _, us, vs in plan) * O
    dout_nhwc = nhwc(dout)
    # dx of a convolution from few channels: dy·[W_dᵀ] then shifted sums (conv_narrow.py)
    Wt = W.transpose(0, 2, 3, 1).reshape(O, kh * kw * C) if narrow else None

    win = patches(xp, kh, kw, stride, Ho, Wo)
    views = {}                  # per worker: the windows of its dy buffer, made once a call

    def dy_view(key, full, make):
        if key not in views:
            views[key] = make(full)
        return views[key]

    def chunk(i, n0, n1, w):
        n = n1 - n0
        # 1. the chunk's patch rows, rebuilt from xp (cheaper than keeping them all)
        cols = gather(win[n0:n1], buffer(ws, ("cols", w), (n_max * P, K), dt)[:n * P])
        # 2. db and dW partial sums, rows (n, Ho, Wo) of dy against those of cols
        dy = np.ascontiguousarray(dout_nhwc[n0:n1]).reshape(n * P, O)
        np.matmul(np.ones(n * P, dt), dy, out=db_parts[i])          # Σ dy: a GEMV
        np.matmul(cols.T, dy, out=dW_parts[i])
        if narrow:                      # 3''. dx[q] = Σ_d (dy·W_dᵀ)[q − d]
            Z = buffer(ws, ("narrow_Z", w), (n_max * P, kh * kw * C), dt)[:n * P]
            np.matmul(dy, Wt, out=Z)
            shift_add(Z.reshape(n, H, Wd, kh * kw, C), dx[n0:n1], kh, -1)
            return
        # 3. dy into its zero-bordered buffer, then per phase of x: windows of dy, one GEMM
        dyp = buffer(ws, ("dyp", w) + pads, (n_max, Ho + top + bottom, Wo + left + right, O),
                     dt, zeros=True)
        pad_into(dy.reshape(n, Ho, Wo, O), top, left, dyp[:n])
        dcols_all = buffer(ws, ("dcols", w), (n_max * dcols_size,), dt)
        for k, ((a, b, Ma, Mb, r0, c0, us, vs), Wp) in enumerate(zip(plan, Wph)):
            if Wp is None or not Ma * Mb:
                continue
            dcols = dcols_all[:n * Ma * Mb * Wp.shape[0]].reshape(n * Ma * Mb, Wp.shape[0])
            gather(dy_view((k, w), dyp, lambda a: patches(a[:, r0:, c0:], len(us), len(vs), 1,
                                                           Ma, Mb))[:n], dcols)
            if stride == 1:                                     # the GEMM writes dx itself
                np.matmul(dcols, Wp, out=dx[n0:n1].reshape(n * H * Wd, C))
            else:
                dx[n0:n1, a::stride, b::stride] = (dcols @ Wp).reshape(n, Ma, Mb, C)

    run_chunks(chunk, chunks)
    dW = dW_parts.sum(axis=0).reshape(kh, kw, C, O).transpose(3, 2, 0, 1)
    return nchw(dx), np.ascontiguousarray(dW), db_parts.sum(axis=0)
