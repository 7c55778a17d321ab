"""Pointwise activations: SiLU, ReLU, GELU (tanh approximation), tanh; forward and backward."""
import numpy as np

from .module import Module


def sigmoid(x):
    """σ(x) = 1/(1 + e^(−x)), computed as ½ + ½·tanh(x/2): the same function, and it never
    overflows (e^(−x) does, for x below about −88 in float32)."""
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def silu_forward(x):
    """SiLU(x) = x·σ(x). Cache: (x, σ(x))."""
    s = sigmoid(x)
    return x * s, (x, s)


def silu_backward(dout, cache):
    """d SiLU/dx = σ(x) + x·σ(x)·(1 − σ(x)) = σ(x)·(1 + x·(1 − σ(x)))."""
    x, s = cache
    return dout * s * (1 + x * (1 - s))


def relu_forward(x):
    """ReLU(x) = max(x, 0). Cache: the mask x > 0."""
    mask = x > 0
    return x * mask, mask


def relu_backward(dout, cache):
    return dout * cache


_GELU_C = float(np.sqrt(2.0 / np.pi))  # a Python float keeps float32 arrays float32


def gelu_forward(x):
    """GELU, tanh form: ½x(1 + tanh(√(2/π)(x + 0.044715x³))). Cache: (x, tanh(u))."""
    u = _GELU_C * (x + 0.044715 * x ** 3)
    th = np.tanh(u)
    return 0.5 * x * (1 + th), (x, th)


def gelu_backward(dout, cache):
    x, th = cache
    du = _GELU_C * (1 + 3 * 0.044715 * x ** 2)
    return dout * (0.5 * (1 + th) + 0.5 * x * (1 - th ** 2) * du)


class SiLU(Module):
    def forward(self, x):
        out, self._cache = silu_forward(x)
        return out

    def backward(self, dout):
        return silu_backward(dout, self._need_cache())


class ReLU(Module):
    def forward(self, x):
        out, self._cache = relu_forward(x)
        return out

    def backward(self, dout):
        return relu_backward(dout, self._need_cache())


class GELU(Module):
    """GELU in its tanh approximation (Hendrycks & Gimpel 2016), as in GPT-2."""

    def forward(self, x):
        out, self._cache = gelu_forward(x)
        return out

    def backward(self, dout):
        return gelu_backward(dout, self._need_cache())


def tanh_forward(x):
    """tanh(x). Cache: tanh(x)."""
    th = np.tanh(x)
    return th, th


def tanh_backward(dout, cache):
    """d tanh/dx = 1 − tanh²(x)."""
    return dout * (1 - cache * cache)


class Tanh(Module):
    """tanh: odd (tanh(−x) = −tanh(x)), which keeps a network built from it and bias-free
    linear maps odd too."""

    def forward(self, x):
        out, self._cache = tanh_forward(x)
        return out

    def backward(self, dout):
        return tanh_backward(dout, self._need_cache())
