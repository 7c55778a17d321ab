"""Exercise 5 — the gradients of y = x·W + b (tutorial chapter 3)."""
import numpy as np


def linear_backward(dout, cache):
    """Gradients (dx, dW, db) of y = x·W + b, given dL/dy = dout.

    cache = (x, W) as linear_forward keeps it: x (..., in), W (in, out); dout (..., out).
    dx has x's shape, dW W's, db (out,): sums over every leading axis.
    """
    raise NotImplementedError(
        "ex05: y = x·W + b on the last axis: write each gradient as a product with dout; the "
        "parameters' gradients sum over every row (`ddpm-np exercises --hint 5` says more)")
