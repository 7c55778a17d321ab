"""Nearest-neighbour 2× upsampling, 2×2 average pooling, and up-sampling followed by a 3×3
convolution (NCHW)."""
import numpy as np

from .conv import Conv2d, conv2d_backward, conv2d_forward
from .module import Module, check_dtype


def _check_nchw(x, who):
    if x.ndim != 4:
        raise ValueError(f"{who} expects input of shape (N, C, H, W), got {x.shape}")


def upsample2x_forward(x):
    """y[n,c,2i+a,2j+b] = x[n,c,i,j]. Cache: nothing (None)."""
    _check_nchw(x, "Upsample2x")
    N, C, H, W = x.shape
    y = np.broadcast_to(x[:, :, :, None, :, None], (N, C, H, 2, W, 2))
    return y.reshape(N, C, 2 * H, 2 * W), None


def upsample2x_backward(dout, cache=None):
    """dx[i,j] = Σ of the 2×2 block of dy it was copied to."""
    N, C, H2, W2 = dout.shape
    return dout.reshape(N, C, H2 // 2, 2, W2 // 2, 2).sum(axis=(3, 5))


def avgpool2x_forward(x):
    """y[i,j] = mean of the 2×2 block x[2i:2i+2, 2j:2j+2]; H and W must be even. Cache: None."""
    _check_nchw(x, "AvgPool2x")
    N, C, H, W = x.shape
    if H % 2 or W % 2:
        raise ValueError(f"AvgPool2x needs even height and width, got {H}×{W}")
    return x.reshape(N, C, H // 2, 2, W // 2, 2).mean(axis=(3, 5)), None


def avgpool2x_backward(dout, cache=None):
    """Each input of a block receives a quarter of its output's gradient."""
    N, C, H, W = dout.shape
    dx = np.broadcast_to((dout * 0.25)[:, :, :, None, :, None], (N, C, H, 2, W, 2))
    return dx.reshape(N, C, 2 * H, 2 * W)


class Upsample2x(Module):
    """Nearest-neighbour ×2 upsampling."""

    def forward(self, x):
        out, _ = upsample2x_forward(x)
        self._cache = x.shape
        return out

    def backward(self, dout):
        self._need_cache()
        return upsample2x_backward(dout)


class AvgPool2x(Module):
    """2×2 average pooling with stride 2."""

    def forward(self, x):
        out, _ = avgpool2x_forward(x)
        self._cache = x.shape
        return out

    def backward(self, dout):
        self._need_cache()
        return avgpool2x_backward(dout)


def upconv2d_forward(x, W, b):
    """y = conv3×3(upsample2x(x), W, b) with padding 1: a UNet's up-sampling step, literally.

    x: (N, C, H, W) ; W: (O, C, 3, 3) ; b: (O,)  ->  y: (N, O, 2H, 2W).
    Cache: the convolution's cache (its input is the up-sampled image).
    """
    if W.shape[2:] != (3, 3):
        raise ValueError(f"upconv2d expects a 3×3 kernel (O, C, 3, 3), got {W.shape}")
    up, _ = upsample2x_forward(x)
    return conv2d_forward(up, W, b, 1, 1)


def upconv2d_backward(dout, cache):
    """Gradients (dx, dW, db): through the convolution, then the up-sampling."""
    dup, dW, db = conv2d_backward(dout, cache)
    return upsample2x_backward(dup), dW, db


class UpsampleConv2d(Conv2d):
    """Nearest ×2 up-sampling, then a 3×3 convolution with padding 1.

    Same parameters as `Conv2d(in_channels, out_channels, 3, padding=1)`. The fast tier computes
    it at low resolution with about half the multiply-adds (`ddpm_np/nn/fast/upconv.py`).
    """

    def __init__(self, in_channels, out_channels, *, rng, dtype=np.float32, zero_init=False):
        super().__init__(in_channels, out_channels, 3, padding=1, rng=rng, dtype=dtype,
                         zero_init=zero_init)

    def forward(self, x):
        check_dtype(x, self.W.dtype, type(self).__name__)
        out, self._cache = upconv2d_forward(x, self.W.data, self.b.data)
        return out

    def backward(self, dout):
        dx, dW, db = upconv2d_backward(dout, self._need_cache())
        self.W.grad += dW
        self.b.grad += db
        return dx
