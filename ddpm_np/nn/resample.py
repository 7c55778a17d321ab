"""Nearest-neighbour 2× upsampling and 2×2 average pooling (NCHW)."""
import numpy as np

from .module import Module


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
