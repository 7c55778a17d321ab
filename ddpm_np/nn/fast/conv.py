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

A 1×1 convolution with stride 1 and no padding needs none of this: it is a matrix product over
channels, done on the arrays in the memory order they come in. A 3×3 convolution with stride 1
and padding 1 between enough channels (`use_winograd`) replaces the im2col GEMM of the forward
pass and of dx by Winograd's F(2×2, 3×3) or F(4×4, 3×3) (winograd.py): 2.25× or 4× fewer
multiply-adds.

Memory: each layer's workspace keeps the padded input xp (the forward pass's cache) and, per
thread, one chunk's scratch buffers, re-allocated only when the input shape changes. The cache of
a forward pass therefore refers to the workspace and is valid until the layer's next forward.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..conv import check_addend, check_conv_geometry, conv_output_size
from .conv_narrow import narrow_input, narrow_output, shift_add, tap_matrix
from .conv_phases import phase_plan, phase_weights
from .layout import buffer, is_channels_last, nchw, nhwc
from .threads import chunk_bounds, largest, run_chunks
from .winograd import (padded_shape, tile_view, transform_weights, weight_grad,
                       weight_grad_chunk, winograd_chunk)

# Where Winograd paid on this machine (docs/performance.md, per layer at batch 64), as
# (m of F(m×m, 3×3), fewest pixels, fewest channels in and out together), the first that fits:
# F(4×4) on images of at least 28×28 whose sides 4 divides (tiles hanging over the edge cost
# it more than F(2×2) at 14×14) with 64 channels; F(2×2) from 14×14 with 128 channels. Below,
# the transforms cost what they save, and at 7×7 a third of the tiles' outputs fall outside
WINOGRAD_ROUTES = ((4, 28 * 28, 64), (2, 14 * 14, 128))


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


def patches(xp, kh, kw, stride, Ho, Wo):
    """The windows of a padded NHWC array as a view, (n, Hp, Wp, C) -> (n, Ho, Wo, kh, kw, C).
    Made once per layer call and sliced per chunk: making the view costs ~10 µs of Python,
    during which the other threads wait for the interpreter."""
    win = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::stride, ::stride][:, :Ho, :Wo]
    return win.transpose(0, 1, 2, 4, 5, 3)


def gather(win, out):
    """im2col of a chunk: its windows (n, Ho, Wo, kh, kw, C) copied into the patch rows
    `out` (n·Ho·Wo, kh·kw·C) by one copy."""
    np.copyto(out.reshape(win.shape), win)
    return out


def im2col_nhwc(xp, kh, kw, stride, Ho, Wo, out):
    """Patch rows of a padded NHWC array: (n, Hp, Wp, C) -> (n·Ho·Wo, kh·kw·C), into `out`."""
    return gather(patches(xp, kh, kw, stride, Ho, Wo), out)


def pad_into(x_nhwc, top, left, out):
    """Copy an NHWC array (or NHWC view) into the interior of `out`, a padded buffer whose zero
    border stays zero (see layout.buffer)."""
    _, H, W, _ = x_nhwc.shape
    out[:, top:top + H, left:left + W] = x_nhwc
    return out


def _epilogue(b, add, channels_last=True):
    """The per-chunk end of every route: out[n0:n1] += b, and += add (an array broadcastable
    to the output, e.g. a residual or a per-sample shift), while the chunk is in cache."""
    if not channels_last:
        b = b[:, None, None]                            # out (n, O, H, W)
    if add is None:
        def finish(out, n0, n1):
            out += b
        return finish
    a = nhwc(add) if channels_last else add
    per_sample = a.shape[0] != 1

    def finish(out, n0, n1):
        out += b
        out += a[n0:n1] if per_sample else a

    return finish


