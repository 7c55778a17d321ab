"""`ddpm_np.nn.PeriodicConv2d` on the fast convolution (fast/conv.py): the reference tier's
wrap-around padding and fold, with the convolution between them chunked over the batch on every
core, in reusable buffers."""
from .. import periodic
from ..periodic import circular_fold, circular_pad
from .conv import conv2d_backward, conv2d_forward
from .modules import Workspace, begin


def periodic_conv2d_forward(x, W, b, workspace=None):
    """`nn.periodic_conv2d_forward` on the fast convolution. Cache: (its cache, p)."""
    p = W.shape[-1] // 2
    y, cache = conv2d_forward(circular_pad(x, p), W, b, 1, 0, workspace)
    return y, (cache, p)


def periodic_conv2d_backward(dout, cache):
    conv_cache, p = cache
    dxp, dW, db = conv2d_backward(dout, conv_cache)
    return circular_fold(dxp, p), dW, db


class PeriodicConv2d(Workspace, periodic.PeriodicConv2d):
    def forward(self, x):
        begin()
        out, self._cache = periodic_conv2d_forward(x, self.W.data, self.bias(x),
                                                   self.workspace())
        return out

    def backward(self, dout):
        begin()
        dx, dW, db = periodic_conv2d_backward(dout, self._need_cache())
        self.W.grad += dW
        if self.b is not None:
            self.b.grad += db
        return dx
