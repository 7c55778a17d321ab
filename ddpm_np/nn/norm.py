"""Group normalisation (Wu & He 2018) over (N, C, ...) arrays, or (N, ..., C) channels last.

Both layouts share the arithmetic: per (sample, channel) sums over the image, then per-(n, c)
coefficients, then one fused pass over the data. What differs is how NumPy is told to make the
passes fast (see `_channel_runs`).
"""
import numpy as np

from .init import positive_int
from .module import Module, Parameter, check_dtype


def _channel_runs(x, *coefs):
    """Views for y = Σ x_i·coef_i[n, c] in the channels-last layout (N, L, C) with long runs.

    Broadcasting (N, L, C) against (N, 1, C) makes NumPy loop over runs of C numbers (C = 32:
    a call per 32 numbers, 2–3× slower than the NCHW case). Tiling each coefficient k times,
    (N, k·C), and viewing the data as (N, L/k, k·C) gives runs of k·C numbers instead.
    Returns (k, reshape, tiled coefficients): reshape(a) views an (N, L, C)-sized array.
    """
    N, C = x.shape[0], x.shape[-1]
    L = x.size // (N * C)
    k = next(d for d in range(max(1, min(L, 1024 // C)), 0, -1) if L % d == 0)

    def reshape(a):
        return a.reshape(N, L // k, k * C)

    return reshape, [np.tile(c, (1, k))[:, None, :] for c in coefs]


def _stats(S1, S2, m, cg, norm_eps, dtype):
    """Per-group mean and 1/√(var + norm_eps) from per-channel Σx, Σx² over m elements a group."""
    N, C = S1.shape
    G = C // cg
    mu = S1.reshape(N, G, cg).sum(axis=2) / m                    # (N, G)
    sq = S2.reshape(N, G, cg).sum(axis=2) / m
    var = np.maximum(sq - mu * mu, 0)                            # E[x²] − E[x]², clipped at 0
    return mu, 1.0 / np.sqrt(var + dtype.type(norm_eps))


def groupnorm_forward(x, scale, shift, num_groups, norm_eps=1e-5, channels_last=False):
    """y = (x − μ_g)/√(σ²_g + norm_eps)·scale[c] + shift[c], statistics per sample and group.

    x: (N, C, *spatial), or (N, *spatial, C) with channels_last ; scale, shift: (C,) -> y like x.
    Cache: (x, μ_g, 1/√(σ²_g+norm_eps), scale, num_groups, channels_last); backward recomputes
    x̂ from them. The statistics take two reductions (Σx and Σx²) and the output one fused
    multiply-add, y = x·a[n,c] + b[n,c], instead of materialising x − μ and x̂ (2× faster).
    """
    N = x.shape[0]
    C = x.shape[-1] if channels_last else x.shape[1]
    G, cg = num_groups, C // num_groups
    m = x.size // (N * G)                                        # elements per group
    if channels_last:
        xr = x.reshape(N, -1, C)                                 # (N, L, C)
        S1 = np.matmul(np.ones((1, xr.shape[1]), x.dtype), xr)[:, 0]     # Σ_l x: (N, C)
        S2 = np.einsum("nlc,nlc->nc", xr, xr)                    # Σ_l x²
        mu, inv_std = _stats(S1, S2, m, cg, norm_eps, x.dtype)
    else:
        xg = x.reshape(N, G, -1)                                 # (N, G, m)
        mu = xg.mean(axis=2)                                     # (N, G)
        sq = np.matmul(xg[:, :, None, :], xg[:, :, :, None])[:, :, 0, 0] / m
        var = np.maximum(sq - mu * mu, 0)
        inv_std = 1.0 / np.sqrt(var + x.dtype.type(norm_eps))
    a = np.repeat(inv_std, cg, axis=1) * scale                   # (N, C)
    b = shift - np.repeat(mu, cg, axis=1) * a                    # (N, C)
    if channels_last:
        view, (a, b) = _channel_runs(x, a, b)
        y = view(x) * a
        y += b
        y = y.reshape(x.shape)
    else:
        bshape = (N, C) + (1,) * (x.ndim - 2)
        y = x * a.reshape(bshape)
        y += b.reshape(bshape)
    return y, (x, mu, inv_std, scale, G, channels_last)


def groupnorm_backward(dout, cache):
    """Gradients (dx, dscale, dshift).

    Math: with g = dy·scale and x̂ = (x − μ)/σ, per sample and group of m elements,
          dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂)).
    Everything here is linear in dy, x and per-(n, c) sums, so the code needs just two reductions
    over the image, S1[n,c] = Σ dy and S2[n,c] = Σ dy·x (a batched dot product), since
          Σ dy·x̂ = (S2 − μ·S1)/σ,   dshift = Σ_n S1,   dscale = Σ_n (S2 − μ·S1)/σ,
    and then one fused pass  dx = α·dy + β·x + γ  with per-(n, c) coefficients
          α = scale/σ,   β = −B/σ²,   γ = (μ·B/σ − A)/σ,
          A = mean(g) = Σ_{c∈group} scale·S1 / m,   B = mean(g·x̂) = Σ_{c∈group} scale·(S2 − μ·S1)/σ / m.
    (About 3× fewer passes over the data than the textbook form.)
    """
    x, mu, inv_std, scale, G, channels_last = cache
    if dout.shape != x.shape:
        raise ValueError(f"groupnorm_backward: dout has shape {dout.shape}, expected {x.shape}")
    N = dout.shape[0]
    C = dout.shape[-1] if channels_last else dout.shape[1]
    cg = C // G
    m = dout.size // (N * G)
    if channels_last:
        dyr, xr = dout.reshape(N, -1, C), x.reshape(N, -1, C)
        S1 = np.matmul(np.ones((1, dyr.shape[1]), dout.dtype), dyr)[:, 0]
        S2 = np.einsum("nlc,nlc->nc", dyr, xr)
    else:
        dy, xs = dout.reshape(N * C, 1, -1), x.reshape(N * C, -1, 1)
        S1 = dy.sum(axis=2).reshape(N, C)
        S2 = np.matmul(dy, xs).reshape(N, C)
    mu_c = np.repeat(mu, cg, axis=1)                   # (N, C)
    inv_c = np.repeat(inv_std, cg, axis=1)
    dyxhat = (S2 - mu_c * S1) * inv_c                  # Σ dy·x̂ per (n, c)
    dshift = S1.sum(axis=0)
    dscale = dyxhat.sum(axis=0)
    A = np.repeat((scale * S1).reshape(N, G, cg).sum(axis=2) / m, cg, axis=1)
    B = np.repeat((scale * dyxhat).reshape(N, G, cg).sum(axis=2) / m, cg, axis=1)
    alpha = scale * inv_c
    beta = -B * inv_c * inv_c
    gamma = (mu_c * B * inv_c - A) * inv_c
    if channels_last:
        view, (alpha, beta, gamma) = _channel_runs(x, alpha, beta, gamma)
        dout, x = view(dout), view(x)
    else:
        bshape = (N, C) + (1,) * (dout.ndim - 2)
        alpha, beta, gamma = (c.reshape(bshape) for c in (alpha, beta, gamma))
    dx = dout * alpha
    dx += x * beta
    dx += gamma
    return dx.reshape(cache[0].shape), dscale, dshift


class GroupNorm(Module):
    """GroupNorm with per-channel affine `scale` (init 1) and `shift` (init 0).

    Input (N, C, ...), or (N, ..., C) with `channels_last=True`."""

    def __init__(self, num_groups, num_channels, norm_eps=1e-5, *, dtype=np.float32,
                 channels_last=False):
        self.num_groups = positive_int(num_groups, "num_groups")
        self.num_channels = positive_int(num_channels, "num_channels")
        if self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels={num_channels} is not divisible by "
                             f"num_groups={num_groups}")
        if not norm_eps > 0:
            raise ValueError(f"GroupNorm: norm_eps must be > 0, got {norm_eps}")
        self.norm_eps = float(norm_eps)
        self.channels_last = bool(channels_last)
        self.scale = Parameter(np.ones(self.num_channels, dtype))
        self.shift = Parameter(np.zeros(self.num_channels, dtype))

    def forward(self, x):
        check_dtype(x, self.scale.dtype, "GroupNorm")
        axis = -1 if self.channels_last else 1
        if x.ndim < 2 or x.shape[axis] != self.num_channels:
            layout = f"(N, ..., {self.num_channels})" if self.channels_last \
                else f"(N, {self.num_channels}, ...)"
            raise ValueError(f"GroupNorm expects input of shape {layout}, got {x.shape}")
        out, self._cache = groupnorm_forward(x, self.scale.data, self.shift.data,
                                             self.num_groups, self.norm_eps, self.channels_last)
        return out

    def backward(self, dout):
        dx, dscale, dshift = groupnorm_backward(dout, self._need_cache())
        self.scale.grad += dscale
        self.shift.grad += dshift
        return dx
