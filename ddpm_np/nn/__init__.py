"""The autograd-free neural-network stack, reference tier: functional forward/backward pairs and
Modules, written to be read.

Every layer has a pure functional pair (`*_forward(x, ...) -> (out, cache)`,
`*_backward(dout, cache) -> gradients`) and a Module wrapper whose `backward` adds into its
parameters' `grad` and returns the input gradient. `ddpm_np.nn.fast` holds the same layers
computed faster; `tiers.layers(tier)` gives a model one or the other.
"""
from .module import Module, Parameter, Sequential, check_dtype
from .init import kaiming_uniform
from .linear import Linear, linear_forward, linear_backward
from .conv import (Conv2d, conv2d_forward, conv2d_backward, conv_output_size, conv2d_naive,
                   conv2d_naive_backward, im2col, col2im)
from .norm import (GroupNorm, GroupNormSiLU, groupnorm_forward, groupnorm_backward,
                   groupnorm_silu_forward, groupnorm_silu_backward)
from .activations import (SiLU, ReLU, GELU, Tanh, sigmoid, tanh_forward, tanh_backward,
                          silu_forward, silu_backward, relu_forward,
                          relu_backward, gelu_forward, gelu_backward)
from .resample import (Upsample2x, AvgPool2x, UpsampleConv2d, upsample2x_forward,
                       upsample2x_backward, avgpool2x_forward, avgpool2x_backward,
                       upconv2d_forward, upconv2d_backward)
from .attention import (SelfAttention2d, attend_backward, attend_forward, softmax_forward,
                        softmax_backward)
from .blocks import ResBlock
from .periodic import (PeriodicConv2d, circular_fold, circular_pad, periodic_conv2d_backward,
                       periodic_conv2d_forward)
from .shape import channel_sums, concat_channels, split_channels
from .embedding import sinusoidal_embedding
from .loss import mse_loss, softmax_cross_entropy
from .tiers import TIERS, default_tier, layers
from . import optim, gradcheck

__all__ = [
    "Module", "Parameter", "Sequential", "check_dtype", "kaiming_uniform",
    "Linear", "Conv2d", "PeriodicConv2d", "GroupNorm", "GroupNormSiLU", "SiLU", "ReLU", "GELU",
    "Tanh", "Upsample2x", "AvgPool2x",
    "UpsampleConv2d", "SelfAttention2d", "ResBlock", "channel_sums", "concat_channels",
    "split_channels",
    "sinusoidal_embedding", "mse_loss", "softmax_cross_entropy",
    "linear_forward", "linear_backward", "conv2d_forward", "conv2d_backward", "conv_output_size",
    "conv2d_naive", "conv2d_naive_backward", "im2col", "col2im", "circular_pad", "circular_fold",
    "periodic_conv2d_forward", "periodic_conv2d_backward", "tanh_forward", "tanh_backward",
    "groupnorm_forward", "groupnorm_backward", "groupnorm_silu_forward",
    "groupnorm_silu_backward", "sigmoid", "silu_forward", "silu_backward",
    "relu_forward", "relu_backward", "gelu_forward", "gelu_backward", "upsample2x_forward",
    "upsample2x_backward", "avgpool2x_forward", "avgpool2x_backward", "upconv2d_forward",
    "upconv2d_backward", "softmax_forward", "softmax_backward", "attend_forward", "attend_backward",
    "TIERS", "default_tier", "layers", "optim", "gradcheck",
]
