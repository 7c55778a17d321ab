"""Group normalisation, fast tier: the numbers of the reference `ddpm_np.nn.groupnorm_forward`
in fewer passes over the data, per slice of the batch on every core.

The arithmetic: per (sample, channel) sums over the image, then per-(n, c) coefficients, then
one fused pass over the data. Inputs of either memory order are read as they are (channels-last
ones as (N, ..., C) rows) and the output has the input's memory order; what differs between the
two is how NumPy is told to make the passes fast (`channel_moments`, `per_channel_terms`).
"""
import math

import numpy as np

from .layout import channel_sums, is_channels_last, nchw, nhwc
from .threads import over_batch


def channel_moments(a, b, channels_last):
    """Per (sample, channel) sums over the image: Σa and Σa·b, each (n, C).

    NCHW: a row sum and a batched dot product per (n, c). Channels last: Σa as a product with a
    row of ones (a GEMV: summing over the middle axis would loop over runs of C numbers) and
    Σa·b as an einsum."""
    n = a.shape[0]
    if channels_last:
        C = a.shape[-1]
        ar, br = a.reshape(n, -1, C), b.reshape(n, -1, C)              # (n, L, C)
        return channel_sums(nchw(a)), np.einsum("nlc,nlc->nc", ar, br)
    C = a.shape[1]
    ar, br = a.reshape(n * C, 1, -1), b.reshape(n * C, -1, 1)
    return channel_sums(a), np.matmul(ar, br).reshape(n, C)


RUN = 8192        # numbers per coefficient row at most: longer runs broadcast faster


