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
        "ex07: bring dout to rows (N·Ho·Wo, O) (transpose to N, Ho, Wo, O first); then "
        "dW = (dout_rowsᵀ · cols) reshaped like W, db = Σ dout over N, Ho, Wo, and "
        "dx = col2im(dout_rows · Wm, ...). Library: ddpm_np/nn/conv.py")
