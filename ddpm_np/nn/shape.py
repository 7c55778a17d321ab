"""Channel concatenation and its inverse, for UNet skip connections; per-channel sums."""
import numpy as np


def concat_channels(a, b):
    """(N, Ca, ...) and (N, Cb, ...) -> (N, Ca+Cb, ...). Backward: `split_channels(dout, Ca)`.

    The result keeps the inputs' memory order (NumPy's default), so it suits either tier."""
    if a.ndim != b.ndim or a.ndim < 2 or a.shape[:1] + a.shape[2:] != b.shape[:1] + b.shape[2:]:
        raise ValueError(f"concat_channels: shapes {a.shape} and {b.shape} differ outside axis 1")
    if a.dtype != b.dtype:
        raise TypeError(f"concat_channels: dtypes {a.dtype} and {b.dtype} differ")
    return np.concatenate([a, b], axis=1)


def split_channels(x, ca):
    """(N, Ca+Cb, ...) -> ((N, Ca, ...), (N, Cb, ...)): the gradient routing of concat_channels."""
    c = x.shape[1]
    if not 0 < ca < c:
        raise ValueError(f"split_channels: cannot split {c} channels at {ca}")
    return x[:, :ca], x[:, ca:]


def channel_sums(x):
    """Σ over the pixels of each sample and channel: (N, C, ...) -> (N, C). The gradient of a
    per-channel vector that was added at every pixel."""
    return x.sum(axis=tuple(range(2, x.ndim)))
