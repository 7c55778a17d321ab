"""Memory order and reusable buffers: what the fast kernels share.

Every array a model sees has the shape (N, C, H, W). The fast kernels compute channels last,
because then an image's pixels are rows of C contiguous numbers, the im2col gather is a fast
copy and a GEMM writes its output in place. So they return (N, C, H, W) arrays whose memory is
(N, H, W, C) — NumPy views with channels-last strides (PyTorch calls this the channels-last
memory format) — and read such arrays without a copy. Shapes and numbers are those of the
reference tier; only the strides differ, and NumPy's element-wise operations and concatenation
keep them, so the model code in between never needs to know.
"""
import numpy as np


def nhwc(x):
    """The (N, H, W, C) view of an (N, C, H, W) array (no copy)."""
    return x.transpose(0, 2, 3, 1)


def nchw(x):
    """The (N, C, H, W) view of an (N, H, W, C) array (no copy)."""
    return x.transpose(0, 3, 1, 2)


def is_channels_last(x) -> bool:
    """True for a 4-D (N, C, H, W) array whose memory is (N, H, W, C), contiguous."""
    return x.ndim == 4 and nhwc(x).flags.c_contiguous


def as_rows(x, channels_last):
    """x as (N, size/N) rows in the given memory order: a view when x is already in that order
    (channels last: only for 4-D x), else a copy into it."""
    m = np.ascontiguousarray(nhwc(x) if channels_last else x)
    n = x.shape[0] if x.ndim else 1
    return m.reshape(n, m.size // n if n else 0)


def from_rows(rows, shape, channels_last):
    """The inverse of as_rows: an array of `shape` (N, C, ...) viewing `rows`."""
    if channels_last:
        N, C, H, W = shape
        return nchw(rows.reshape(N, H, W, C))
    return rows.reshape(shape)


def channel_sums(x):
    """Σ over the pixels of each sample and channel: (N, C, ...) -> (N, C), as the reference
    `ddpm_np.nn.channel_sums`. Channels last it is a product with a row of ones (a batched GEMV):
    NumPy's sum over the pixel axes would loop over runs of C numbers."""
    if is_channels_last(x):
        n, c = x.shape[:2]
        xr = nhwc(x).reshape(n, -1, c)                                      # (n, L, C)
        return np.matmul(np.ones((1, xr.shape[1]), x.dtype), xr)[:, 0]
    return x.sum(axis=tuple(range(2, x.ndim)))


def buffer(workspace, name, shape, dtype, zeros=False):
    """An array from `workspace` (a dict), reused while shape and dtype match.

    Fresh multi-megabyte arrays cost a page fault per 4 KiB page on every call; a buffer reused
    by the layer has its pages mapped already. Without a workspace a new array is returned. With `zeros`
    a new buffer starts zero-filled: the padded buffers are, and then only their interior is ever
    written, so their zero border costs nothing per call (the name must then say which interior,
    e.g. ("xp", padding), so that two users of one workspace never share such a buffer).
    """
    if workspace is None:
        return np.zeros(shape, dtype) if zeros else np.empty(shape, dtype)
    buf = workspace.get(name)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = workspace[name] = np.zeros(shape, dtype) if zeros else np.empty(shape, dtype)
    return buf
