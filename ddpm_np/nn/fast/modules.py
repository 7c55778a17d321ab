"""The fast tier's layers: twins of the reference layers, with the same parameters (so weights
move freely between tiers), the same numbers within float rounding (tested), and the fast kernels
underneath. Each overrides only the functional pair its reference layer calls."""
from .. import attention, conv, linear, norm, resample
from ..activations import SiLU as _SiLU
from .activations import silu_backward, silu_forward
from .conv import conv2d_backward, conv2d_forward, route
from .linear import (attend_backward_chunks, attend_forward_chunks, linear_backward,
                     linear_forward)
from .norm import groupnorm_backward, groupnorm_forward
from .norm_silu import groupnorm_silu_backward, groupnorm_silu_forward
from .upconv import upconv2d_backward, upconv2d_forward
from .winograd import tiles


class _Workspace:
    """A layer that keeps reusable buffers between calls (see layout.buffer)."""

    def free_workspace(self):
        """Release the buffers (and the cache that points into them)."""
        self.__dict__.setdefault("_workspace", {}).clear()
        self._cache = None

    def _buffers(self):
        return self.__dict__.setdefault("_workspace", {})


class Conv2d(_Workspace, conv.Conv2d):
    """`ddpm_np.nn.Conv2d`, chunked over the batch on every core (fast/conv.py)."""

    def _functional_forward(self, x, add=None):
        return conv2d_forward(x, self.W.data, self.b.data, self.stride, self.padding,
                              self._buffers(), add)

    _functional_backward = staticmethod(conv2d_backward)

    def flops(self, x_shape) -> int:
        """2 × the multiply-adds performed for input (N, C, H, W): on Winograd's route, α² per
        m×m tile and channel pair (the transforms not counted), else the reference figure."""
        N, C, H, Wd = x_shape
        O, _, kh, kw = self.W.shape
        name, m = route(kh, kw, self.stride, self.padding, C, O, H, Wd)
        if name != "winograd":
            return super().flops(x_shape)
        th, tw = tiles(H, Wd, m)
        return 2 * N * th * tw * (m + 2) ** 2 * C * O


class UpsampleConv2d(_Workspace, resample.UpsampleConv2d):
    """`ddpm_np.nn.UpsampleConv2d` at low resolution: four 2×2 phase convolutions in one GEMM
    (fast/upconv.py), about half the multiply-adds."""

    def _functional_forward(self, x):
        return upconv2d_forward(x, self.W.data, self.b.data, self._buffers())

    _functional_backward = staticmethod(upconv2d_backward)

    def flops(self, x_shape) -> int:
        """2 × the multiply-adds performed for input (N, C, H, W): the GEMM
        (N·(H+1)·(W+1), 4C)·(4C, 4O). The reference layer's `flops` counts the literal route."""
        N, C, H, Wd = x_shape
        return 2 * N * (H + 1) * (Wd + 1) * 4 * C * 4 * self.W.shape[0]


class GroupNorm(norm.GroupNorm):
    """`ddpm_np.nn.GroupNorm` in two fused passes, per slice of the batch (fast/norm.py)."""

    def _functional_forward(self, x):
        return groupnorm_forward(x, self.scale.data, self.shift.data, self.num_groups,
                                 self.norm_eps)

    _functional_backward = staticmethod(groupnorm_backward)


class GroupNormSiLU(norm.GroupNormSiLU):
    """`ddpm_np.nn.GroupNormSiLU` in one pass over the data each way, per block of samples in
    cache, on every core (fast/norm_silu.py)."""

    def _functional_forward(self, x):
        return groupnorm_silu_forward(x, self.scale.data, self.shift.data, self.num_groups,
                                      self.norm_eps, keep=self.training)

    _functional_backward = staticmethod(groupnorm_silu_backward)


class SiLU(_SiLU):
    """`ddpm_np.nn.SiLU` in place, per slice of the batch (fast/activations.py)."""
    _fwd, _bwd = staticmethod(silu_forward), staticmethod(silu_backward)


class Linear(linear.Linear):
    """`ddpm_np.nn.Linear` in row chunks on every core when there are many rows (fast/linear.py)."""

    _functional_forward = staticmethod(linear_forward)
    _functional_backward = staticmethod(linear_backward)


class SelfAttention2d(attention.SelfAttention2d):
    """`ddpm_np.nn.SelfAttention2d` with the fast GroupNorm and Linear, and the per-sample
    products on chunks of the batch (fast/linear.py); on channels-last input its token view
    needs no copy."""
    norm_layer, linear_layer = GroupNorm, Linear
    _attend = staticmethod(attend_forward_chunks)
    _attend_backward = staticmethod(attend_backward_chunks)
