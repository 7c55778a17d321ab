"""`ddpm_np.nn.PeriodicConv2d` on the fast convolution (fast/conv.py): the same wrap-around
padding and fold, the convolution chunked over the batch on every core with reusable buffers."""
from .. import periodic
from .conv import conv2d_backward, conv2d_forward
from .modules import OneBlasThread, _Workspace


class PeriodicConv2d(OneBlasThread, _Workspace, periodic.PeriodicConv2d):
    def _functional_forward(self, x, b):
        buffers = self._buffers()
        return periodic.periodic_conv2d_forward(
            x, self.W.data, b, lambda *a: conv2d_forward(*a, workspace=buffers))

    def _functional_backward(self, dout, cache):
        return periodic.periodic_conv2d_backward(dout, cache, conv2d_backward)
