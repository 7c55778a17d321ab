"""Sinusoidal timestep embedding (Vaswani et al. 2017, as used by Ho et al. 2020)."""
import numpy as np

from ..checks import check_int


def sinusoidal_embedding(t, dim: int, max_period: float = 10000.0, dtype=np.float32):
    """Embed integer (or real) timesteps as [sin(t·ω_k), cos(t·ω_k)], ω_k = max_period^(−k/half).

    t: (N,) ints or floats ; dim: even, ≥ 2  ->  (N, dim) array of `dtype`.
    Math: emb[n, k] = sin(t_n·ω_k), emb[n, half+k] = cos(t_n·ω_k), k = 0..half−1.
    No gradient is needed: t is an input, not a parameter.
    """
    if check_int(dim, "sinusoidal_embedding: dim", low=2) % 2:
        raise ValueError(f"sinusoidal_embedding: dim must be an even integer ≥ 2, got {dim!r}")
    t = np.asarray(t, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError(f"sinusoidal_embedding: t must have shape (N,), got {t.shape}")
    half = dim // 2
    omega = np.exp(-np.log(max_period) * np.arange(half) / half)   # (half,)
    args = t[:, None] * omega[None, :]                              # (N, half)
    return np.concatenate([np.sin(args), np.cos(args)], axis=1).astype(dtype)
