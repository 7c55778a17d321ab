"""Nearest ×2 upsampling followed by a 3×3 convolution (padding 1), as one GEMM at low resolution.

`conv3x3(upsample2x(x))` is what a UNet's up path does. Done literally, the convolution runs on
the 4× larger upsampled image: a 4× larger im2col copy of pixels that are all duplicates. Instead,
look at the output pixel (2i+a, 2j+b), phase (a, b) ∈ {0,1}²: its 3×3 window over the upsampled
image covers only the low-resolution rows i−1..i+1 and columns j−1..j+1, and kernel row u lands
on low-resolution row r = ⌊(a+u−1)/2⌋ + 1 (a = 0: rows u = 0 | 1, 2; a = 1: rows u = 0, 1 | 2).
So each phase is a 3×3 convolution of the *low-resolution* x with an effective kernel whose rows
and columns are sums of the original ones,

    W_ab[o, c, r, s] = Σ_{u,v} P[a, r, u]·P[b, s, v]·W[o, c, u, v],   P[a, r, u] = [r = r(a, u)],

and the four phases share one im2col of x: cols (N·H·W, 9C) · W_eff (9C, 4·O) gives all of y.
Same multiply-adds as the literal route (the GEMM is 4× wider instead of 4× taller; wider is
faster), no upsampled copy, a 4× smaller im2col buffer.

Backward: dW_eff = colsᵀ·dy, dW = Σ_{a,b} Pᵀ dW_ab P (the adjoint of the sum above), and
dx by col2im of dy·W_effᵀ at low resolution.
"""
import numpy as np

from .conv import Conv2d, _buffer, _col2im, _im2col, _pad_nhwc
from .module import check_dtype

# P[a, r, u] = 1 when kernel row u of output phase a reads low-resolution row r (of i−1, i, i+1)
_P = np.zeros((2, 3, 3))
for _a in range(2):
    for _u in range(3):
        _P[_a, (_a + _u - 1) // 2 + 1, _u] = 1.0


def upconv_weight(W):
    """W (O, C, 3, 3) -> W_eff (9·C, 4·O): rows ordered (r, s, c), columns (a, b, o)."""
    O, C = W.shape[:2]
    P = _P.astype(W.dtype)
    Wr = np.tensordot(P, W, axes=(2, 2))                  # sum kernel rows: (a, r, O, C, v)
    Weff = np.tensordot(P, Wr, axes=(2, 4))               # then columns: (b, s, a, r, O, C)
    return Weff.transpose(3, 1, 5, 2, 0, 4).reshape(9 * C, 4 * O)


def upconv_weight_backward(dWeff, W_shape):
    """The adjoint of `upconv_weight`: dW_eff (9·C, 4·O) -> dW (O, C, 3, 3)."""
    O, C = W_shape[:2]
    P = _P.astype(dWeff.dtype)
    dWeff = dWeff.reshape(3, 3, C, 2, 2, O)                          # (r, s, C, a, b, O)
    dWr = np.tensordot(dWeff, P, axes=([4, 1], [0, 1]))              # (r, C, a, O, v)
    return np.tensordot(dWr, P, axes=([2, 0], [0, 1])).transpose(1, 0, 3, 2)  # (C,O,v,u)→(O,C,u,v)


def upconv2d_forward(x, W, b, workspace=None):
    """y = conv3×3(upsample2x(x), W, b), padding 1.   x: (N, C, H, W) -> y: (N, O, 2H, 2W).

    Cache: (cols, x.shape, W, W_eff, workspace); cols (N·H·W, 9C) lives in `workspace`.
    """
    if x.ndim != 4 or W.shape[2:] != (3, 3) or x.shape[1] != W.shape[1]:
        raise ValueError(f"upconv2d expects x (N, C, H, W) and W (O, C, 3, 3) with matching C, "
                         f"got {x.shape} and {W.shape}")
    N, C, H, Wd = x.shape
    O = W.shape[0]
    xp = _pad_nhwc(x.transpose(0, 2, 3, 1), 1, 1, 1, 1,
                   _buffer(workspace, "xp", (N, H + 2, Wd + 2, C), x.dtype))
    cols = _im2col(xp, 3, 3, 1, H, Wd, _buffer(workspace, "cols", (N * H * Wd, 9 * C), x.dtype))
    Weff = upconv_weight(W)
    y = cols @ Weff                                         # (N·H·W, 4·O), columns (a, b, o)
    y = y.reshape(N, H, Wd, 2, 2, O)
    y += b
    out = np.ascontiguousarray(y.transpose(0, 5, 1, 3, 2, 4)).reshape(N, O, 2 * H, 2 * Wd)
    return out, (cols, x.shape, W, Weff, workspace)


def upconv2d_backward(dout, cache):
    """Gradients (dx, dW, db) of upconv2d_forward."""
    cols, (N, C, H, Wd), W, Weff, ws = cache
    O = W.shape[0]
    if dout.shape != (N, O, 2 * H, 2 * Wd):
        raise ValueError(f"upconv2d_backward: dout has shape {dout.shape}, "
                         f"expected {(N, O, 2 * H, 2 * Wd)}")
    # (N, O, 2H, 2W) -> (N, H, W, a, b, O) -> (N·H·W, 4·O)
    dy = np.ascontiguousarray(dout.reshape(N, O, H, 2, Wd, 2).transpose(0, 2, 4, 3, 5, 1))
    dy = dy.reshape(N * H * Wd, 4 * O)
    db = dy.reshape(-1, O).sum(axis=0)
    dW = upconv_weight_backward(cols.T @ dy, W.shape)
    dcols = np.matmul(dy, Weff.T, out=_buffer(ws, "dcols", (N * H * Wd, 9 * C), dout.dtype))
    dx = _col2im(dcols, (N, H, Wd, C), 3, 3, 1, 1, H, Wd, ws)
    return np.ascontiguousarray(dx.transpose(0, 3, 1, 2)), np.ascontiguousarray(dW), db


class UpsampleConv2d(Conv2d):
    """Nearest ×2 upsampling then a 3×3 convolution with padding 1, computed at low resolution.

    Same parameters as `Conv2d(in_channels, out_channels, 3, padding=1)` (W: (O, C, 3, 3)), same
    result as `Conv2d(...)(Upsample2x()(x))` up to rounding.
    """

    def __init__(self, in_channels, out_channels, *, rng, dtype=np.float32, zero_init=False):
        super().__init__(in_channels, out_channels, 3, padding=1, rng=rng, dtype=dtype,
                         zero_init=zero_init)

    def forward(self, x):
        check_dtype(x, self.W.dtype, "UpsampleConv2d")
        out, self._cache = upconv2d_forward(x, self.W.data, self.b.data, self._workspace)
        self.last_input_shape = x.shape
        return out

    def backward(self, dout):
        dx, dW, db = upconv2d_backward(dout, self._need_cache())
        self.W.grad += dW
        self.b.grad += db
        return dx

    def flops(self, x_shape) -> int:
        """Multiply-adds ×2 of one forward pass for low-resolution input shape (N, C, H, W)."""
        N, C, H, Wd = x_shape
        return 2 * N * (2 * H) * (2 * Wd) * self.W.shape[0] * C * 9
