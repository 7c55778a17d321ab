"""Exercise 7 — the gradients of a 2-D convolution computed as im2col + GEMM."""
import numpy as np

from ddpm_np.nn.conv import col2im, conv_output_size


def conv2d_backward(dout, cache):
    """Gradients (dx, dW, db) of y = conv2d_forward(x, W, b, stride, padding).

    cache = (cols, x_shape, W, stride, padding) as conv2d_forward keeps it: cols = im2col of
    the padded x, (N·Ho·Wo, C·kh·kw); W (O, C, kh, kw); dout (N, O, Ho, Wo).
    The forward was y_rows = cols · Wmᵀ + b with Wm = W.reshape(O, −1) and y_rows (N·Ho·Wo, O).
    """
    raise NotImplementedError(
        "ex07: the forward pass is one product cols·Wm, so the backward pass is two products "
        "and a col2im (`ddpm-np exercises --hint 7` says more)")
