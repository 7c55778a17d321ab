"""Single-head self-attention over the H·W positions of a feature map (as in the DDPM UNet).

    x ─┬─ GroupNorm ─ 1×1 qkv ─ softmax(q·kᵀ/√C)·v ─ 1×1 proj ─┐
       └──────────────────────────────────────────────────────(+)── out

A 1×1 convolution is a Linear layer applied to each position's channel vector, so both 1×1 convs
are `Linear`s on the (N, H·W, C) token view: one token per pixel, its C channels as features.
"""
import numpy as np

from ..checks import check_int
from .linear import Linear
from .module import Module, check_dtype
from .norm import GroupNorm


def softmax_forward(s):
    """Softmax over the last axis, shifted by the row max so exp never overflows."""
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(dA, A):
    """dS = A ⊙ (dA − Σ_j dA·A) for A = softmax(S) along the last axis."""
    return A * (dA - (dA * A).sum(axis=-1, keepdims=True))


def attend_forward(q, k, v, scale):
    """o = softmax(q·kᵀ·scale)·v per sample: q, k, v (N, L, C) -> (o (N, L, C), A (N, L, L))."""
    A = softmax_forward((q @ k.transpose(0, 2, 1)) * scale)
    return A @ v, A


def attend_backward(do, q, k, v, A, scale):
    """Gradients (dq, dk, dv) of attend_forward: with S = q·kᵀ·scale and A = softmax(S),
    dA = do·vᵀ, dv = Aᵀ·do, dS = softmax′(dA)·scale, dq = dS·k, dk = dSᵀ·q."""
    dA = do @ v.transpose(0, 2, 1)
    dv = A.transpose(0, 2, 1) @ do
    dS = softmax_backward(dA, A) * scale
    return dS @ k, dS.transpose(0, 2, 1) @ q, dv


class SelfAttention2d(Module):
    """Residual single-head self-attention block; `zero_init` zeroes the output projection."""

    def __init__(self, channels, num_groups=8, *, rng, dtype=np.float32, zero_init=False):
        self.channels = check_int(channels, "channels")
        self.norm = GroupNorm(num_groups, channels, dtype=dtype)
        self.qkv = Linear(channels, 3 * channels, rng=rng, dtype=dtype)
        self.proj = Linear(channels, channels, rng=rng, dtype=dtype, zero_init=zero_init)

    def check_input(self, x):
        """x is (N, channels, H, W) of the parameters' dtype."""
        check_dtype(x, self.qkv.W.dtype, "SelfAttention2d")
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"SelfAttention2d expects (N, {self.channels}, H, W), got {x.shape}")

    def cache_for(self, dout):
        """The cache of the last forward, (q, k, v, A, scale, x's shape), for a dout of x's
        shape."""
        cache = self._need_cache()
        if dout.shape != cache[-1]:
            raise ValueError(f"SelfAttention2d.backward: dout has shape {dout.shape}, "
                             f"expected {cache[-1]}")
        return cache

    def forward(self, x):
        self.check_input(x)
        q, k, v = self.project_in(x)                             # (N, L, C) each, L = H·W
        scale = 1.0 / float(np.sqrt(self.channels))  # Python float: no upcast of float32
        o, A = attend_forward(q, k, v, scale)                    # (N, L, C), (N, L, L)
        self._cache = (q, k, v, A, scale, x.shape)
        return x + self.project_out(o, x.shape)

    def backward(self, dout):
        q, k, v, A, scale, x_shape = self.cache_for(dout)
        do = self.project_out_backward(dout)
        dq, dk, dv = attend_backward(do, q, k, v, A, scale)
        return dout + self.project_in_backward(dq, dk, dv, x_shape)

    def project_in(self, x):
        """GroupNorm, then one token per pixel projected to q, k, v: each (N, H·W, C)."""
        N, C, H, W = x.shape
        tok = self.norm(x).transpose(0, 2, 3, 1).reshape(N, H * W, C)
        qkv = self.qkv(tok)                                      # (N, L, 3C)
        return qkv[..., :C], qkv[..., C:2 * C], qkv[..., 2 * C:]

    def project_out(self, o, x_shape):
        """The attended tokens (N, L, C) projected and put back as an image (N, C, H, W)."""
        N, C, H, W = x_shape
        return self.proj(o).reshape(N, H, W, C).transpose(0, 3, 1, 2)

    def project_out_backward(self, dout):
        N, C, H, W = dout.shape
        return self.proj.backward(dout.transpose(0, 2, 3, 1).reshape(N, H * W, C))

    def project_in_backward(self, dq, dk, dv, x_shape):
        N, C, H, W = x_shape
        dtok = self.qkv.backward(np.concatenate([dq, dk, dv], axis=-1))
        return self.norm.backward(dtok.reshape(N, H, W, C).transpose(0, 3, 1, 2))
