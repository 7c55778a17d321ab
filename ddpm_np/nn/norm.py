"""Group normalisation (Wu & He 2018), reference tier: the textbook forward and backward.

The channels of each sample are split into G groups; each group is normalised by its own mean
and variance over its channels and pixels, then every channel gets an affine `scale`, `shift`.
The fast tier (`ddpm_np/nn/fast/norm.py`) computes the same numbers in fewer passes.
"""
import math

import numpy as np

from .activations import silu_backward, silu_forward
from ..checks import check_int
from .module import Module, Parameter, check_dtype


def groupnorm_forward(x, scale, shift, num_groups, norm_eps=1e-5):
    """y = (x − μ_g)/√(σ²_g + norm_eps)·scale[c] + shift[c], statistics per sample and group.

    x: (N, C, *spatial) ; scale, shift: (C,)  ->  y like x.
    Cache: (x̂, 1/√(σ²_g + norm_eps), scale, num_groups), x̂ the normalised input.
    """
    N, C = x.shape[:2]
    G = num_groups
    m = math.prod(x.shape[1:]) // G                             # numbers in a group
    xg = x.reshape(N, G, m)
    mu = xg.mean(axis=2, keepdims=True)                         # (N, G, 1)
    var = xg.var(axis=2, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + x.dtype.type(norm_eps))
    x_hat = ((xg - mu) * inv_std).reshape(x.shape)
    bshape = (1, C) + (1,) * (x.ndim - 2)                       # broadcast over N and pixels
    y = x_hat * scale.reshape(bshape) + shift.reshape(bshape)
    return y, (x_hat, inv_std, scale, G)


def groupnorm_backward(dout, cache):
    """Gradients (dx, dscale, dshift).

    Derivation, per sample and group of m numbers, with g = dy·scale (the gradient of x̂):
    x̂_i = (x_i − μ)/σ depends on x_j directly and through μ and σ; ∂μ/∂x_j = 1/m and
    ∂σ/∂x_j = x̂_j/m, so
        ∂x̂_i/∂x_j = (δ_ij − 1/m − x̂_i·x̂_j/m)/σ
    and summing g_i·∂x̂_i/∂x_j over i:
        dx = (g − mean(g) − x̂·mean(g·x̂))/σ.
    The affine part: dscale = Σ dy·x̂ and dshift = Σ dy, over the batch and the pixels.
    """
    x_hat, inv_std, scale, G = cache
    if dout.shape != x_hat.shape:
        raise ValueError(f"groupnorm_backward: dout has shape {dout.shape}, "
                         f"expected {x_hat.shape}")
    N, C = dout.shape[:2]
    axes = (0,) + tuple(range(2, dout.ndim))                    # all but the channel axis
    dscale = (dout * x_hat).sum(axis=axes)
    dshift = dout.sum(axis=axes)
    bshape = (1, C) + (1,) * (dout.ndim - 2)
    m = math.prod(dout.shape[1:]) // G
    g = (dout * scale.reshape(bshape)).reshape(N, G, m)         # dL/dx̂ per group
    xh = x_hat.reshape(N, G, m)
    dx = (g - g.mean(axis=2, keepdims=True)
          - xh * (g * xh).mean(axis=2, keepdims=True)) * inv_std
    return dx.reshape(dout.shape), dscale, dshift


def groupnorm_silu_forward(x, scale, shift, num_groups, norm_eps=1e-5):
    """SiLU(GroupNorm(x)): the two layers one after the other (the pair every ResBlock uses).
    Cache: the two caches."""
    y, norm_cache = groupnorm_forward(x, scale, shift, num_groups, norm_eps)
    out, silu_cache = silu_forward(y)
    return out, (norm_cache, silu_cache)


def groupnorm_silu_backward(dout, cache):
    """Gradients (dx, dscale, dshift): SiLU's backward, then GroupNorm's."""
    norm_cache, silu_cache = cache
    return groupnorm_backward(silu_backward(dout, silu_cache), norm_cache)


class GroupNorm(Module):
    """GroupNorm over (N, C, ...) with per-channel affine `scale` (init 1) and `shift` (init 0)."""

    def __init__(self, num_groups, num_channels, norm_eps=1e-5, *, dtype=np.float32):
        self.num_groups = check_int(num_groups, "num_groups")
        self.num_channels = check_int(num_channels, "num_channels")
        if self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels={num_channels} is not divisible by "
                             f"num_groups={num_groups}")
        if not norm_eps > 0:
            raise ValueError(f"GroupNorm: norm_eps must be > 0, got {norm_eps}")
        self.norm_eps = float(norm_eps)
        self.scale = Parameter(np.ones(self.num_channels, dtype))
        self.shift = Parameter(np.zeros(self.num_channels, dtype))

    def check_input(self, x):
        """x is (N, num_channels, ...) of the parameters' dtype."""
        check_dtype(x, self.scale.dtype, type(self).__name__)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"{type(self).__name__} expects input of shape "
                             f"(N, {self.num_channels}, ...), got {x.shape}")

    def forward(self, x):
        self.check_input(x)
        out, self._cache = groupnorm_forward(x, self.scale.data, self.shift.data,
                                             self.num_groups, self.norm_eps)
        return out

    def backward(self, dout):
        dx, dscale, dshift = groupnorm_backward(dout, self._need_cache())
        self.scale.grad += dscale
        self.shift.grad += dshift
        return dx


class GroupNormSiLU(GroupNorm):
    """SiLU(GroupNorm(x)) as one layer, with GroupNorm's parameters (`scale`, `shift`). Here the
    plain composition; the fast tier's twin computes both in one pass over the data."""

    def forward(self, x):
        self.check_input(x)
        out, self._cache = groupnorm_silu_forward(x, self.scale.data, self.shift.data,
                                                  self.num_groups, self.norm_eps)
        return out

    def backward(self, dout):
        dx, dscale, dshift = groupnorm_silu_backward(dout, self._need_cache())
        self.scale.grad += dscale
        self.shift.grad += dshift
        return dx
