"""Independent loop implementations used as oracles (deliberately slow and obvious)."""
import numpy as np


def conv2d_naive(x, W, b, stride, padding):
    N, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    Ho = (H + 2 * padding - kh) // stride + 1
    Wo = (Wd + 2 * padding - kw) // stride + 1
    y = np.zeros((N, O, Ho, Wo))
    for n in range(N):
        for o in range(O):
            for i in range(Ho):
                for j in range(Wo):
                    patch = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    y[n, o, i, j] = np.sum(patch * W[o]) + b[o]
    return y


def conv2d_naive_backward(dy, x, W, stride, padding):
    N, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dxp = np.zeros_like(xp)
    dW = np.zeros_like(W)
    _, _, Ho, Wo = dy.shape
    for n in range(N):
        for o in range(O):
            for i in range(Ho):
                for j in range(Wo):
                    sl = (n, slice(None), slice(i * stride, i * stride + kh),
                          slice(j * stride, j * stride + kw))
                    dW[o] += dy[n, o, i, j] * xp[sl]
                    dxp[sl] += dy[n, o, i, j] * W[o]
    dx = dxp[:, :, padding:padding + H, padding:padding + Wd]
    return dx, dW, dy.sum(axis=(0, 2, 3))


def nhwc(a):
    """(N, C, H, W) -> a contiguous (N, H, W, C) copy: the channels-last layout."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def nchw(a):
    """(N, H, W, C) -> (N, C, H, W) view."""
    return a.transpose(0, 3, 1, 2)