def per_channel_terms(terms, const, out, channels_last):
    """out = Σ_i a_i·c_i[n, c] + const[n, c] for arrays a_i shaped like out and coefficients
    (n, C), in one pass per term.

    Channels last: broadcasting (n, L, C) against (n, 1, C) makes NumPy loop over runs of C
    numbers (C = 32: an inner loop of 32 numbers per call), so each coefficient is tiled
    k times, (n, k·C), and the data viewed as (n, L/k, k·C): runs of k·C numbers instead.
    """
    n = out.shape[0]
    if channels_last:
        C = out.shape[-1]
        L = out.size // (n * C)
        k = next(d for d in range(max(1, min(L, RUN // C)), 0, -1) if L % d == 0)

        def view(arr):
            return arr.reshape(n, L // k, k * C)

        def coef(c):
            return np.tile(c, (1, k))[:, None, :]
    else:
        bshape = out.shape[:2] + (1,) * (out.ndim - 2)

        def view(arr):
            return arr

        def coef(c):
            return c.reshape(bshape)
    o = view(out)
    (a0, c0), rest = terms[0], terms[1:]
    np.multiply(view(a0), coef(c0), out=o)
    for a, c in rest:
        o += view(a) * coef(c)
    o += coef(const)
    return out


def group_stats(S1, S2, m, cg, norm_eps, dtype):
    """Per-group mean and 1/√(var + norm_eps) from per-channel Σx, Σx² over m elements a group."""
    n, C = S1.shape
    G = C // cg
    mu = S1.reshape(n, G, cg).sum(axis=2) / m                    # (n, G)
    sq = S2.reshape(n, G, cg).sum(axis=2) / m
    var = np.maximum(sq - mu * mu, 0)                            # E[x²] − E[x]², clipped at 0
    return mu, 1.0 / np.sqrt(var + dtype.type(norm_eps))


def group_layout(x, num_groups, channels_last):
    """(N, C, channels per group, elements per group) of x in its memory order."""
    N = x.shape[0]
    C = x.shape[-1] if channels_last else x.shape[1]
    return N, C, C // num_groups, math.prod(x.shape[1:]) // num_groups


def affine_coefficients(mu, inv_std, scale, shift, cg):
    """(a, b) per (n, c) with y = x·a + b: a = scale/σ, b = shift − μ·a."""
    a = np.repeat(inv_std, cg, axis=1) * scale                   # (n, C)
    return a, shift - np.repeat(mu, cg, axis=1) * a


def backward_coefficients(S1, S2, mu, inv_std, scale, cg, m):
    """(α, β, γ, Σdy·x̂) per (n, c) from S1 = Σdy and S2 = Σdy·x per (n, c), so that
    dx = α·dy + β·x + γ (see groupnorm_backward for the algebra)."""
    n, C = S1.shape
    G = C // cg
    mu_c = np.repeat(mu, cg, axis=1)                            # (n, C)
    inv_c = np.repeat(inv_std, cg, axis=1)
    dyxhat = (S2 - mu_c * S1) * inv_c
    A = np.repeat((scale * S1).reshape(n, G, cg).sum(axis=2) / m, cg, axis=1)
    B = np.repeat((scale * dyxhat).reshape(n, G, cg).sum(axis=2) / m, cg, axis=1)
    alpha = scale * inv_c
    beta = -B * inv_c * inv_c
    gamma = (mu_c * B * inv_c - A) * inv_c
    return alpha, beta, gamma, dyxhat


def in_memory_order(x):
    """(x as a C-contiguous array in its memory order, whether that is channels last)."""
    if is_channels_last(x):
        return nhwc(x), True
    return np.ascontiguousarray(x), False


def groupnorm_forward(x, scale, shift, num_groups, norm_eps=1e-5):
    """As `ddpm_np.nn.groupnorm_forward`: x (N, C, *spatial) -> y like x, same memory order.

    Cache: (x in memory order, μ_g, 1/√(σ²_g+norm_eps), scale, num_groups, channels_last);
    backward recomputes x̂ from them. Steps, per slice of samples on every core (over_batch):
      1. S1 = Σx, S2 = Σx² per (n, c); μ and σ per group from them (E[x²] − E[x]²);
      2. y = x·a + b with a = scale/σ, b = shift − μ·a per (n, c): one fused pass, instead of
         materialising x − μ and x̂ (half the passes over memory).
    """
    x, channels_last = in_memory_order(x)
    N, C, cg, m = group_layout(x, num_groups, channels_last)
    y = np.empty_like(x)
    mu = np.empty((N, num_groups), x.dtype)
    inv_std = np.empty((N, num_groups), x.dtype)

    def task(n0, n1):
        xs = x[n0:n1]
        S1, S2 = channel_moments(xs, xs, channels_last)
        mu[n0:n1], inv_std[n0:n1] = group_stats(S1, S2, m, cg, norm_eps, x.dtype)
        a, b = affine_coefficients(mu[n0:n1], inv_std[n0:n1], scale, shift, cg)
        per_channel_terms([(xs, a)], b, y[n0:n1], channels_last)

    over_batch(task, N, x[0].nbytes if N else 0)
    return (nchw(y) if channels_last else y), (x, mu, inv_std, scale, num_groups, channels_last)


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
    (About 3× fewer passes over the data than the textbook form.) All of it is per sample, so
    slices of samples run on every core; dscale and dshift are summed over the whole batch after.
    dx has the memory order of the forward pass's input.
    """
    x, mu, inv_std, scale, G, channels_last = cache
    shape = nchw(x).shape if channels_last else x.shape
    if dout.shape != shape:
        raise ValueError(f"groupnorm_backward: dout has shape {dout.shape}, expected {shape}")
    dout = np.ascontiguousarray(nhwc(dout)) if channels_last else np.ascontiguousarray(dout)
    N, C, cg, m = group_layout(x, G, channels_last)
    dx = np.empty_like(dout)
    S1 = np.empty((N, C), dout.dtype)
    dyxhat = np.empty((N, C), dout.dtype)                       # Σ dy·x̂ per (n, c)

    def task(n0, n1):
        dy, xs = dout[n0:n1], x[n0:n1]
        S1[n0:n1], S2 = channel_moments(dy, xs, channels_last)
        alpha, beta, gamma, dyxhat[n0:n1] = backward_coefficients(
            S1[n0:n1], S2, mu[n0:n1], inv_std[n0:n1], scale, cg, m)
        per_channel_terms([(dy, alpha), (xs, beta)], gamma, dx[n0:n1], channels_last)

    over_batch(task, N, dout[0].nbytes if N else 0)
    return (nchw(dx) if channels_last else dx), dyxhat.sum(axis=0), S1.sum(axis=0)
