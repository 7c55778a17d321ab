"""2-D convolution by im2col and one matrix product per chunk of the batch.

The public layout is NCHW (what learners meet everywhere), but the arithmetic works channels
last (NHWC): the input is copied into a zero-padded NHWC buffer, because then every patch row of
the im2col matrix is a run of contiguous memory and the gather is a fast copy:

    xp    (N, Hp, Wp, C)            padded, channels last
    cols  (N·Ho·Wo, kh·kw·C)        im2col rows, ordered (kh, kw, C)
    Wm    (kh·kw·C, O)              W (O, C, kh, kw) reordered to match
    y     = cols · Wm + b           "mk,ko->mo": the GEMM of the forward pass, (N, Ho, Wo, O)

Backward (the multiply-adds of two more GEMMs):
    dW    = colsᵀ · dy              "mk,mo->ko"
    dx    per phase (h mod s, w mod s) of x, an im2col of the zero-padded dy times the kernel
          offsets that reach that phase, "mk,kc->mc" (nn/conv_phases.py; for stride 1, one
          phase: the padded dy convolved with the flipped kernel). No col2im, no scatter-add.

Layouts. From NCHW the copy into xp is a transposition (element by element, the slowest copy
here) and y must be transposed back; with `channels_last=True` input and output are NHWC, the
copy into xp moves whole rows and the GEMM writes the output in place. For the stride-2 layer
that is 43–45% → 52–54% of the GEMM rate forward, 41–43% → 43–45% backward (`ddpm-np bench
conv`, four runs), so the UNet keeps its activations channels last between layers and transposes
only its input and output.

The rows of cols are images after images, so the GEMM splits over the batch with no change to
the math: the batch is cut into chunks of a few images (about 2 MiB of patch rows each) and
every core takes whole chunks, copy → im2col → GEMM (→ NCHW), with the patch rows still in its
cache (nn/threads.py says why and how).

A 1×1 convolution with stride 1 and no padding needs none of this: it is a matrix product over
channels, done on the arrays as they are (`_conv1x1_forward`): (O, C)·(C, H·W) per image for
NCHW, one (N·H·W, C)·(C, O) product for NHWC.

Memory: each Conv2d keeps a workspace of reusable buffers: the padded input xp (the forward
pass's cache; N·Hp·Wp·C elements, 7.4 MB in float32 for batch 64, 32 channels at 28×28) and,
per thread, one chunk's patch matrix and its backward counterparts (about 2 MiB each). The patch
matrix of the whole batch (58 MB at that shape) is never stored: the backward pass rebuilds each
chunk from xp, which costs less than writing and re-reading it from memory. Buffers are
re-allocated only when the input shape changes; `Conv2d.free_workspace()` releases them. The
padded buffers are zeroed when allocated and only their interior is written after that: four
fewer NumPy calls per chunk, and each NumPy call is a GIL hand-off between the chunk threads.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .init import init_weight_bias, positive_int
from .conv_phases import phase_plan, phase_weights
from .module import Module, Parameter, check_dtype
from .threads import chunk_bounds, largest, run_chunks


def conv_output_size(size: int, k: int, stride: int, padding: int) -> int:
    """⌊(size + 2·padding − k)/stride⌋ + 1."""
    return (size + 2 * padding - k) // stride + 1


def to_nchw_shape(shape, channels_last):
    """(N, H, W, C) -> (N, C, H, W) when channels_last, else the shape itself."""
    return (shape[0], shape[3], shape[1], shape[2]) if channels_last else tuple(shape)


def _check_geometry(x_shape, W_shape, stride, padding, channels_last=False):
    if len(x_shape) != 4:
        layout = "(N, H, W, C)" if channels_last else "(N, C, H, W)"
        raise ValueError(f"conv2d expects input of shape {layout}, got {x_shape}")
    N, C, H, Wd = to_nchw_shape(x_shape, channels_last)
    O, Cw, kh, kw = W_shape
    if C != Cw:
        raise ValueError(f"conv2d: input has {C} channels but the kernel expects {Cw}")
    if stride < 1 or padding < 0:
        raise ValueError(f"conv2d: stride must be ≥ 1 and padding ≥ 0, got {stride}, {padding}")
    if kh > H + 2 * padding or kw > Wd + 2 * padding:
        raise ValueError(f"conv2d: kernel {kh}×{kw} is larger than the padded input "
                         f"{H + 2 * padding}×{Wd + 2 * padding}")


def _buffer(workspace, name, shape, dtype, zeros=False):
    """An array from `workspace` (a dict), reused while shape and dtype match.

    Fresh multi-megabyte arrays cost page faults on every call; reusing one buffer per layer makes
    the im2col copy about 2.5× faster. Without a workspace a new array is returned. With `zeros`
    a new buffer starts zero-filled: the padded buffers are, and then only their interior is ever
    written, so their zero border costs nothing per call (the name must then say which interior,
    e.g. ("xp", padding), so that two users of one workspace never share such a buffer).
    """
    if workspace is None:
        return np.zeros(shape, dtype) if zeros else np.empty(shape, dtype)
    buf = workspace.get(name)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = workspace[name] = np.zeros(shape, dtype) if zeros else np.empty(shape, dtype)
    return buf


def _im2col(xp, kh, kw, stride, Ho, Wo, out):
    """Patch rows of a padded NHWC array: (N, Hp, Wp, C) -> (N·Ho·Wo, kh·kw·C), into `out`."""
    N, C = xp.shape[0], xp.shape[3]
    # windows: (N, Ho, Wo, C, kh, kw) view -> (N, Ho, Wo, kh, kw, C), gathered by one copy
    win = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::stride, ::stride][:, :Ho, :Wo]
    np.copyto(out.reshape(N, Ho, Wo, kh, kw, C), win.transpose(0, 1, 2, 4, 5, 3))
    return out


def _pad_into(x_nhwc, top, left, out):
    """Copy an NHWC array (or an NHWC view of NCHW data) into the interior of `out`, a padded
    buffer whose zero border stays zero (see _buffer)."""
    _, H, W, _ = x_nhwc.shape
    out[:, top:top + H, left:left + W] = x_nhwc
    return out


def conv2d_forward(x, W, b, stride=1, padding=0, workspace=None, channels_last=False):
    """Cross-correlation y[n,o] = Σ_c W[o,c] ⋆ x[n,c] + b[o] with zero padding.

    x: (N, C, H, W) ; W: (O, C, kh, kw) ; b: (O,)  ->  y: (N, O, Ho, Wo), dtype of x.
    channels_last: x is (N, H, W, C) and y (N, Ho, Wo, O) instead, the layout the im2col and the
    GEMM work in, so steps 1 and 4 below copy rows instead of transposing (the UNet runs this way).
    The batch is cut into chunks of a few images (`threads.chunk_bounds`), and each chunk goes
    through steps 1–4 below on one core, with its patch matrix in a per-thread scratch buffer
    that stays in cache (`threads.run_chunks`).
    workspace: optional dict of reusable buffers (a Conv2d passes its own); the returned cache
    then refers to them, so it is valid until the next call with the same workspace.
    Cache: (xp, x.shape, W, stride, padding, workspace, channels_last), xp the padded NHWC input;
    the backward pass rebuilds the patch matrix from it chunk by chunk rather than keeping it.
    """
    _check_geometry(x.shape, W.shape, stride, padding, channels_last)
    N, C, H, Wd = to_nchw_shape(x.shape, channels_last)
    O, _, kh, kw = W.shape
    if (kh, kw, stride, padding) == (1, 1, 1, 0):
        return _conv1x1_forward(x, W, b, channels_last)
    Ho = conv_output_size(H, kh, stride, padding)
    Wo = conv_output_size(Wd, kw, stride, padding)
    p, P, K = padding, Ho * Wo, kh * kw * C
    xp = _buffer(workspace, ("xp", p), (N, H + 2 * p, Wd + 2 * p, C), x.dtype, zeros=True)
    Wm = W.transpose(2, 3, 1, 0).reshape(K, O)      # rows ordered (kh, kw, C) like cols
    out = np.empty((N, Ho, Wo, O) if channels_last else (N, O, Ho, Wo), x.dtype)
    chunks = chunk_bounds(N, P * K * x.itemsize)
    rows = largest(chunks) * P

    def chunk(_, n0, n1, w):
        n = n1 - n0
        # 1. NHWC copy into the zero-bordered buffer (from NCHW: a transposing copy).
        x_nhwc = x[n0:n1] if channels_last else x[n0:n1].transpose(0, 2, 3, 1)
        _pad_into(x_nhwc, p, p, xp[n0:n1])
        # 2. im2col (one gather copy) into this thread's scratch.
        cols = _buffer(workspace, ("cols", w), (rows, K), x.dtype)[:n * P]
        _im2col(xp[n0:n1], kh, kw, stride, Ho, Wo, cols)
        # 3. the GEMM "mk,ko->mo": (m, K) · (K, O) -> (m, O), m = n·Ho·Wo rows ordered (n, Ho, Wo).
        if channels_last:                               # the GEMM writes the output itself
            y = np.matmul(cols, Wm, out=out[n0:n1].reshape(n * P, O))
            y += b
        else:                                           # 4. (n, Ho, Wo, O) -> (n, O, Ho, Wo)
            y = cols @ Wm
            y += b
            out[n0:n1] = y.reshape(n, Ho, Wo, O).transpose(0, 3, 1, 2)

    run_chunks(chunk, chunks)
    return out, (xp, x.shape, W, stride, padding, workspace, channels_last)


def _conv1x1_forward(x, W, b, channels_last):
    """A 1×1 convolution is a matrix product over channels, y[n] = W·x[n] + b, done in the layout
    the data is in, with no copies: (O, C)·(C, H·W) per image for NCHW, one (N·H·W, C)·(C, O)
    GEMM for NHWC."""
    O, C = W.shape[:2]
    N, HW = x.shape[0], x.size // (x.shape[0] * C)
    Wm = W.reshape(O, C)
    chunks = chunk_bounds(N, (C + O) * HW * x.itemsize)
    if channels_last:
        xr, y = x.reshape(N, HW, C), np.empty((N, HW, O), x.dtype)

        def chunk(_, n0, n1, w):                        # one GEMM over the chunk's pixels
            n = n1 - n0
            yc = np.matmul(xr[n0:n1].reshape(n * HW, C), Wm.T, out=y[n0:n1].reshape(n * HW, O))
            yc += b
    else:
        xr, y = x.reshape(N, C, HW), np.empty((N, O, HW), x.dtype)

        def chunk(_, n0, n1, w):
            np.matmul(Wm, xr[n0:n1], out=y[n0:n1])
            y[n0:n1] += b[:, None]

    run_chunks(chunk, chunks)
    out_shape = x.shape[:3] + (O,) if channels_last else (N, O) + x.shape[2:]
    return y.reshape(out_shape), ("1x1", x, W, channels_last)


def _conv1x1_backward(dout, x, W, channels_last):
    O, C = W.shape[:2]
    N, HW = x.shape[0], x.size // (x.shape[0] * C)
    expected = x.shape[:3] + (O,) if channels_last else (N, O) + x.shape[2:]
    if dout.shape != expected:
        raise ValueError(f"conv2d_backward: dout has shape {dout.shape}, expected {expected}")
    Wm = W.reshape(O, C)
    chunks = chunk_bounds(N, (C + O) * HW * x.itemsize)
    dW_parts = np.empty((len(chunks), O, C), dout.dtype)
    db_parts = np.empty((len(chunks), O), dout.dtype)
    if channels_last:
        dy, xr, dx = dout.reshape(N, HW, O), x.reshape(N, HW, C), np.empty((N, HW, C), dout.dtype)

        def chunk(i, n0, n1, w):
            n = n1 - n0
            dyc = dy[n0:n1].reshape(n * HW, O)
            np.matmul(dyc, Wm, out=dx[n0:n1].reshape(n * HW, C))            # "mo,oc->mc"
            np.matmul(dyc.T, xr[n0:n1].reshape(n * HW, C), out=dW_parts[i])  # "mo,mc->oc"
            np.matmul(np.ones(n * HW, dout.dtype), dyc, out=db_parts[i])     # Σ dy: a GEMV
    else:
        dy, xr, dx = dout.reshape(N, O, HW), x.reshape(N, C, HW), np.empty((N, C, HW), dout.dtype)

        def chunk(i, n0, n1, w):
            np.matmul(Wm.T, dy[n0:n1], out=dx[n0:n1])
            dW_parts[i] = np.matmul(dy[n0:n1], xr[n0:n1].transpose(0, 2, 1)).sum(axis=0)
            db_parts[i] = dy[n0:n1].sum(axis=(0, 2))

    run_chunks(chunk, chunks)
    return (dx.reshape(x.shape), dW_parts.sum(axis=0).reshape(O, C, 1, 1),
            db_parts.sum(axis=0))


def conv2d_backward(dout, cache):
    """Gradients (dx, dW, db) of conv2d_forward; dout and dx in the forward pass's layout.

    Math: dW = colsᵀ·dy ("mk,mo->ko"), db = Σ dy, and dx = ∂/∂x of Σ dy·y, computed as s²
    stride-1 convolutions of the zero-padded dy, one per phase (h mod s, w mod s) of x, each an
    im2col of dy and a GEMM "mk,kc->mc" with the taps that reach that phase (nn/conv_phases.py;
    for stride 1, the flipped kernel). Against dcols = dy·Wmᵀ and col2im, the same multiply-adds
    without the slice-adds: the stride-2 layer's backward went from 5.4–5.7 to 4.9–5.2 ms at
    batch 64, channels last.
    Chunked over the batch like the forward pass; dW and db are summed over the chunks' partial
    sums in chunk order, so the result does not depend on the thread count.
    """
    if isinstance(cache[0], str):           # "1x1"
        return _conv1x1_backward(dout, *cache[1:])
    xp, x_shape, W, stride, padding, ws, channels_last = cache
    N, C, H, Wd = to_nchw_shape(x_shape, channels_last)
    O, _, kh, kw = W.shape
    Ho = conv_output_size(H, kh, stride, padding)
    Wo = conv_output_size(Wd, kw, stride, padding)
    expected = (N, Ho, Wo, O) if channels_last else (N, O, Ho, Wo)
    if dout.shape != expected:
        raise ValueError(f"conv2d_backward: dout has shape {dout.shape}, expected {expected}")
    P, K, dt = Ho * Wo, kh * kw * C, dout.dtype
    pads, plan = phase_plan(H, Wd, Ho, Wo, kh, kw, stride, padding)
    Wph = phase_weights(W, plan)
    top, left, bottom, right = pads
    chunks = chunk_bounds(N, P * K * dout.itemsize)     # as in the forward pass: same scratch
    n_max = largest(chunks)
    dW_parts = np.empty((len(chunks), K, O), dt)
    db_parts = np.empty((len(chunks), O), dt)
    dx = np.empty(x_shape, dt)
    if kh < stride or kw < stride:
        dx.fill(0)                                      # phases no kernel offset reaches
    dcols_size = max(Ma * Mb * len(us) * len(vs) for _, _, Ma, Mb, _, _, us, vs in plan) * O

    def chunk(i, n0, n1, w):
        n = n1 - n0
        # 1. the chunk's patch rows, rebuilt from xp (cheaper than keeping them all)
        cols = _buffer(ws, ("cols", w), (n_max * P, K), dt)[:n * P]
        _im2col(xp[n0:n1], kh, kw, stride, Ho, Wo, cols)
        # 2. db and dW partial sums, rows (n, Ho, Wo) of dy against those of cols
        if channels_last:
            dy = np.ascontiguousarray(dout[n0:n1]).reshape(n * P, O)
        else:
            dy = np.ascontiguousarray(dout[n0:n1].transpose(0, 2, 3, 1)).reshape(n * P, O)
        np.matmul(np.ones(n * P, dt), dy, out=db_parts[i])          # Σ dy: a GEMV, 7× faster
        np.matmul(cols.T, dy, out=dW_parts[i])
        # 3. dy into its zero-bordered buffer, then per phase of x: windows of dy, one GEMM
        dyp = _buffer(ws, ("dyp", w) + pads, (n_max, Ho + top + bottom, Wo + left + right, O),
                      dt, zeros=True)[:n]
        _pad_into(dy.reshape(n, Ho, Wo, O), top, left, dyp)
        dcols_all = _buffer(ws, ("dcols", w), (n_max * dcols_size,), dt)
        for (a, b, Ma, Mb, r0, c0, us, vs), Wp in zip(plan, Wph):
            if Wp is None or not Ma * Mb:
                continue
            dcols = dcols_all[:n * Ma * Mb * Wp.shape[0]].reshape(n * Ma * Mb, Wp.shape[0])
            _im2col(dyp[:, r0:, c0:], len(us), len(vs), 1, Ma, Mb, dcols)
            if stride == 1 and channels_last:                      # the GEMM writes dx itself
                np.matmul(dcols, Wp, out=dx[n0:n1].reshape(n * H * Wd, C))
                continue
            dxc = (dcols @ Wp).reshape(n, Ma, Mb, C)
            if channels_last:
                dx[n0:n1, a::stride, b::stride] = dxc
            else:
                dx[n0:n1, :, a::stride, b::stride] = dxc.transpose(0, 3, 1, 2)

    run_chunks(chunk, chunks)
    dW = dW_parts.sum(axis=0).reshape(kh, kw, C, O).transpose(3, 2, 0, 1)
    return dx, np.ascontiguousarray(dW), db_parts.sum(axis=0)


class Conv2d(Module):
    """2-D convolution, NCHW, zero padding; W of shape (out, in, kh, kw), Kaiming-uniform init.

    `channels_last=True` makes input and output (N, H, W, C) (same W, same math), which skips a
    transposing copy on the way in and out (see the top of this file for the figures).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, *,
                 rng, dtype=np.float32, zero_init=False, channels_last=False):
        self.in_channels = positive_int(in_channels, "in_channels")
        self.out_channels = positive_int(out_channels, "out_channels")
        k = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
        kh, kw = (positive_int(v, "kernel_size") for v in k)
        self.stride = positive_int(stride, "stride")
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
        self.padding = int(padding)
        self.channels_last = bool(channels_last)
        self._workspace = {}  # reusable im2col buffers, see _buffer
        W, b = init_weight_bias((self.out_channels, self.in_channels, kh, kw), self.out_channels,
                                self.in_channels * kh * kw, rng, dtype, zero_init)
        self.W, self.b = Parameter(W), Parameter(b)

    def forward(self, x):
        check_dtype(x, self.W.dtype, type(self).__name__)
        out, self._cache = self._functional_forward(x)
        self.last_input_shape = x.shape
        return out

    def _functional_forward(self, x):
        return conv2d_forward(x, self.W.data, self.b.data, self.stride, self.padding,
                              self._workspace, self.channels_last)

    _functional_backward = staticmethod(conv2d_backward)

    def backward(self, dout):
        dx, dW, db = self._functional_backward(dout, self._need_cache())
        self.W.grad += dW
        self.b.grad += db
        return dx

    def free_workspace(self):
        self._workspace.clear()
        self._cache = None

    def flops(self, x_shape) -> int:
        """Multiply-adds ×2 of one forward pass for input shape (N, C, H, W) ((N, H, W, C) when
        channels_last)."""
        N, C, H, Wd = to_nchw_shape(x_shape, self.channels_last)
        O, _, kh, kw = self.W.shape
        Ho = conv_output_size(H, kh, self.stride, self.padding)
        Wo = conv_output_size(Wd, kw, self.stride, self.padding)
        return 2 * N * Ho * Wo * O * C * kh * kw
