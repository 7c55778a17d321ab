"""Time-conditioned MLP for (N, D) data, with hand-written backward.

    x ─ [x, sin(2πxB), cos(2πxB)] ─ Linear ─(+ temb)─ ResBlock × num_blocks ─ SiLU ─ Linear ─ ε_θ
    t ─ TimeEmbedding ─ temb ─ SiLU ─┬─ into each ResBlock
    ResBlock(h) = h + Linear₂(SiLU(Linear₁(SiLU(h)) + Linear_t(SiLU(temb))))

Fourier features (a fixed Gaussian matrix B of shape (D, F), not trained) let a small MLP fit the
sharp structure of low-dimensional data (Tancik et al. 2020). The output layer starts at zero, so
the untrained model predicts ε_θ = 0 (loss 1) and training starts stable.
"""
import numpy as np

from ..checks import check_int
from ..nn import Module, check_dtype, layers
from .embedding import TimeEmbedding, check_model_t


class MLPBlock(Module):
    def __init__(self, hidden, *, rng, dtype, tier=None):
        nn = layers(tier)
        self.act1, self.lin1 = nn.SiLU(), nn.Linear(hidden, hidden, rng=rng, dtype=dtype)
        self.tproj = nn.Linear(hidden, hidden, rng=rng, dtype=dtype)
        self.act2, self.lin2 = nn.SiLU(), nn.Linear(hidden, hidden, rng=rng, dtype=dtype)

    def forward(self, h, temb_act):
        u = self.lin1(self.act1(h)) + self.tproj(temb_act)
        self._cache = True
        return h + self.lin2(self.act2(u))

    def backward(self, dout):
        """Returns (dh, dtemb_act)."""
        self._need_cache()
        du = self.act2.backward(self.lin2.backward(dout))
        dtemb_act = self.tproj.backward(du)
        dh = dout + self.act1.backward(self.lin1.backward(du))
        return dh, dtemb_act


class MLP(Module):
    """ε_θ(x_t, t) for 2-D (any D) data; `config()` returns the constructor's arguments.
    `tier` chooses the layers (`nn.layers`); it is not part of `config()`."""

    def __init__(self, dim=2, hidden=128, num_blocks=3, emb_dim=64, fourier_features=16,
                 fourier_scale=1.0, *, rng, dtype=np.float32, tier=None):
        self.dim = check_int(dim, "dim")
        self.hidden = check_int(hidden, "hidden")
        self.num_blocks = check_int(num_blocks, "num_blocks")
        self.fourier_features = int(fourier_features)
        if self.fourier_features < 0:
            raise ValueError(f"fourier_features must be ≥ 0, got {fourier_features}")
        self.fourier_scale = float(fourier_scale)
        self.emb_dim = emb_dim
        # fixed (untrained) projection: a plain array, saved in checkpoints through `buffers()`
        self.B = (self.fourier_scale * rng.standard_normal((dim, self.fourier_features))
                  ).astype(dtype)
        nn = layers(tier)
        self.temb = TimeEmbedding(emb_dim, hidden, rng=rng, dtype=dtype, tier=tier)
        self.temb_act = nn.SiLU()
        self.inp = nn.Linear(dim + 2 * self.fourier_features, hidden, rng=rng, dtype=dtype)
        self.blocks = [MLPBlock(hidden, rng=rng, dtype=dtype, tier=tier)
                       for _ in range(num_blocks)]
        self.out_act = nn.SiLU()
        self.out = nn.Linear(hidden, dim, rng=rng, dtype=dtype, zero_init=True)

    def config(self) -> dict:
        return dict(dim=self.dim, hidden=self.hidden, num_blocks=self.num_blocks,
                    emb_dim=self.emb_dim, fourier_features=self.fourier_features,
                    fourier_scale=self.fourier_scale)

    def buffers(self) -> dict:
        """Fixed arrays that are not parameters but belong in a checkpoint."""
        return {"B": self.B}

    def load_buffers(self, buffers: dict):
        if buffers["B"].shape != self.B.shape:
            raise ValueError(f"buffer B: model has {self.B.shape}, state has {buffers['B'].shape}")
        self.B = buffers["B"].astype(self.B.dtype)

    def forward(self, xt, t):
        check_dtype(xt, self.inp.W.dtype, "MLP")
        if xt.ndim != 2 or xt.shape[1] != self.dim:
            raise ValueError(f"MLP expects x_t of shape (N, {self.dim}), got {xt.shape}")
        check_model_t(t, len(xt))
        # 1. features [x, sin(2πxB), cos(2πxB)]
        if self.fourier_features:
            proj = (2 * np.pi) * (xt @ self.B)                          # (N, F)
            sin, cos = np.sin(proj), np.cos(proj)
            feat = np.concatenate([xt, sin, cos], axis=1)
        else:
            sin = cos = None
            feat = xt
        # 2. time embedding, shared by the input and every block
        temb = self.temb(t)
        temb_act = self.temb_act(temb)
        h = self.inp(feat) + temb
        for block in self.blocks:
            h = block(h, temb_act)
        self._cache = (sin, cos)
        return self.out(self.out_act(h))

    def backward(self, d_eps):
        sin, cos = self._need_cache()
        dh = self.out_act.backward(self.out.backward(d_eps))
        dtemb_act = np.zeros_like(dh)
        for block in reversed(self.blocks):
            dh, dta = block.backward(dh)
            dtemb_act += dta
        dtemb = dh + self.temb_act.backward(dtemb_act)
        self.temb.backward(dtemb)
        dfeat = self.inp.backward(dh)
        D, F = self.dim, self.fourier_features
        dx = dfeat[:, :D]
        if F:
            # d sin(p) = cos(p) dp, d cos(p) = −sin(p) dp, p = 2π·x·B
            dproj = dfeat[:, D:D + F] * cos - dfeat[:, D + F:] * sin
            dx = dx + ((2 * np.pi) * dproj) @ self.B.T
        return dx
