"""Exercise 6 — convolution windows as the rows of a matrix (tutorial chapter 4)."""
import numpy as np


def im2col(xp, kh, kw, stride, Ho, Wo):
    """The kh×kw windows of an already padded array, one window per row.

    xp: (N, C, Hp, Wp).  Returns (N·Ho·Wo, C·kh·kw): row (n, i, j) in that order (n slowest)
    holds xp[n, :, i·s : i·s + kh, j·s : j·s + kw] flattened in (C, kh, kw) order.
    """
    raise NotImplementedError(
        "ex06: each output pixel's window of the padded input, flattened (C, kh, kw), becomes "
        "one row (`ddpm-np exercises --hint 6` says more)")


def col2im(dcols, x_shape, kh, kw, stride, padding, Ho, Wo):
    """The adjoint of im2col followed by padding: add each row of dcols (N·Ho·Wo, C·kh·kw) back
    onto the window it came from in the padded input, then cut the padding off.

    x_shape: (N, C, H, W) of the unpadded input.  Returns dx of that shape.
    """
    raise NotImplementedError(
        "ex06: the adjoint of im2col: each row's numbers go back to where its window was "
        "(`ddpm-np exercises --hint 6` says more)")
