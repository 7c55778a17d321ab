"""2-D convolution, reference tier: the naive loops, then im2col + one matrix product + col2im.

This is the convolution as a textbook teaches it, and the oracle of the fast tier
(`ddpm_np/nn/fast/conv.py`, which computes the same numbers faster). Layout NCHW throughout.

    x     (N, C, H, W)                 input;  W (O, C, kh, kw) kernel;  b (O,) bias
    xp    (N, C, H+2p, W+2p)           x with p rows and columns of zeros on every side
    cols  (N·Ho·Wo, C·kh·kw)           im2col: row (n, i, j) is the window of xp that output
                                       pixel (i, j) of image n sees, flattened (C, kh, kw)
    Wm    (C·kh·kw, O)                 W flattened the same way
    y     = cols·Wm + b                "mk,ko->mo": one matrix product, then (N, Ho, Wo, O) → NCHW

Backward, the same three steps in reverse:
    dW    = colsᵀ·dy                   "mk,mo->ko"
    dcols = dy·Wmᵀ                     "mo,ko->mk": the gradient of every window
    dx    = col2im(dcols)              each window's gradient added back where the window was
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..checks import check_int
from .init import init_weight_bias
from .module import Module, Parameter, check_dtype


def conv_output_size(size: int, k: int, stride: int, padding: int) -> int:
    """⌊(size + 2·padding − k)/stride⌋ + 1."""
    return (size + 2 * padding - k) // stride + 1


def check_conv_geometry(x_shape, W_shape, stride, padding):
    """Raise ValueError unless x (N, C, H, W) and W (O, C, kh, kw) make a valid convolution."""
    if len(x_shape) != 4:
        raise ValueError(f"conv2d expects input of shape (N, C, H, W), got {tuple(x_shape)}")
    _, C, H, Wd = x_shape
    O, Cw, kh, kw = W_shape
    if C != Cw:
        raise ValueError(f"conv2d: input has {C} channels but the kernel expects {Cw}")
    if stride < 1 or padding < 0:
        raise ValueError(f"conv2d: stride must be ≥ 1 and padding ≥ 0, got {stride}, {padding}")
    if kh > H + 2 * padding or kw > Wd + 2 * padding:
        raise ValueError(f"conv2d: kernel {kh}×{kw} is larger than the padded input "
                         f"{H + 2 * padding}×{Wd + 2 * padding}")


def conv2d_naive(x, W, b, stride=1, padding=0):
    """The definition, as loops: y[n, o, i, j] = b[o] + Σ_{c,u,v} W[o, c, u, v]·xp[n, c, s·i+u, s·j+v].

    Slow on purpose (one dot product per output number): the oracle the other routes are
    tested against. Returns float64.
    """
    check_conv_geometry(x.shape, W.shape, stride, padding)
    N, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    Ho, Wo = conv_output_size(H, kh, stride, padding), conv_output_size(Wd, kw, stride, padding)
    y = np.zeros((N, O, Ho, Wo))
    for n in range(N):
        for o in range(O):
            for i in range(Ho):
                for j in range(Wo):
                    window = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    y[n, o, i, j] = np.sum(window * W[o]) + b[o]
    return y


def conv2d_naive_backward(dy, x, W, stride=1, padding=0):
    """(dx, dW, db) by the same loops: every output number sends dy·W back to its window of x
    and dy·window to W. Returns float64."""
    N, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding))).astype(np.float64)
    dxp, dW = np.zeros_like(xp), np.zeros(W.shape)
    _, _, Ho, Wo = dy.shape
    for n in range(N):
        for o in range(O):
            for i in range(Ho):
                for j in range(Wo):
                    rows = slice(i * stride, i * stride + kh)
                    cols = slice(j * stride, j * stride + kw)
                    dW[o] += dy[n, o, i, j] * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += dy[n, o, i, j] * W[o]
    return dxp[:, :, padding:padding + H, padding:padding + Wd], dW, dy.sum(axis=(0, 2, 3))


def im2col(xp, kh, kw, stride, Ho, Wo):
    """Windows of a padded NCHW array as rows: (N, C, Hp, Wp) -> (N·Ho·Wo, C·kh·kw)."""
    N, C = xp.shape[:2]
    win = sliding_window_view(xp, (kh, kw), axis=(2, 3))       # (N, C, Hp−kh+1, Wp−kw+1, kh, kw)
    win = win[:, :, ::stride, ::stride][:, :, :Ho, :Wo]       # (N, C, Ho, Wo, kh, kw)
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * kh * kw)   # a copy


def col2im(dcols, x_shape, kh, kw, stride, padding, Ho, Wo):
    """The adjoint of im2col: window gradients (N·Ho·Wo, C·kh·kw) added back onto the padded
    input, then the padding cut off. Returns dx (N, C, H, W).

    One slice-add per kernel offset (u, v): the entries (u, v) of all windows lie on the grid
    xp[u : u + s·Ho : s, v : v + s·Wo : s], where no two windows meet, so the add loses nothing.
    """
    N, C, H, Wd = x_shape
    d = dcols.reshape(N, Ho, Wo, C, kh, kw).transpose(0, 3, 4, 5, 1, 2)   # (N, C, kh, kw, Ho, Wo)
    dxp = np.zeros((N, C, H + 2 * padding, Wd + 2 * padding), dcols.dtype)
    for u in range(kh):
        for v in range(kw):
            dxp[:, :, u:u + stride * Ho:stride, v:v + stride * Wo:stride] += d[:, :, u, v]
    return dxp[:, :, padding:padding + H, padding:padding + Wd]


def conv2d_forward(x, W, b, stride=1, padding=0):
    """Cross-correlation y[n, o] = Σ_c W[o, c] ⋆ x[n, c] + b[o], zero padding.

    x: (N, C, H, W) ; W: (O, C, kh, kw) ; b: (O,)  ->  y: (N, O, Ho, Wo), dtype of x.
    Cache: (cols, x.shape, W, stride, padding).
    """
    check_conv_geometry(x.shape, W.shape, stride, padding)
    N, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    Ho, Wo = conv_output_size(H, kh, stride, padding), conv_output_size(Wd, kw, stride, padding)
    # 1. pad, 2. im2col, 3. one matrix product, 4. rows (n, i, j) back to NCHW
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    cols = im2col(xp, kh, kw, stride, Ho, Wo)                       # (N·Ho·Wo, C·kh·kw)
    Wm = W.reshape(O, C * kh * kw).T                                # (C·kh·kw, O)
    y = cols @ Wm + b                                               # (N·Ho·Wo, O)
    y = y.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(y), (cols, x.shape, W, stride, padding)


def conv2d_backward(dout, cache):
    """Gradients (dx, dW, db) of conv2d_forward.

    Math: dW = colsᵀ·dy, db = Σ dy, dcols = dy·Wmᵀ, dx = col2im(dcols).
    """
    cols, x_shape, W, stride, padding = cache
    O, C, kh, kw = W.shape
    N, _, H, Wd = x_shape
    Ho, Wo = conv_output_size(H, kh, stride, padding), conv_output_size(Wd, kw, stride, padding)
    if dout.shape != (N, O, Ho, Wo):
        raise ValueError(f"conv2d_backward: dout has shape {dout.shape}, "
                         f"expected {(N, O, Ho, Wo)}")
    dy = dout.transpose(0, 2, 3, 1).reshape(N * Ho * Wo, O)        # rows (n, i, j), like cols
    dW = (cols.T @ dy).T.reshape(O, C, kh, kw)                      # "mk,mo->ko", then (O, C, kh, kw)
    db = dy.sum(axis=0)
    dcols = dy @ W.reshape(O, C * kh * kw)                          # "mo,ok->mk"
    dx = col2im(dcols, x_shape, kh, kw, stride, padding, Ho, Wo)
    return dx, np.ascontiguousarray(dW), db


class Conv2d(Module):
    """2-D convolution, NCHW, zero padding; W of shape (out, in, kh, kw), Kaiming-uniform init."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, *,
                 rng, dtype=np.float32, zero_init=False):
        self.in_channels = check_int(in_channels, "in_channels")
        self.out_channels = check_int(out_channels, "out_channels")
        k = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
        kh, kw = (check_int(v, "kernel_size") for v in k)
        self.stride = check_int(stride, "stride")
        self.padding = check_int(padding, "padding", low=0)
        W, b = init_weight_bias((self.out_channels, self.in_channels, kh, kw), self.out_channels,
                                self.in_channels * kh * kw, rng, dtype, zero_init)
        self.W, self.b = Parameter(W), Parameter(b)

    def forward(self, x):
        check_dtype(x, self.W.dtype, type(self).__name__)
        out, self._cache = conv2d_forward(x, self.W.data, self.b.data, self.stride,
                                          self.padding)
        return out

    def backward(self, dout):
        dx, dW, db = conv2d_backward(dout, self._need_cache())
        self.W.grad += dW
        self.b.grad += db
        return dx