def conv2d_forward(x, W, b, stride=1, padding=0, workspace=None, add=None):
    """As `ddpm_np.nn.conv2d_forward`, plus `add`: x (N, C, H, W) -> y (N, O, Ho, Wo) (+ add,
    an array broadcastable to y, added chunk by chunk), channels-last memory.

    The batch is cut into chunks (`threads.chunk_bounds`); each chunk goes through steps 1–3 on
    one core. workspace: optional dict of reusable buffers (a layer passes its own).
    Cache: (xp, x.shape, W, stride, padding, workspace), xp the padded NHWC input.
    """
    check_conv_geometry(x.shape, W.shape, stride, padding)
    N, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    if add is not None:
        Ho = conv_output_size(H, kh, stride, padding)
        Wo = conv_output_size(Wd, kw, stride, padding)
        check_addend(add, (N, O, Ho, Wo))
    if (kh, kw, stride, padding) == (1, 1, 1, 0):
        return _conv1x1_forward(x, W, b, add)
    m = use_winograd(kh, kw, stride, padding, C, O, H, Wd)
    if m:
        return _winograd_forward(x, W, b, workspace, m, add)
    if narrow_output(kh, kw, stride, padding, C, O):
        return _narrow_forward(x, W, b, workspace, add)
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
    finish = _epilogue(b, add)

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
    return nchw(out), (xp, x.shape, W, stride, padding, workspace)


