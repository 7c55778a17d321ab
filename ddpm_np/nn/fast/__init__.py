"""The fast tier: the layers of `ddpm_np.nn` under the same names, computed faster.

Everything that exists for speed lives here and nowhere else: chunks of the batch on every core
(threads.py), channels-last memory (layout.py), reusable workspaces, the input gradient of a
convolution by phases (conv_phases.py), the up-sampling convolution at low resolution
(upconv.py), fused GroupNorm and SiLU passes, the ResBlock's adds in the convolutions'
epilogues (blocks.py), the BLAS on one thread once a fast layer has run (threads.hold_blas),
and the allocator setting (memory.py). Every function here is tested against its reference
twin, forward and backward.

A model built from `ddpm_np.nn.tiers.layers("fast")` gets this namespace: every name of
`ddpm_np.nn`, with the fast layers in place of their reference twins.
"""
from .. import *  # noqa: F401,F403  (the reference names this tier does not replace)
from .. import __all__ as _reference_names
from .. import gradcheck, optim  # noqa: F401
from .activations import silu_backward, silu_forward
from .conv import conv2d_backward, conv2d_forward
from .linear import (attend_backward_chunks as attend_backward,
                     attend_forward_chunks as attend_forward, linear_backward, linear_forward)
from .blocks import ResBlock
from .modules import (Conv2d, GroupNorm, GroupNormSiLU, Linear, SelfAttention2d, SiLU,
                      UpsampleConv2d)
from .layout import channel_sums
from .periodic import PeriodicConv2d
from .memory import keep_freed_memory
from .norm import groupnorm_backward, groupnorm_forward
from .norm_silu import groupnorm_silu_backward, groupnorm_silu_forward
from .threads import hold_blas, num_threads, release_blas
from .upconv import upconv2d_backward, upconv2d_forward

__all__ = sorted(set(_reference_names) | {"hold_blas", "keep_freed_memory", "num_threads",
                                           "release_blas"})
