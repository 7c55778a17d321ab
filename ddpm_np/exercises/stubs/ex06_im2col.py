"""Exercise 6 — convolution windows as the rows of a matrix (tutorial chapter 4)."""
import numpy as np


def im2col(xp, kh, kw, stride, Ho, Wo):
    """The kh×kw windows of an already padded array, one window per row.

    xp: (N, C, Hp, Wp).  Returns (N·Ho·Wo, C·kh·kw): row (n, i, j) in that order (n slowest)
    holds xp[n, :, i·s : i·s + kh, j·s : j·s + kw] flattened in (C, kh, kw) order.
    """
    raise NotImplementedError(
        "ex06: loops are fine (n, i, j → one row); numpy.lib.stride_tricks."
        "sliding_window_view does it without them. Library: ddpm_np/nn/conv.py")


def col2im(dcols, x_shape, kh, kw, stride, padding, Ho, Wo):
    """The adjoint of im2col followed by padding: add each row of dcols (N·Ho·Wo, C·kh·kw) back
    onto the window it came from in the padded input, then cut the padding off.

    x_shape: (N, C, H, W) of the unpadded input.  Returns dx of that shape.
    """
    raise NotImplementedError(
        "ex06: start from zeros of the padded shape (N, C, H + 2p, W + 2p), add each window "
        "(overlapping windows add up), return the inner H×W. Library: ddpm_np/nn/conv.py")
