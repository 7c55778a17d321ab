"""A small UNet for ε_θ(x_t, t[, y]) on images, with hand-written backward.

Default (MNIST, 28×28, base 32, channel_mults (1, 2, 4), attention at 7×7), ~1.1 M parameters:

    t ─ sinusoidal(64) ─ Linear(64,128) ─ SiLU ─ Linear(128,128) (+ class_emb[y]) ─ temb ─ SiLU ─┐
                                                                      (into every ResBlock) ◄─┘
    x (1×28×28) ─ conv_in 1→32
      ─ ResBlock(32,32) ──────────────────────────────────────────────┐ skip s0 (32×28×28)
      ─ conv 3×3 stride 2 (28→14)                                      │
      ─ ResBlock(32,64) ─────────────────────────────────┐ skip s1     │
      ─ conv 3×3 stride 2 (14→7)                          │ (64×14×14)  │
      ─ ResBlock(64,128) ─ SelfAttention2d(128) ─ ResBlock(128,128)   │
      ─ nearest ×2 + conv(128,128) ─ concat s1 ─ ResBlock(192,64)      │
      ─ nearest ×2 + conv(64,64) ─ concat s0 ─ ResBlock(96,32)  ◄──────┘
      ─ GroupNorm ─ SiLU ─ conv 32→1 (zero-initialised) ─ ε_θ

    ResBlock(in,out)(h) = skip(h) + conv₂(SiLU(GN(conv₁(SiLU(GN(h))) + Linear(SiLU(temb)))))
    (`ddpm_np/nn/blocks.py`: skip = 1×1 conv when in ≠ out, else identity; conv₂ starts at
    zero; the Linear's output is one number per channel, added at every pixel)

Every array is (N, C, H, W). The layers and blocks come from `nn.layers(tier)`: the reference
tier's plain ones, or their fast twins (same parameters, same numbers), which is all the model
knows of speed.

Backward walks this diagram in reverse: each concatenation splits its gradient in two and the
skip half is added to the gradient arriving at the skip's source.
"""
from __future__ import annotations

import numpy as np

from ..nn import Module, check_dtype, concat_channels, layers, split_channels
from ..checks import check_int
from .embedding import TimeEmbedding, check_model_t


MAX_ATTENTION = 16      # feature maps up to 16×16 get attention by default (256² weights a head)