def _winograd_forward(x, W, b, workspace, m, add=None):
    """The 3×3 stride-1 forward pass by F(2×2, 3×3), chunked like the im2col route; the cache is
    the im2col route's (the padded input, as a view of the Winograd route's larger buffer)."""
    N, C, H, Wd = x.shape
    O = W.shape[0]
    xp = buffer(workspace, ("xp_wg", m), padded_shape(N, H, Wd, C, m), x.dtype, zeros=True)
    U = transform_weights(W, m)
    out = np.empty((N, H, Wd, O), x.dtype)
    x_nhwc = nhwc(x)
    chunks = chunk_bounds(N, (m + 2) ** 2 * H * Wd * (C + O) * x.itemsize // m ** 2)
    n_max = largest(chunks)
    tv = tile_view(xp, H, Wd, m)
    finish = _epilogue(b, add)

    def chunk(_, n0, n1, w):
        pad_into(x_nhwc[n0:n1], 1, 1, xp[n0:n1])
        winograd_chunk(tv[n0:n1], U, out[n0:n1], workspace, w, n_max)
        finish(out[n0:n1], n0, n1)

    run_chunks(chunk, chunks)
    return nchw(out), ("winograd", xp, x.shape, W, m, workspace)


def _narrow_forward(x, W, b, workspace, add=None):
    """A "same" stride-1 convolution to a few channels (conv_narrow.py): per chunk, one GEMM
    Z = x·[W_d] over the taps d, then y[q] = Σ_d Z[q + d, d] + b."""
    N, C, H, Wd = x.shape
    O, _, k, _ = W.shape
    x_nhwc = np.ascontiguousarray(nhwc(x))
    Tm = tap_matrix(W)
    out = np.empty((N, H, Wd, O), x.dtype)
    chunks = chunk_bounds(N, H * Wd * (C + k * k * O) * x.itemsize)
    rows = largest(chunks) * H * Wd
    finish = _epilogue(b, add)

    def chunk(_, n0, n1, w):
        n = n1 - n0
        Z = buffer(workspace, ("narrow_Z", w), (rows, k * k * O), x.dtype)[:n * H * Wd]
        np.matmul(x_nhwc[n0:n1].reshape(n * H * Wd, C), Tm, out=Z)
        shift_add(Z.reshape(n, H, Wd, k * k, O), out[n0:n1], k, +1)
        finish(out[n0:n1], n0, n1)

    run_chunks(chunk, chunks)
    return nchw(out), ("narrow", x_nhwc, W, workspace)


def _narrow_backward(dout, x_nhwc, W, ws):
    """Gradients of _narrow_forward: one im2col of the padded dy (k·k·O columns, few) per chunk
    serves both dx = D·W_flipped (the stride-1 phase route) and dW = xᵀ·D (taps flipped)."""
    N, H, Wd, C = x_nhwc.shape
    O, _, k, _ = W.shape
    if dout.shape != (N, O, H, Wd):
        raise ValueError(f"conv2d_backward: dout has shape {dout.shape}, expected "
                         f"{(N, O, H, Wd)}")
    p, dt = (k - 1) // 2, dout.dtype
    dy = np.ascontiguousarray(nhwc(dout))
    W_flip = W[:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(k * k * O, C)
    chunks = chunk_bounds(N, H * Wd * (C + k * k * O) * dout.itemsize)
    n_max = largest(chunks)
    dW_parts = np.empty((len(chunks), C, k * k * O), dt)
    db_parts = np.empty((len(chunks), O), dt)
    dx = np.empty((N, H, Wd, C), dt)

    def chunk(i, n0, n1, w):
        n, M = n1 - n0, (n1 - n0) * H * Wd
        dyp = buffer(ws, ("narrow_dyp", w), (n_max, H + 2 * p, Wd + 2 * p, O), dt,
                     zeros=True)[:n]
        pad_into(dy[n0:n1], p, p, dyp)
        D = buffer(ws, ("narrow_D", w), (n_max * H * Wd, k * k * O), dt)[:M]
        im2col_nhwc(dyp, k, k, 1, H, Wd, D)             # D[q, (u, v)] = dy[q + (u, v) − p]
        np.matmul(D, W_flip, out=dx[n0:n1].reshape(M, C))
        np.matmul(x_nhwc[n0:n1].reshape(M, C).T, D, out=dW_parts[i])
        np.matmul(np.ones(M, dt), dy[n0:n1].reshape(M, O), out=db_parts[i])

    run_chunks(chunk, chunks)
    dW = dW_parts.sum(axis=0).reshape(C, k, k, O)[:, ::-1, ::-1].transpose(3, 0, 1, 2)
    return nchw(dx), np.ascontiguousarray(dW), db_parts.sum(axis=0)


def _winograd_backward(dout, xp, x_shape, W, m, ws):
    """Gradients of _winograd_forward, all three by F(m×m, 3×3) per chunk: db = Σ dy; dW in the
    transformed domain (winograd.weight_grad_chunk) from the input tiles and dy's output blocks;
    dx = dy ⋆ flipped W, dy zero-bordered in a buffer whose interior also gives the blocks."""
    N, C, H, Wd = x_shape
    O = W.shape[0]
    if dout.shape != (N, O, H, Wd):
        raise ValueError(f"conv2d_backward: dout has shape {dout.shape}, expected "
                         f"{(N, O, H, Wd)}")
    dt, a2 = dout.dtype, (m + 2) ** 2
    th, tw = -(-H // m), -(-Wd // m)
    U_flip = transform_weights(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3), m)
    chunks = chunk_bounds(N, a2 * H * Wd * (C + O) * dout.itemsize // m ** 2)
    n_max = largest(chunks)
    dU_parts = np.empty((len(chunks), a2, C, O), dt)
    db_parts = np.empty((len(chunks), O), dt)
    dx = np.empty((N, H, Wd, C), dt)
    dy = nhwc(dout)
    tv = tile_view(xp, H, Wd, m)
    views = {}                  # per worker: the tiles of its dy buffer, made once a call

    def chunk(i, n0, n1, w):
        n = n1 - n0
        dyc = np.ascontiguousarray(dy[n0:n1])
        np.matmul(np.ones(n * H * Wd, dt), dyc.reshape(-1, O), out=db_parts[i])
        dyp = buffer(ws, ("dyp_wg", w, m), padded_shape(n_max, H, Wd, O, m), dt, zeros=True)
        pad_into(dyc, 1, 1, dyp[:n])
        blocks = dyp[:n, 1:1 + m * th, 1:1 + m * tw].reshape(n, th, m, tw, m, O)
        weight_grad_chunk(tv[n0:n1], blocks, dU_parts[i], ws, w, n_max)
        if w not in views:
            views[w] = tile_view(dyp, H, Wd, m)
        winograd_chunk(views[w][:n], U_flip, dx[n0:n1], ws, w, n_max)

    run_chunks(chunk, chunks)
    return nchw(dx), weight_grad(dU_parts.sum(axis=0)), db_parts.sum(axis=0)


def _conv1x1_forward(x, W, b, add=None):
    """y[n] = W·x[n] + b over channels, in x's memory order: one (n·H·W, C)·(C, O) GEMM per
    chunk channels last, (O, C)·(C, H·W) per image otherwise."""
    O, C = W.shape[:2]
    N, HW = x.shape[0], x.size // (x.shape[0] * C)
    Wm = W.reshape(O, C)
    chunks = chunk_bounds(N, (C + O) * HW * x.itemsize)
    if is_channels_last(x):
        xr, y = nhwc(x).reshape(N, HW, C), np.empty((N, x.shape[2], x.shape[3], O), x.dtype)
        finish = _epilogue(b, add)

        def chunk(_, n0, n1, w):
            n = n1 - n0
            np.matmul(xr[n0:n1].reshape(n * HW, C), Wm.T, out=y[n0:n1].reshape(n * HW, O))
            finish(y[n0:n1], n0, n1)

        run_chunks(chunk, chunks)
        return nchw(y), ("1x1", x, W)
    x = np.ascontiguousarray(x)
    xr, y = x.reshape(N, C, HW), np.empty((N, O) + x.shape[2:], x.dtype)
    finish = _epilogue(b, add, channels_last=False)

    def chunk(_, n0, n1, w):
        np.matmul(Wm, xr[n0:n1], out=y[n0:n1].reshape(n1 - n0, O, HW))
        finish(y[n0:n1], n0, n1)

    run_chunks(chunk, chunks)
    return y, ("1x1", x, W)


def _conv1x1_backward(dout, x, W):
    O, C = W.shape[:2]
    N, HW = x.shape[0], x.size // (x.shape[0] * C)
    expected = (N, O) + x.shape[2:]
    if dout.shape != expected:
        raise ValueError(f"conv2d_backward: dout has shape {dout.shape}, expected {expected}")
    Wm = W.reshape(O, C)
    chunks = chunk_bounds(N, (C + O) * HW * x.itemsize)
    dW_parts = np.empty((len(chunks), O, C), dout.dtype)
    db_parts = np.empty((len(chunks), O), dout.dtype)
    if is_channels_last(x):
        dy = np.ascontiguousarray(nhwc(dout)).reshape(N, HW, O)
        xr, dx = nhwc(x).reshape(N, HW, C), np.empty((N, HW, C), dout.dtype)

        def chunk(i, n0, n1, w):
            n = n1 - n0
            dyc = dy[n0:n1].reshape(n * HW, O)
            np.matmul(dyc, Wm, out=dx[n0:n1].reshape(n * HW, C))            # "mo,oc->mc"
            np.matmul(dyc.T, xr[n0:n1].reshape(n * HW, C), out=dW_parts[i])  # "mo,mc->oc"
            np.matmul(np.ones(n * HW, dout.dtype), dyc, out=db_parts[i])     # Σ dy: a GEMV

        run_chunks(chunk, chunks)
        dx = nchw(dx.reshape(N, x.shape[2], x.shape[3], C))
    else:
        dy, xr = np.ascontiguousarray(dout).reshape(N, O, HW), x.reshape(N, C, HW)
        dx = np.empty((N, C, HW), dout.dtype)

        def chunk(i, n0, n1, w):
            np.matmul(Wm.T, dy[n0:n1], out=dx[n0:n1])
            dW_parts[i] = np.matmul(dy[n0:n1], xr[n0:n1].transpose(0, 2, 1)).sum(axis=0)
            db_parts[i] = dy[n0:n1].sum(axis=(0, 2))

        run_chunks(chunk, chunks)
        dx = dx.reshape(x.shape)
    return dx, dW_parts.sum(axis=0).reshape(O, C, 1, 1), db_parts.sum(axis=0)


def conv2d_backward(dout, cache):
    """Gradients (dx, dW, db) of the fast conv2d_forward; dx with channels-last memory.

    Math: dW = colsᵀ·dy ("mk,mo->ko"), db = Σ dy, and dx = ∂/∂x of Σ dy·y, computed as s²
    stride-1 convolutions of the zero-padded dy, one per phase (h mod s, w mod s) of x
    (conv_phases.py; for stride 1, the flipped kernel). Chunked over the batch like the forward
    pass; dW and db are summed over the chunks' partial sums in chunk order, so the result does
    not depend on the thread count.
    """
    if isinstance(cache[0], str):           # "1x1", "narrow" or "winograd"
        route = {"1x1": _conv1x1_backward, "narrow": _narrow_backward,
                 "winograd": _winograd_backward}[cache[0]]
        return route(dout, *cache[1:])
    xp, x_shape, W, stride, padding, ws = cache
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
    narrow = narrow_input(kh, kw, stride, padding, C, O)
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
