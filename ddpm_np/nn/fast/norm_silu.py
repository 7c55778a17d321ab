"""GroupNorm followed by SiLU, fast tier: `SiLU(GroupNorm(x))` in one pass over the data per
direction, each sample's numbers worked on while they are in cache.

The reference twin is the plain composition (`ddpm_np.nn.groupnorm_silu_forward`). Here,
per block of whole samples (statistics are per sample, so a block needs nothing from outside
itself), on every core:

    forward    S1 = Σx, S2 = Σx² per (n, c) → a, b per (n, c) (fast/norm.py), then with
               h = (x·a + b)/2 and u = 1 + tanh h:   SiLU(x·a + b) = h·u
    backward   g = 2·SiLU′·dy = dy·(1 + y + tanh h·(1 − y)) = dy·(u + y·(2 − u)) from the
               output y and u,
               S1 = Σg, S2 = Σg·x per (n, c), and GroupNorm's backward dx = α·g + β·x + γ
               (fast/norm.py) with the ½ folded into the coefficients

since σ(t) = (1 + tanh(t/2))/2, SiLU(t) = t·σ(t) and SiLU′(t) = σ(t) + SiLU(t)·(1 − σ(t)).
The backward pass needs x, y (references to arrays that exist anyway) and u (kept only in
training: `keep`); recomputing u instead costs four more passes over the data.
"""
import numpy as np

from .layout import nchw, nhwc
from .norm import (affine_coefficients, backward_coefficients, channel_moments, group_layout,
                   group_stats, in_memory_order, per_channel_terms)
from .threads import over_batch

BLOCK_BYTES = 4 << 20            # samples per block: about this much of x (measured best)


def _blocks(n0, n1, sample_bytes):
    per = max(1, BLOCK_BYTES // max(sample_bytes, 1))
    return [(s, min(s + per, n1)) for s in range(n0, n1, per)]


def groupnorm_silu_forward(x, scale, shift, num_groups, norm_eps=1e-5, keep=True):
    """As `ddpm_np.nn.groupnorm_silu_forward`: SiLU(GroupNorm(x)), x (N, C, *spatial), output
    in x's memory order. Cache: (x and the output y in memory order, 1 + tanh h (only with `keep`;
    inference needs no backward pass), μ_g, 1/√(σ²_g+norm_eps), scale, num_groups,
    channels_last)."""
    x, channels_last = in_memory_order(x)
    N, C, cg, m = group_layout(x, num_groups, channels_last)
    y = np.empty_like(x)
    tanh_h = np.empty_like(x) if keep else None
    mu = np.empty((N, num_groups), x.dtype)
    inv_std = np.empty((N, num_groups), x.dtype)
    sample_bytes = x[0].nbytes if N else 0

    def task(n0, n1):
        for s0, s1 in _blocks(n0, n1, sample_bytes):
            xb, h = x[s0:s1], y[s0:s1]
            S1, S2 = channel_moments(xb, xb, channels_last)
            mu[s0:s1], inv_std[s0:s1] = group_stats(S1, S2, m, cg, norm_eps, x.dtype)
            a, b = affine_coefficients(mu[s0:s1], inv_std[s0:s1], scale, shift, cg)
            per_channel_terms([(xb, 0.5 * a)], 0.5 * b, h, channels_last)
            u = np.tanh(h, out=tanh_h[s0:s1] if keep else None)
            u += 1
            h *= u                                              # h·(1 + tanh h)

    over_batch(task, N, sample_bytes)
    cache = (x, y, tanh_h, mu, inv_std, scale, num_groups, channels_last)
    return (nchw(y) if channels_last else y), cache


def groupnorm_silu_backward(dout, cache):
    """Gradients (dx, dscale, dshift) of groupnorm_silu_forward; dx in the input's memory order.

    With the forward pass's output y and u = 1 + tanh h:
    SiLU′ = σ + y·(1 − σ) = ½·(u + y·(2 − u)), so 2·(GroupNorm's dy) = dout·(u + y·(2 − u)),
    then GroupNorm's backward."""
    x, y, tanh_h, mu, inv_std, scale, G, channels_last = cache      # tanh_h: 1 + tanh h
    if tanh_h is None:
        raise RuntimeError("groupnorm_silu_backward: the forward pass ran with keep=False "
                           "(inference mode); run it in training mode to back-propagate")
    shape = nchw(x).shape if channels_last else x.shape
    if dout.shape != shape:
        raise ValueError(f"groupnorm_silu_backward: dout has shape {dout.shape}, "
                         f"expected {shape}")
    dout = np.ascontiguousarray(nhwc(dout)) if channels_last else np.ascontiguousarray(dout)
    N, C, cg, m = group_layout(x, G, channels_last)
    dx = np.empty_like(dout)
    S1 = np.empty((N, C), dout.dtype)
    dyxhat = np.empty((N, C), dout.dtype)                       # Σ g·x̂ per (n, c)
    sample_bytes = x[0].nbytes if N else 0

    def task(n0, n1):
        for s0, s1 in _blocks(n0, n1, sample_bytes):
            xb, yb, g = x[s0:s1], y[s0:s1], dx[s0:s1]
            u = tanh_h[s0:s1]                                   # 1 + tanh h
            np.subtract(2, u, out=g)
            g *= yb
            g += u
            g *= dout[s0:s1]                                    # 2·(GroupNorm's dy)
            S1b, S2b = channel_moments(g, xb, channels_last)
            S1[s0:s1], S2b = 0.5 * S1b, 0.5 * S2b
            alpha, beta, gamma, dyxhat[s0:s1] = backward_coefficients(
                S1[s0:s1], S2b, mu[s0:s1], inv_std[s0:s1], scale, cg, m)
            per_channel_terms([(g, 0.5 * alpha), (xb, beta)], gamma, g, channels_last)

    over_batch(task, N, sample_bytes)
    return (nchw(dx) if channels_last else dx), dyxhat.sum(axis=0), S1.sum(axis=0)
