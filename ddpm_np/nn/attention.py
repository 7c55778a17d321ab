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

    _attend, _attend_backward = staticmethod(attend_forward), staticmethod(attend_backward)

    def forward(self, x):
        check_dtype(x, self.qkv.W.dtype, "SelfAttention2d")
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"SelfAttention2d expects (N, {self.channels}, H, W), got {x.shape}")
        N, C, H, W = x.shape
        L = H * W
        h = self.norm(x)
        tok = h.transpose(0, 2, 3, 1).reshape(N, L, C)          # one token per pixel
        qkv = self.qkv(tok)                                      # (N, L, 3C)
        q, k, v = qkv[..., :C], qkv[..., C:2 * C], qkv[..., 2 * C:]
        scale = 1.0 / float(np.sqrt(C))  # Python float: no upcast of float32
        o, A = self._attend(q, k, v, scale)                      # (N, L, C), (N, L, L)
        p = self.proj(o)                                         # (N, L, C)
        self._cache = (q, k, v, A, scale, x.shape)
        return x + p.reshape(N, H, W, C).transpose(0, 3, 1, 2)

    def backward(self, dout):
        q, k, v, A, scale, x_shape = self._need_cache()
        if dout.shape != x_shape:
            raise ValueError(f"SelfAttention2d.backward: dout has shape {dout.shape}, "
                             f"expected {x_shape}")
        N, C, H, W = x_shape
        dp = dout.transpose(0, 2, 3, 1).reshape(N, H * W, C)
        do = self.proj.backward(dp)
        dq, dk, dv = self._attend_backward(do, q, k, v, A, scale)
        dtok = self.qkv.backward(np.concatenate([dq, dk, dv], axis=-1))
        dh = dtok.reshape(N, H, W, C).transpose(0, 3, 1, 2)
        return dout + self.norm.backward(dh)
