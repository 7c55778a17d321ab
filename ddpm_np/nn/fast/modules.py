"""The fast tier's layers: twins of the reference layers, with the same parameters (so weights
move freely between tiers), the same numbers within float rounding (tested), and the fast kernels
underneath. Each overrides the functional pair its reference layer calls, and runs with the BLAS
on one thread (`OneBlasThread`)."""
import numpy as np

from ...checks import check_int
from .. import activations, attention, conv, linear, norm, resample
from ..module import check_dtype
from .activations import silu_backward, silu_forward
from .conv import check_addend, conv2d_backward, conv2d_forward
from .linear import (attend_backward_chunks, attend_forward_chunks, linear_backward,
                     linear_forward)
from .memory import once as keep_memory
from .norm import groupnorm_backward, groupnorm_forward
from .norm_silu import groupnorm_silu_backward, groupnorm_silu_forward
from .threads import hold_blas
from .upconv import upconv2d_backward, upconv2d_forward


class OneBlasThread:
    """A fast layer runs with the BLAS on one thread, held once for the process
    (threads.hold_blas: every large product of the fast tier runs in chunks on its own threads,
    and a BLAS thread pool spinning beside them takes the cores they need), and with freed
    memory kept for reuse (memory.once). Subclasses put their work in `_forward`/`_backward`
    (default: the reference layer's)."""

    def forward(self, *args, **kwargs):
        hold_blas()
        keep_memory()
        return self._forward(*args, **kwargs)

    def backward(self, dout):
        hold_blas()
        return self._backward(dout)

    def _forward(self, *args, **kwargs):
        return super().forward(*args, **kwargs)

    def _backward(self, dout):
        return super().backward(dout)


class _Workspace:
    """A layer that keeps reusable buffers between calls (see layout.buffer)."""

    def free_workspace(self):
        """Release the buffers (and the cache that points into them)."""
        self.__dict__.setdefault("_workspace", {}).clear()
        self._cache = None

    def _buffers(self):
        return self.__dict__.setdefault("_workspace", {})


class Conv2d(OneBlasThread, _Workspace, conv.Conv2d):
    """`ddpm_np.nn.Conv2d`, chunked over the batch on every core (fast/conv.py).

    `layer(x, add=a)` returns conv(x) + b + a, `a` broadcastable to the output (a residual, a
    per-channel shift (N, O, 1, 1)), added to each chunk in the epilogue while it is in cache;
    the gradient of `a` is dout itself (summed where it was broadcast), which the caller routes.
    """

    def _forward(self, x, add=None):
        if add is None:
            return super()._forward(x)
        check_dtype(x, self.W.dtype, "Conv2d")
        check_dtype(add, self.W.dtype, "Conv2d")
        out, self._cache = conv2d_forward(x, self.W.data, self.b.data, self.stride,
                                          self.padding, self._buffers(), add)
        return out

    def _functional_forward(self, x):
        return conv2d_forward(x, self.W.data, self.b.data, self.stride, self.padding,
                              self._buffers())

    _functional_backward = staticmethod(conv2d_backward)


class UpsampleConv2d(OneBlasThread, _Workspace, resample.UpsampleConv2d):
    """`ddpm_np.nn.UpsampleConv2d` at low resolution: four 2×2 phase convolutions in one GEMM
    (fast/upconv.py), about half the multiply-adds."""

    def _functional_forward(self, x):
        return upconv2d_forward(x, self.W.data, self.b.data, self._buffers())

    _functional_backward = staticmethod(upconv2d_backward)


class GroupNorm(OneBlasThread, norm.GroupNorm):
    """`ddpm_np.nn.GroupNorm` in two fused passes, per slice of the batch (fast/norm.py)."""

    def _functional_forward(self, x):
        return groupnorm_forward(x, self.scale.data, self.shift.data, self.num_groups,
                                 self.norm_eps)

    _functional_backward = staticmethod(groupnorm_backward)


class GroupNormSiLU(OneBlasThread, norm.GroupNormSiLU):
    """`ddpm_np.nn.GroupNormSiLU` in one pass over the data each way, per block of samples in
    cache, on every core (fast/norm_silu.py)."""

    def _functional_forward(self, x):
        return groupnorm_silu_forward(x, self.scale.data, self.shift.data, self.num_groups,
                                      self.norm_eps, keep=self.training)

    _functional_backward = staticmethod(groupnorm_silu_backward)


class SiLU(activations.SiLU):
    """`ddpm_np.nn.SiLU` in place, per slice of the batch (fast/activations.py)."""
    _fwd, _bwd = staticmethod(silu_forward), staticmethod(silu_backward)


class Linear(OneBlasThread, linear.Linear):
    """`ddpm_np.nn.Linear` in row chunks on every core when there are many rows (fast/linear.py)."""

    _functional_forward = staticmethod(linear_forward)
    _functional_backward = staticmethod(linear_backward)


class SelfAttention2d(OneBlasThread, attention.SelfAttention2d):
    """`ddpm_np.nn.SelfAttention2d` with the fast GroupNorm and Linear, and the per-sample
    products on chunks of the batch (fast/linear.py); on channels-last input its token view
    needs no copy."""

    def __init__(self, channels, num_groups=8, *, rng, dtype=np.float32, zero_init=False):
        self.channels = check_int(channels, "channels")
        self.norm = GroupNorm(num_groups, channels, dtype=dtype)
        self.qkv = Linear(channels, 3 * channels, rng=rng, dtype=dtype)
        self.proj = Linear(channels, channels, rng=rng, dtype=dtype, zero_init=zero_init)

    _attend = staticmethod(attend_forward_chunks)
    _attend_backward = staticmethod(attend_backward_chunks)
