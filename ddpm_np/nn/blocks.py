"""The UNet's residual block with a time input (Ho et al. 2020, App. B; the Wide ResNet block
of Zagoruyko & Komodakis with the time embedding added in between):

    x ─┬─ GroupNorm ─ SiLU ─ conv 3×3 ─(+ shift)─ GroupNorm ─ SiLU ─ conv 3×3 ─(+)── out
       │                                  │                                  │
       │          temb_act ─ Linear ──────┘  (one number per channel)        │
       └─────────────────── skip: 1×1 conv when in ≠ out, else identity ─────┘

conv₂ starts at zero, so a new block is its skip path. Each GroupNorm ─ SiLU pair is one layer,
`GroupNormSiLU`. The fast tier supplies a twin of the whole block under the same name
(`ddpm_np/nn/fast/blocks.py`), with the same parameters.
"""
import numpy as np

from ..checks import check_int
from .conv import Conv2d
from .linear import Linear
from .module import Module
from .norm import GroupNormSiLU


class ResBlock(Module):
    """out = skip(x) + conv₂(SiLU(GN(conv₁(SiLU(GN(x))) + Linear(temb_act)))), x (N, cin, H, W),
    temb_act (N, temb_dim) -> (N, cout, H, W). `groups`: GroupNorm's groups (at most the
    channels). backward(dout) returns (dx, dtemb_act)."""

    def __init__(self, cin, cout, temb_dim, groups=8, *, rng, dtype=np.float32):
        cin, cout = check_int(cin, "cin"), check_int(cout, "cout")
        self.norm1 = GroupNormSiLU(min(groups, cin), cin, dtype=dtype)
        self.conv1 = Conv2d(cin, cout, 3, padding=1, rng=rng, dtype=dtype)
        self.temb_proj = Linear(temb_dim, cout, rng=rng, dtype=dtype)
        self.norm2 = GroupNormSiLU(min(groups, cout), cout, dtype=dtype)
        self.conv2 = Conv2d(cout, cout, 3, padding=1, rng=rng, dtype=dtype, zero_init=True)
        self.skip = Conv2d(cin, cout, 1, rng=rng, dtype=dtype) if cin != cout else None

    def forward(self, x, temb_act):
        shift = self.temb_proj(temb_act)[:, :, None, None]     # (N, cout, 1, 1): every pixel
        h = self.conv1(self.norm1(x)) + shift
        skip = self.skip(x) if self.skip is not None else x
        self._cache = True
        return self.conv2(self.norm2(h)) + skip

    def backward(self, dout):
        """Returns (dx, dtemb_act). The shift was added at every pixel, so its gradient is dh
        summed over the pixels; the sum at the output sends dout down both paths."""
        self._need_cache()
        dh = self.norm2.backward(self.conv2.backward(dout))
        dtemb_act = self.temb_proj.backward(dh.sum(axis=(2, 3)))
        dx = self.norm1.backward(self.conv1.backward(dh))
        dx = dx + (self.skip.backward(dout) if self.skip is not None else dout)
        return dx, dtemb_act
