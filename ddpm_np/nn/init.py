"""Weight initialisation.

`kaiming_uniform` is the default of Linear and Conv2d (as in PyTorch's `nn.Linear`/`nn.Conv2d`):
W ~ U(−b, b) with b = 1/√fan_in (Kaiming-uniform with a=√5), biases ~ U(−1/√fan_in, 1/√fan_in).
`zero_init=True` gives zero weights and biases, the usual choice for the last layer of a residual
branch (the branch then starts as the identity and the network as a shallower one).
"""
import numpy as np



def kaiming_uniform(shape, fan_in: int, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """U(−1/√fan_in, 1/√fan_in) samples of the given shape and dtype."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}; "
                        "create one with np.random.default_rng(seed)")
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def init_weight_bias(w_shape, b_size: int, fan_in: int, rng, dtype, zero_init: bool = False):
    """Weight and bias arrays of a Linear/Conv2d: Kaiming-uniform, or zeros with `zero_init`."""
    if zero_init:
        return np.zeros(w_shape, dtype), np.zeros(b_size, dtype)
    return (kaiming_uniform(w_shape, fan_in, rng, dtype),
            kaiming_uniform((b_size,), fan_in, rng, dtype))
