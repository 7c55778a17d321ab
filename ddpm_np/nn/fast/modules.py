"""The fast tier's layers: twins of the reference layers, with the same parameters (so weights
move freely between tiers), the same numbers within float rounding (tested), and the fast kernels
underneath. Each subclasses its reference layer for the constructor and the parameters only, and
writes `forward` and `backward` whole: input check, fast kernel, gradients. Every call starts
with `begin()`."""
import numpy as np

from .. import activations, attention, conv, linear, norm, resample
from ..module import check_dtype
from .activations import silu_backward, silu_forward
from .conv import conv2d_backward, conv2d_forward
from .linear import (attend_backward_chunks, attend_forward_chunks, linear_backward,
                     linear_forward)
from .memory import once as keep_memory
from .norm import groupnorm_backward, groupnorm_forward
from .norm_silu import groupnorm_silu_backward, groupnorm_silu_forward
from .threads import hold_blas
from .upconv import upconv2d_backward, upconv2d_forward


def begin():
    """What a fast layer does before its work: hold the BLAS to one thread for the process
    (threads.hold_blas: every large product of the fast tier runs in chunks on its own threads,
    and a BLAS thread pool spinning beside them takes the cores they need), and keep freed
    memory for reuse (memory.once)."""
    hold_blas()
    keep_memory()


def as_twin(layer, cls):
    """`layer` (a reference layer) as the fast class `cls`, holding the same Parameters: how a
    fast block takes the layers its reference constructor built."""
    twin = cls.__new__(cls)
    twin.__dict__.update(vars(layer))
    return twin


class Workspace:
    """A layer that keeps reusable buffers between calls (see layout.buffer)."""

    def workspace(self) -> dict:
        return self.__dict__.setdefault("_workspace", {})

    def free_workspace(self):
        """Release the buffers (and the cache that points into them)."""
        self.workspace().clear()
        self._cache = None


class Conv2d(Workspace, conv.Conv2d):
    """`ddpm_np.nn.Conv2d`, chunked over the batch on every core (fast/conv.py).

    `layer(x, add=a)` returns conv(x) + b + a, `a` broadcastable to the output (a residual, a
    per-channel shift (N, O, 1, 1)), added to each chunk in the epilogue while it is in cache;
    the gradient of `a` is dout itself (summed where it was broadcast), which the caller routes.
    """

    def forward(self, x, add=None):
        begin()
        check_dtype(x, self.W.dtype, "Conv2d")
        if add is not None:
            check_dtype(add, self.W.dtype, "Conv2d")
        out, self._cache = conv2d_forward(x, self.W.data, self.b.data, self.stride,
                                          self.padding, self.workspace(), add)
        return out

    def backward(self, dout):
        begin()
        dx, dW, db = conv2d_backward(dout, self._need_cache())
        self.W.grad += dW
        self.b.grad += db
        return dx


class UpsampleConv2d(Workspace, resample.UpsampleConv2d):
    """`ddpm_np.nn.UpsampleConv2d` at low resolution: four 2×2 phase convolutions in one GEMM
    (fast/upconv.py), about half the multiply-adds."""

    def forward(self, x):
        begin()
        check_dtype(x, self.W.dtype, "UpsampleConv2d")
        out, self._cache = upconv2d_forward(x, self.W.data, self.b.data, self.workspace())
        return out

    def backward(self, dout):
        begin()
        dx, dW, db = upconv2d_backward(dout, self._need_cache())
        self.W.grad += dW
        self.b.grad += db
        return dx


class GroupNorm(norm.GroupNorm):
    """`ddpm_np.nn.GroupNorm` in two fused passes, per slice of the batch (fast/norm.py)."""

    def forward(self, x):
        begin()
        self.check_input(x)
        out, self._cache = groupnorm_forward(x, self.scale.data, self.shift.data,
                                             self.num_groups, self.norm_eps)
        return out

    def backward(self, dout):
        begin()
        dx, dscale, dshift = groupnorm_backward(dout, self._need_cache())
        self.scale.grad += dscale
        self.shift.grad += dshift
        return dx


class GroupNormSiLU(norm.GroupNormSiLU):
    """`ddpm_np.nn.GroupNormSiLU` in one pass over the data each way, per block of samples in
    cache, on every core (fast/norm_silu.py); in eval mode it keeps nothing for a backward."""

    def forward(self, x):
        begin()
        self.check_input(x)
        out, self._cache = groupnorm_silu_forward(x, self.scale.data, self.shift.data,
                                                  self.num_groups, self.norm_eps,
                                                  keep=self.training)
        return out

    def backward(self, dout):
        begin()
        dx, dscale, dshift = groupnorm_silu_backward(dout, self._need_cache())
        self.scale.grad += dscale
        self.shift.grad += dshift
        return dx


class SiLU(activations.SiLU):
    """`ddpm_np.nn.SiLU` in place, per slice of the batch (fast/activations.py)."""

    def forward(self, x):
        out, self._cache = silu_forward(x)
        return out

    def backward(self, dout):
        return silu_backward(dout, self._need_cache())


class Linear(linear.Linear):
    """`ddpm_np.nn.Linear` in row chunks on every core when there are many rows (fast/linear.py)."""

    def forward(self, x):
        begin()
        self.check_input(x)
        out, self._cache = linear_forward(x, self.W.data, self.b.data)
        return out

    def backward(self, dout):
        begin()
        dx, dW, db = linear_backward(dout, self._need_cache())
        self.W.grad += dW
        self.b.grad += db
        return dx


class SelfAttention2d(attention.SelfAttention2d):
    """`ddpm_np.nn.SelfAttention2d` with the fast GroupNorm and Linear, and the per-sample
    products on chunks of the batch (fast/linear.py); on channels-last input its token view
    needs no copy."""

    def __init__(self, channels, num_groups=8, *, rng, dtype=np.float32, zero_init=False):
        super().__init__(channels, num_groups, rng=rng, dtype=dtype, zero_init=zero_init)
        self.norm = as_twin(self.norm, GroupNorm)
        self.qkv, self.proj = as_twin(self.qkv, Linear), as_twin(self.proj, Linear)

    def forward(self, x):
        begin()
        self.check_input(x)
        q, k, v = self.project_in(x)
        scale = 1.0 / float(np.sqrt(self.channels))
        o, A = attend_forward_chunks(q, k, v, scale)
        self._cache = (q, k, v, A, scale, x.shape)
        return x + self.project_out(o, x.shape)

    def backward(self, dout):
        begin()
        q, k, v, A, scale, x_shape = self.cache_for(dout)
        do = self.project_out_backward(dout)
        dq, dk, dv = attend_backward_chunks(do, q, k, v, A, scale)
        return dout + self.project_in_backward(dq, dk, dv, x_shape)
