"""Noise schedules β_1..β_T and the quantities derived from them.

INDEXING: t is 1-based, as in Ho et al. 2020: t ∈ {1, …, T}. Every array has length T+1 and
index 0 is a sentinel: betas[0] = 0, alphas[0] = 1, alpha_bars[0] = 1 (so ᾱ_{t−1} at t = 1 is 1,
and x_0 is "x at t = 0"). Most PyTorch code (diffusers included) is 0-based: their
`alphas_cumprod[i]` is our `alpha_bars[i + 1]`.

| paper | attribute      | definition                                   |
|-------|----------------|----------------------------------------------|
| β_t   | betas          | the schedule                                 |
| α_t   | alphas         | 1 − β_t                                      |
| ᾱ_t   | alpha_bars     | ∏_{s≤t} α_s                                   |
| β̃_t   | beta_tildes    | (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t  (eq. 7); β̃_1 = 0 |
"""
from __future__ import annotations

import warnings

import numpy as np

from ..checks import check_int

MAX_T = 100_000     # far above any schedule in use (the paper: 1000); its JSON is a few MB


class NoiseSchedule:
    """β_t for t = 1..T and its derived arrays (float64, length T+1, index 0 a sentinel).

    Build with `NoiseSchedule.linear(...)`, `.cosine(...)`, `.quadratic(...)`, or directly from
    β_1..β_T: `NoiseSchedule(betas_1_to_T)`. Warns when √ᾱ_T > `max_sqrt_alpha_bar_T`
    (default 0.1): then x_T is far from N(0, I) and sampling from N(0, I) mismatches training —
    the classic trap of a short linear schedule.
    """

    def __init__(self, betas, name: str = "custom", max_sqrt_alpha_bar_T: float = 0.1):
        b = np.asarray(betas, dtype=np.float64)
        if b.ndim != 1 or not 1 <= b.size <= MAX_T:
            raise ValueError(f"NoiseSchedule needs T betas (β_1..β_T), 1 ≤ T ≤ {MAX_T}, got "
                             f"shape {b.shape}")
        if not np.all((b > 0) & (b < 1)):
            bad = int(np.argmax(~((b > 0) & (b < 1)))) + 1
            raise ValueError(f"every β_t must lie in (0, 1); β_{bad} = {float(b[bad - 1])!r}")
        if np.any(np.diff(b) < -1e-12 * b[1:]):
            bad = int(np.argmax(np.diff(b) < -1e-12 * b[1:])) + 2
            raise ValueError(f"β_t must not decrease with t (noise is added ever faster), but "
                             f"β_{bad} = {float(b[bad - 1]):.4g} < β_{bad - 1} = "
                             f"{float(b[bad - 2]):.4g}; give β_1..β_T in increasing order")
        self.name = name
        self.T = int(b.size)
        self.betas = np.concatenate([[0.0], b])
        self.alphas = 1.0 - self.betas
        self.alpha_bars = np.cumprod(self.alphas)
        ab_prev = np.concatenate([[1.0], self.alpha_bars[:-1]])
        with np.errstate(invalid="ignore", divide="ignore"):
            bt = (1.0 - ab_prev) / (1.0 - self.alpha_bars) * self.betas
        bt[0] = 0.0  # sentinel (0/0)
        self.beta_tildes = bt
        sqrt_ab_T = float(np.sqrt(self.alpha_bars[-1]))
        if sqrt_ab_T > max_sqrt_alpha_bar_T:
            warnings.warn(
                f"{name} schedule with T={self.T}: √ᾱ_T = {sqrt_ab_T:.3g} > "
                f"{max_sqrt_alpha_bar_T}, so x_T still carries much of x_0 and is not close to "
                "N(0, I); sampling from N(0, I) will not match training. Use a larger T, a larger "
                "beta_T, or the cosine schedule.", UserWarning, stacklevel=3)

    # -- constructors -----------------------------------------------------------------------
    @classmethod
    def linear(cls, T: int = 1000, beta_1: float = 1e-4, beta_T: float = 0.02, **kw):
        """β_t linear from beta_1 to beta_T (Ho et al. 2020, §4: T=1000, 1e-4 → 0.02)."""
        T = _check_T(T)
        return cls(np.linspace(beta_1, beta_T, T) if T > 1 else [beta_1], "linear", **kw)

    @classmethod
    def quadratic(cls, T: int = 1000, beta_1: float = 1e-4, beta_T: float = 0.02, **kw):
        """√β_t linear from √beta_1 to √beta_T."""
        T = _check_T(T)
        return cls(np.linspace(np.sqrt(beta_1), np.sqrt(beta_T), T) ** 2, "quadratic", **kw)

    @classmethod
    def cosine(cls, T: int = 1000, s: float = 0.008, max_beta: float = 0.999, **kw):
        """Nichol & Dhariwal 2021, eq. 17: ᾱ_t = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s)·π/2),
        β_t = min(1 − ᾱ_t/ᾱ_{t−1}, max_beta)."""
        T = _check_T(T)
        if not 0 < max_beta < 1 or s < 0:
            raise ValueError(f"cosine schedule: need 0 < max_beta < 1 and s ≥ 0, "
                             f"got max_beta={max_beta}, s={s}")
        t = np.arange(T + 1, dtype=np.float64)
        f = np.cos((t / T + s) / (1 + s) * np.pi / 2) ** 2
        ab = f / f[0]
        return cls(np.minimum(1 - ab[1:] / ab[:-1], max_beta), "cosine", **kw)

    # -- derived ----------------------------------------------------------------------------
    def sigmas(self, kind: str = "beta_tilde") -> np.ndarray:
        """Reverse-process standard deviations σ_t (length T+1): √β_t ("beta") or √β̃_t
        ("beta_tilde"), the two choices of Ho et al. 2020, §3.2."""
        if kind == "beta":
            return np.sqrt(self.betas)
        if kind == "beta_tilde":
            return np.sqrt(self.beta_tildes)
        raise ValueError(f"unknown sigma choice {kind!r}; use 'beta_tilde' or 'beta'")

    def snr(self, t) -> np.ndarray:
        """Signal-to-noise ratio ᾱ_t/(1 − ᾱ_t)."""
        t = check_t(t, self.T)
        return self.alpha_bars[t] / (1 - self.alpha_bars[t])

    def __repr__(self):
        return (f"NoiseSchedule({self.name}, T={self.T}, β_1={self.betas[1]:.3g}, "
                f"β_T={self.betas[-1]:.3g}, ᾱ_T={self.alpha_bars[-1]:.3g})")

    def to_dict(self) -> dict:
        """Enough to rebuild the schedule exactly (for checkpoints)."""
        return {"name": self.name, "betas": self.betas[1:].tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "NoiseSchedule":
        """The inverse of to_dict; ValueError naming what is missing or malformed."""
        if not isinstance(d, dict) or "betas" not in d:
            raise ValueError(f"a schedule description needs its 'betas', got {d!r:.80}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a checkpoint's schedule was already warned about
            return cls(d["betas"], d.get("name", "custom"))


def _check_T(T) -> int:
    return check_int(T, "T", high=MAX_T)


def check_t(t, T: int, allow_zero: bool = False) -> np.ndarray:
    """Validate time steps: ints in 1..T (0..T with allow_zero). Returns an int array."""
    arr = np.asarray(t)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"time steps must be integers, got dtype {arr.dtype}")
    lo = 0 if allow_zero else 1
    if arr.size and (arr.min() < lo or arr.max() > T):
        raise ValueError(f"time steps must lie in {lo}..{T} (1-based, as in the paper), "
                         f"got values in {arr.min()}..{arr.max()}")
    return arr.astype(np.int64)


def gather(values: np.ndarray, t, x: np.ndarray) -> np.ndarray:
    """values[t] shaped to broadcast against x: a scalar t gives a scalar, t of shape (N,) gives
    (N, 1, …, 1); cast to x's dtype (float32 data stays float32)."""
    t = np.asarray(t)
    v = values[t]
    if t.ndim == 0:
        return x.dtype.type(v)
    if t.shape != (x.shape[0],):
        raise ValueError(f"t has shape {t.shape}; expected () or ({x.shape[0]},) for x of shape "
                         f"{x.shape}")
    return v.reshape((-1,) + (1,) * (x.ndim - 1)).astype(x.dtype)
