"""The fast twin of `ddpm_np.nn.ResBlock`: same parameters, same numbers within float rounding,
built from the fast layers, with what a block-level view allows:

- the time shift and the residual are added in the convolutions' epilogues (`Conv2d(x, add=…)`),
  chunk by chunk while the output is in cache, instead of two passes over it on one core;
- the shift's gradient, dh summed over the pixels, is a batched GEMV on channels-last memory
  (`layout.channel_sums`) instead of NumPy's sum over strided axes;
- like every fast layer, it runs with the BLAS on one thread (`threads.hold_blas`).
"""
import numpy as np

from .. import blocks
from .layout import channel_sums
from .modules import Conv2d, GroupNormSiLU, Linear, as_twin, begin


class ResBlock(blocks.ResBlock):
    """`ddpm_np.nn.ResBlock` on the fast layers, with the epilogue adds above."""

    def __init__(self, cin, cout, temb_dim, groups=8, *, rng, dtype=np.float32):
        super().__init__(cin, cout, temb_dim, groups, rng=rng, dtype=dtype)
        self.norm1, self.norm2 = as_twin(self.norm1, GroupNormSiLU), as_twin(self.norm2,
                                                                             GroupNormSiLU)
        self.conv1, self.conv2 = as_twin(self.conv1, Conv2d), as_twin(self.conv2, Conv2d)
        self.temb_proj = as_twin(self.temb_proj, Linear)
        self.skip = as_twin(self.skip, Conv2d) if self.skip is not None else None

    def forward(self, x, temb_act):
        begin()
        shift = self.temb_proj(temb_act)[:, :, None, None]
        h = self.conv1(self.norm1(x), add=shift)
        self._cache = True
        return self.conv2(self.norm2(h), add=self.skip(x) if self.skip is not None else x)

    def backward(self, dout):
        begin()
        self._need_cache()
        dh = self.norm2.backward(self.conv2.backward(dout))
        dtemb_act = self.temb_proj.backward(channel_sums(dh))
        dx = self.norm1.backward(self.conv1.backward(dh))
        dx += self.skip.backward(dout) if self.skip is not None else dout
        return dx, dtemb_act
