"""Test helpers: the same numbers in the other memory order."""
import numpy as np


def channels_last(x):
    """An (N, C, H, W) array with the same numbers whose memory is (N, H, W, C)."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def is_channels_last(x):
    return x.ndim == 4 and x.transpose(0, 2, 3, 1).flags.c_contiguous
