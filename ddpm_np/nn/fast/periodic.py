"""`ddpm_np.nn.PeriodicConv2d` on the fast convolution (fast/conv.py): the reference tier's
wrap-around padding and fold, with the convolution between them chunked over the batch on every
core, in reusable buffers."""
from .. import periodic
from ..periodic import circular_fold, circular_pad
from .conv import conv2d_backward, conv2d_forward
from .modules import OneBlasThread, _Workspace


def periodic_conv2d_forward(x, W, b, workspace=None):
    """`nn.periodic_conv2d_forward` on the fast convolution. Cache: (its cache, p)."""
    p = W.shape[-1] // 2
    y, cache = conv2d_forward(circular_pad(x, p), W, b, 1, 0, workspace)
    return y, (cache, p)


def periodic_conv2d_backward(dout, cache):
    conv_cache, p = cache
    dxp, dW, db = conv2d_backward(dout, conv_cache)
    return circular_fold(dxp, p), dW, db


class PeriodicConv2d(OneBlasThread, _Workspace, periodic.PeriodicConv2d):
    def _functional_forward(self, x, b):
        return periodic_conv2d_forward(x, self.W.data, b, self._buffers())

    _functional_backward = staticmethod(periodic_conv2d_backward)
