"""ε_θ(x_t, t) for a scalar field on an L×L periodic lattice: a residual network of periodic
convolutions, odd in the field and equivariant under the lattice's translations.

    x (N, 1, L, L) ─ PConv(1→C) ─ h ─ [block] × B ─ PConv(C→1) ─ ε_θ
    block:  h ← h + PConv₂( tanh( g_b(t) ⊙ PConv₁(h) ) )
    t ─ TimeEmbedding ─ SiLU ─ Linear ─ 1 + (·) = g (N, B·C): a gain per block and channel

Symmetries by construction, so that they are exact and not learned:
- translations: every convolution wraps around the torus (`PeriodicConv2d`), so shifting the
  field shifts ε_θ;
- Z₂ (φ → −φ): no bias on the field's path, an odd activation, and the time enters as a gain
  (a product), never as a shift, so ε_θ(−x, t) = −ε_θ(x, t). A DDIM flow built on it is odd,
  and its density is even: q(−φ) = q(φ), which is the symmetrised q_sym = ½[q(φ) + q(−φ)].
  With `odd=False` the input and first block convolutions get biases: a network for fields
  whose distribution is not symmetric under φ → −φ (translations stay exact).
"""
import numpy as np

from ..checks import check_int
from ..nn import Module, check_dtype, layers
from .embedding import TimeEmbedding, check_model_t


class LatticeBlock(Module):
    def __init__(self, channels, *, rng, dtype, tier=None, odd=True):
        nn = layers(tier)
        self.conv1 = nn.PeriodicConv2d(channels, channels, 3, bias=not odd, rng=rng, dtype=dtype)
        self.act = nn.Tanh()
        self.conv2 = nn.PeriodicConv2d(channels, channels, 3, bias=False, rng=rng, dtype=dtype,
                                       zero_init=True)

    def forward(self, h, gain):
        """h (N, C, L, L), gain (N, C) -> h + conv₂(tanh(gain·conv₁(h)))."""
        u = self.conv1(h)
        g = gain[:, :, None, None]
        self._cache = (u, g)
        return h + self.conv2(self.act(u * g))

    def backward(self, dout):
        """Returns (dh, dgain)."""
        u, g = self._need_cache()
        dug = self.act.backward(self.conv2.backward(dout))     # d(u·g)
        dgain = (dug * u).sum(axis=(2, 3))
        return dout + self.conv1.backward(dug * g), dgain


class LatticeEps(Module):
    """ε_θ for fields (N, 1, L, L) of any L; `config()` returns the constructor's arguments."""

    def __init__(self, channels=32, num_blocks=3, emb_dim=32, odd=True, *, rng,
                 dtype=np.float32, tier=None):
        self.channels = check_int(channels, "channels")
        self.num_blocks = check_int(num_blocks, "num_blocks")
        self.emb_dim = check_int(emb_dim, "emb_dim")
        self.odd = bool(odd)
        nn = layers(tier)
        C = self.channels
        self.temb = TimeEmbedding(emb_dim, 4 * emb_dim, rng=rng, dtype=dtype, tier=tier)
        self.temb_act = nn.SiLU()
        self.gains = nn.Linear(4 * emb_dim, num_blocks * C, rng=rng, dtype=dtype)
        self.inp = nn.PeriodicConv2d(1, C, 3, bias=not odd, rng=rng, dtype=dtype)
        self.blocks = [LatticeBlock(C, rng=rng, dtype=dtype, tier=tier, odd=odd)
                       for _ in range(num_blocks)]
        self.out = nn.PeriodicConv2d(C, 1, 3, bias=False, rng=rng, dtype=dtype, zero_init=True)

    def config(self) -> dict:
        return dict(channels=self.channels, num_blocks=self.num_blocks, emb_dim=self.emb_dim,
                    odd=self.odd)

    def forward(self, xt, t):
        check_dtype(xt, self.inp.W.dtype, "LatticeEps")
        if xt.ndim != 4 or xt.shape[1] != 1 or xt.shape[2] != xt.shape[3]:
            raise ValueError(f"LatticeEps expects fields of shape (N, 1, L, L), got {xt.shape}")
        check_model_t(t, len(xt))
        C = self.channels
        gain = 1 + self.gains(self.temb_act(self.temb(t)))           # (N, B·C)
        h = self.inp(xt)
        for b, block in enumerate(self.blocks):
            h = block(h, gain[:, b * C:(b + 1) * C])
        self._cache = True
        return self.out(h)

    def jacobian(self, xt, t):
        """(ε_θ, ∂ε_θ/∂x) by forward mode: the V unit tangents e_j of each sample pushed through
        the same layers (convolutions without bias are linear, so a tangent goes through the
        layer itself; the activation multiplies it by its derivative).

        xt (N, 1, L, L), t (N,) -> ε_θ (N, 1, L, L), J (N, V, V) with J[n, k, j] = ∂ε_k/∂x_j.
        No caches are kept (the model runs in inference mode and is put back as it was).
        """
        N, _, L, _ = xt.shape
        V = L * L
        C = self.channels
        was_training = self.training
        self.eval()
        try:
            gain = 1 + self.gains(self.temb_act(self.temb(t)))       # (N, B·C)
            h = self.inp(xt)                                           # (N, C, L, L)
            unit = np.eye(V, dtype=xt.dtype).reshape(V, 1, L, L)
            dh = np.broadcast_to(_linear(self.inp, unit), (N, V, C, L, L))  # ∂h/∂x_j
            for b, block in enumerate(self.blocks):
                g = gain[:, b * C:(b + 1) * C, None, None]             # (N, C, 1, 1)
                u = block.conv1(h)
                du = _linear(block.conv1, dh.reshape(N * V, C, L, L)).reshape(N, V, C, L, L)
                v = block.act(u * g)
                dv = ((1 - v * v) * g)[:, None] * du                    # tanh' = 1 − tanh²
                h = h + block.conv2(v)
                dh = dh + block.conv2(dv.reshape(N * V, C, L, L)).reshape(N, V, C, L, L)
            eps = self.out(h)
            deps = self.out(dh.reshape(N * V, C, L, L)).reshape(N, V, V)   # [n, j, k]
        finally:
            self.train(was_training)
        return eps, deps.transpose(0, 2, 1)

    def backward(self, d_eps):
        self._need_cache()
        C = self.channels
        dh = self.out.backward(d_eps)
        dgain = np.zeros((len(d_eps), self.num_blocks * C), d_eps.dtype)
        for b in reversed(range(self.num_blocks)):
            dh, dgain[:, b * C:(b + 1) * C] = self.blocks[b].backward(dh)
        self.temb.backward(self.temb_act.backward(self.gains.backward(dgain)))
        return self.inp.backward(dh)


def _linear(conv, x):
    """A periodic convolution's linear part: the layer, less its bias."""
    out = conv(x)
    return out if conv.b is None else out - conv.b.data[:, None, None]