class UNet(Module):
    """ε_θ(x_t, t, y=None) for images (N, C, H, W); H, W divisible by 2^(len(channel_mults)−1).

    `attention_resolutions`: feature-map sizes (e.g. (7,)) that get a SelfAttention2d after their
    ResBlocks (the middle counts as the smallest size); None (the default): the smallest size
    if it is at most MAX_ATTENTION = 16 (7 for 28×28 images), else none. `num_classes` enables
    class conditioning (label `num_classes` = none, for classifier-free guidance). `tier` ("fast", "reference",
    None for `nn.default_tier()`) chooses the layers; it changes speed, not results (beyond float
    rounding), and is not part of `config()`. `learn_sigma`: the output has twice the input's
    channels, ε_θ then v, the interpolation of the reverse variance between β̃_t and β_t
    (Nichol & Dhariwal 2021, eq. 15; diffusion/learned_variance.py).
    """

    def __init__(self, in_channels=1, base_channels=32, channel_mults=(1, 2, 4), num_res_blocks=1,
                 attention_resolutions=None, num_classes=None, image_size=28, emb_dim=64,
                 groups=8, learn_sigma=False, *, rng, dtype=np.float32, tier=None):
        self.in_channels = check_int(in_channels, "in_channels")
        self.learn_sigma = bool(learn_sigma)
        self.base_channels = check_int(base_channels, "base_channels")
        self.channel_mults = tuple(int(m) for m in channel_mults)
        if len(self.channel_mults) < 2 or min(self.channel_mults) < 1:
            raise ValueError(f"channel_mults needs ≥ 2 positive entries, got {channel_mults}")
        self.num_res_blocks = check_int(num_res_blocks, "num_res_blocks")
        self.num_classes = num_classes
        self.image_size = check_int(image_size, "image_size")
        self.emb_dim, self.groups = emb_dim, groups
        levels = len(self.channel_mults) - 1
        if self.image_size % (2 ** levels):
            raise ValueError(f"image_size {image_size} is not divisible by 2^{levels}")
        reached = [self.image_size // 2 ** k for k in range(levels + 1)]
        if attention_resolutions is None:
            attention_resolutions = [r for r in reached[-1:] if r <= MAX_ATTENTION]
        self.attention_resolutions = tuple(int(r) for r in attention_resolutions)
        unused = [r for r in self.attention_resolutions if r not in reached]
        if unused:
            raise ValueError(f"attention_resolutions {unused} are not feature-map sizes of this "
                             f"UNet (image_size {self.image_size}: {reached}), so no attention "
                             "would be applied there; choose among those, or () for none")
        chs = [self.base_channels * m for m in self.channel_mults]
        tdim = 4 * self.base_channels
        nn = layers(tier)
        kw = dict(rng=rng, dtype=dtype)
        self.temb = TimeEmbedding(emb_dim, tdim, num_classes, **kw, tier=tier)
        self.temb_act = nn.SiLU()
        self.conv_in = nn.Conv2d(in_channels, chs[0], 3, padding=1, **kw)
        # down path: per level, ResBlocks (+ attention), then a stride-2 conv
        self.down_blocks, self.down_attn, self.downsamples = [], [], []
        cur, res = chs[0], self.image_size
        for i in range(levels):
            blocks = [nn.ResBlock(cur if j == 0 else chs[i], chs[i], tdim, groups, **kw)
                      for j in range(self.num_res_blocks)]
            self.down_blocks.append(blocks)
            self.down_attn.append(self._attn(nn, chs[i], res, **kw))
            self.downsamples.append(nn.Conv2d(chs[i], chs[i], 3, stride=2, padding=1, **kw))
            cur, res = chs[i], res // 2
        # middle
        self.mid1 = nn.ResBlock(cur, chs[-1], tdim, groups, **kw)
        self.mid_attn = self._attn(nn, chs[-1], res, **kw)
        self.mid2 = nn.ResBlock(chs[-1], chs[-1], tdim, groups, **kw)
        cur = chs[-1]
        # up path: per level (reversed), upsample, concat the level's skip, ResBlocks
        self.upsamples, self.up_blocks, self.up_attn = [], [], []
        for i in reversed(range(levels)):
            res *= 2
            self.upsamples.append(nn.UpsampleConv2d(cur, cur, **kw))
            blocks = [nn.ResBlock(cur + chs[i] if j == 0 else chs[i], chs[i], tdim, groups, **kw)
                      for j in range(self.num_res_blocks)]
            self.up_blocks.append(blocks)
            self.up_attn.append(self._attn(nn, chs[i], res, **kw))
            cur = chs[i]
        self.norm_out = nn.GroupNormSiLU(min(groups, cur), cur, dtype=dtype)
        out_channels = in_channels * (2 if self.learn_sigma else 1)
        self.conv_out = nn.Conv2d(cur, out_channels, 3, padding=1, zero_init=True, **kw)

    def _attn(self, nn, c, res, **kw):
        if res in self.attention_resolutions:
            return nn.SelfAttention2d(c, num_groups=min(self.groups, c), **kw)
        return None

    def config(self) -> dict:
        return dict(in_channels=self.in_channels, base_channels=self.base_channels,
                    channel_mults=list(self.channel_mults), num_res_blocks=self.num_res_blocks,
                    attention_resolutions=list(self.attention_resolutions),
                    num_classes=self.num_classes, image_size=self.image_size,
                    emb_dim=self.emb_dim, groups=self.groups, learn_sigma=self.learn_sigma)

    def forward(self, xt, t, y=None):
        check_dtype(xt, self.conv_in.W.dtype, "UNet")
        s = self.image_size
        if xt.ndim != 4 or xt.shape[1:] != (self.in_channels, s, s):
            raise ValueError(f"UNet expects x_t of shape (N, {self.in_channels}, {s}, {s}), "
                             f"got {xt.shape}")
        if len(xt) == 0:
            raise ValueError("UNet: x_t holds no images (N = 0); pass at least one")
        check_model_t(t, len(xt))
        temb_act = self.temb_act(self.temb(t, y))
        h = self.conv_in(xt)
        skips = []
        for blocks, attn, down in zip(self.down_blocks, self.down_attn, self.downsamples):
            for block in blocks:
                h = block(h, temb_act)
            if attn is not None:
                h = attn(h)
            skips.append(h)
            h = down(h)
        h = self.mid1(h, temb_act)
        if self.mid_attn is not None:
            h = self.mid_attn(h)
        h = self.mid2(h, temb_act)
        split_at = []
        for up, blocks, attn in zip(self.upsamples, self.up_blocks, self.up_attn):
            h = up(h)
            split_at.append(h.shape[1])
            h = concat_channels(h, skips.pop())
            for block in blocks:
                h = block(h, temb_act)
            if attn is not None:
                h = attn(h)
        self._cache = split_at
        return self.conv_out(self.norm_out(h))                 # ε_θ (and v: learn_sigma)

    def backward(self, d_eps):
        split_at = self._need_cache()
        dh = self.norm_out.backward(self.conv_out.backward(d_eps))
        dtemb_act = np.zeros((d_eps.shape[0], self.temb.lin2.out_features), d_eps.dtype)
        dskips = []
        for up, blocks, attn, c in zip(reversed(self.upsamples), reversed(self.up_blocks),
                                       reversed(self.up_attn), reversed(split_at)):
            if attn is not None:
                dh = attn.backward(dh)
            for block in reversed(blocks):
                dh, dta = block.backward(dh)
                dtemb_act += dta
            dh, dskip = split_channels(dh, c)
            dskips.append(dskip)
            dh = up.backward(dh)
        dh, dta = self.mid2.backward(dh)
        dtemb_act += dta
        if self.mid_attn is not None:
            dh = self.mid_attn.backward(dh)
        dh, dta = self.mid1.backward(dh)
        dtemb_act += dta
        # dskips were collected from the top level (28×28) down; the down path is walked upward
        for blocks, attn, down, dskip in zip(reversed(self.down_blocks), reversed(self.down_attn),
                                             reversed(self.downsamples), reversed(dskips)):
            dh = down.backward(dh) + dskip
            if attn is not None:
                dh = attn.backward(dh)
            for block in reversed(blocks):
                dh, dta = block.backward(dh)
                dtemb_act += dta
        dx = self.conv_in.backward(dh)
        self.temb.backward(self.temb_act.backward(dtemb_act))
        return dx
