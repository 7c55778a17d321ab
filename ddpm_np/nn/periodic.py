"""Periodic (circular) convolution: the convolution of a field on a torus, reference tier.

A lattice with periodic boundaries has no edge: site (i, j) sees (i ± 1 mod H, j ± 1 mod W).
Padding the input by wrapping it around (p rows and columns from the opposite side) and then
convolving without padding gives exactly that, and so commutes with every translation of the
lattice (a "same" convolution with zeros would not).

    xp = circular_pad(x, p)          (N, C, H+2p, W+2p),
                                     xp[.., i, j] = x[.., (i−p) mod H, (j−p) mod W]
    y  = conv2d(xp, W, b, padding=0) (N, O, H, W) for a k×k kernel, p = k//2
Backward: dxp from the convolution, then circular_fold (the adjoint of the pad): each padded
row or column's gradient is added back onto the site it copies.
"""
import numpy as np

from ..checks import check_int
from .conv import conv2d_backward, conv2d_forward
from .init import kaiming_uniform
from .module import Module, Parameter, check_dtype


def circular_pad(x, p: int):
    """x (N, C, H, W) wrapped around by p on every side: (N, C, H+2p, W+2p)."""
    H, Wd = x.shape[-2:]
    if p > min(H, Wd):
        raise ValueError(f"circular padding {p} is larger than the field {H}×{Wd}")
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="wrap")


def circular_fold(dxp, p: int):
    """The adjoint of circular_pad: (N, C, H+2p, W+2p) -> (N, C, H, W)."""
    if p == 0:
        return dxp
    H, Wd = dxp.shape[-2] - 2 * p, dxp.shape[-1] - 2 * p
    rows = dxp[..., p:p + H, :].copy()                  # (N, C, H, W+2p)
    rows[..., H - p:, :] += dxp[..., :p, :]             # top halo copies the last p rows
    rows[..., :p, :] += dxp[..., p + H:, :]             # bottom halo copies the first p rows
    dx = rows[..., p:p + Wd].copy()                     # (N, C, H, W)
    dx[..., Wd - p:] += rows[..., :p]
    dx[..., :p] += rows[..., p + Wd:]
    return dx


def periodic_conv2d_forward(x, W, b):
    """y[n, o, i, j] = b[o] + Σ_{c,u,v} W[o, c, u, v]·x[n, c, (i+u−p) mod H, (j+v−p) mod W].

    x: (N, C, H, W) ; W: (O, C, k, k), k odd ; b: (O,)  ->  y: (N, O, H, W).
    Cache: (the convolution's cache, p).
    """
    k = W.shape[-1]
    if W.shape[-2] != k or k % 2 == 0:
        raise ValueError(f"a periodic convolution needs a square kernel of odd size, got "
                         f"{W.shape[-2]}×{k}")
    p = k // 2
    y, cache = conv2d_forward(circular_pad(x, p), W, b, 1, 0)
    return y, (cache, p)


def periodic_conv2d_backward(dout, cache):
    """(dx, dW, db) of periodic_conv2d_forward: the convolution's, with dx folded back."""
    conv_cache, p = cache
    dxp, dW, db = conv2d_backward(dout, conv_cache)
    return circular_fold(dxp, p), dW, db


class PeriodicConv2d(Module):
    """Convolution on a torus, stride 1, output the size of the input; `bias=False` leaves the
    bias out (a bias-free convolution is odd: conv(−x) = −conv(x))."""

    def __init__(self, in_channels, out_channels, kernel_size=3, *, bias=True, rng,
                 dtype=np.float32, zero_init=False):
        self.in_channels = check_int(in_channels, "in_channels")
        self.out_channels = check_int(out_channels, "out_channels")
        k = check_int(kernel_size, "kernel_size")
        if k % 2 == 0:
            raise ValueError(f"kernel_size of a periodic convolution must be odd, got {k}")
        shape, fan_in = (self.out_channels, self.in_channels, k, k), self.in_channels * k * k
        self.W = Parameter(np.zeros(shape, dtype) if zero_init
                           else kaiming_uniform(shape, fan_in, rng, dtype))
        self.b = None
        if bias:
            self.b = Parameter(np.zeros(self.out_channels, dtype) if zero_init
                               else kaiming_uniform((self.out_channels,), fan_in, rng, dtype))

    def bias(self, x):
        """b, or zeros of x's dtype for a layer without a bias (checked against x first)."""
        check_dtype(x, self.W.dtype, type(self).__name__)
        return self.b.data if self.b is not None else np.zeros(self.out_channels, x.dtype)

    def forward(self, x):
        out, self._cache = periodic_conv2d_forward(x, self.W.data, self.bias(x))
        return out

    def backward(self, dout):
        dx, dW, db = periodic_conv2d_backward(dout, self._need_cache())
        self.W.grad += dW
        if self.b is not None:
            self.b.grad += db
        return dx
