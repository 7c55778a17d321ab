"""Fully connected layer: y = x·W + b with W of shape (in_features, out_features)."""
import numpy as np

from ..checks import check_int
from .init import init_weight_bias
from .module import Module, Parameter, check_dtype


def linear_forward(x, W, b):
    """y = x·W + b over the last axis.

    x: (..., in) ; W: (in, out) ; b: (out,)  ->  y: (..., out), dtype of x.
    Cache: (x, W).
    """
    return x @ W + b, (x, W)


def linear_backward(dout, cache):
    """Gradients (dx, dW, db) of y = x·W + b.

    Math: dx = dy·Wᵀ,  dW = Σ_rows xᵀ·dy,  db = Σ_rows dy.
    """
    x, W = cache
    x2 = x.reshape(-1, x.shape[-1])            # (M, in)
    d2 = dout.reshape(-1, dout.shape[-1])      # (M, out)
    return dout @ W.T, x2.T @ d2, d2.sum(axis=0)


class Linear(Module):
    """y = x·W + b on the last axis; Kaiming-uniform init (or zeros with `zero_init`)."""

    def __init__(self, in_features, out_features, *, rng, dtype=np.float32, zero_init=False):
        self.in_features = check_int(in_features, "in_features")
        self.out_features = check_int(out_features, "out_features")
        W, b = init_weight_bias((self.in_features, self.out_features), self.out_features,
                                self.in_features, rng, dtype, zero_init)
        self.W, self.b = Parameter(W), Parameter(b)

    def check_input(self, x):
        """x is (..., in_features) of the parameters' dtype."""
        check_dtype(x, self.W.dtype, "Linear")
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear expects input of shape (..., {self.in_features}), "
                             f"got {x.shape}")

    def forward(self, x):
        self.check_input(x)
        out, self._cache = linear_forward(x, self.W.data, self.b.data)
        return out

    def backward(self, dout):
        dx, dW, db = linear_backward(dout, self._need_cache())
        self.W.grad += dW
        self.b.grad += db
        return dx
