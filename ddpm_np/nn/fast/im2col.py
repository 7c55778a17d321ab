"""What the convolution routes share: the windows of a padded channels-last array (im2col),
the copy into a zero-bordered buffer, and the per-chunk end of every route (bias and `add`)."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .layout import nhwc


def patches(xp, kh, kw, stride, Ho, Wo):
    """The windows of a padded NHWC array as a view, (n, Hp, Wp, C) -> (n, Ho, Wo, kh, kw, C).
    Made once per layer call and sliced per chunk: making the view costs ~10 µs of Python,
    during which the other threads wait for the interpreter."""
    win = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::stride, ::stride][:, :Ho, :Wo]
    return win.transpose(0, 1, 2, 4, 5, 3)


def gather(win, out):
    """im2col of a chunk: its windows (n, Ho, Wo, kh, kw, C) copied into the patch rows
    `out` (n·Ho·Wo, kh·kw·C) by one copy."""
    np.copyto(out.reshape(win.shape), win)
    return out


def im2col_nhwc(xp, kh, kw, stride, Ho, Wo, out):
    """Patch rows of a padded NHWC array: (n, Hp, Wp, C) -> (n·Ho·Wo, kh·kw·C), into `out`."""
    return gather(patches(xp, kh, kw, stride, Ho, Wo), out)


def pad_into(x_nhwc, top, left, out):
    """Copy an NHWC array (or NHWC view) into the interior of `out`, a padded buffer whose zero
    border stays zero (see layout.buffer)."""
    _, H, W, _ = x_nhwc.shape
    out[:, top:top + H, left:left + W] = x_nhwc
    return out


def epilogue(b, add, channels_last=True):
    """The per-chunk end of every route: out[n0:n1] += b, and += add (an array broadcastable
    to the output, e.g. a residual or a per-sample shift), while the chunk is in cache."""
    if not channels_last:
        b = b[:, None, None]                            # out (n, O, H, W)
    if add is None:
        def finish(out, n0, n1):
            out += b
        return finish
    a = nhwc(add) if channels_last else add
    per_sample = a.shape[0] != 1

    def finish(out, n0, n1):
        out += b
        out += a[n0:n1] if per_sample else a

    return finish
