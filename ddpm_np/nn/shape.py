"""Channel concatenation and its inverse, for UNet skip connections."""
import numpy as np


def concat_channels(a, b):
    """(N, Ca, ...) and (N, Cb, ...) -> (N, Ca+Cb, ...). Backward: `split_channels(dout, Ca)`."""
    if a.shape[0] != b.shape[0] or a.shape[2:] != b.shape[2:]:
        raise ValueError(f"concat_channels: shapes {a.shape} and {b.shape} differ outside axis 1")
    if a.dtype != b.dtype:
        raise TypeError(f"concat_channels: dtypes {a.dtype} and {b.dtype} differ")
    return np.concatenate([a, b], axis=1)


def split_channels(x, ca):
    """(N, Ca+Cb, ...) -> ((N, Ca, ...), (N, Cb, ...)): the gradient routing of concat_channels."""
    if not 0 < ca < x.shape[1]:
        raise ValueError(f"split_channels: cannot split {x.shape[1]} channels at {ca}")
    return x[:, :ca], x[:, ca:]
