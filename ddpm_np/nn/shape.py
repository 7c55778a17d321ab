"""Channel concatenation and its inverse, for UNet skip connections."""
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
