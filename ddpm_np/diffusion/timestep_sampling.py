"""Importance-sampled t for the bound's term of a loss (Nichol & Dhariwal 2021, §3.3).

L_vlb = Σ_t L_t is estimated from one t per example. Drawn uniformly, T·L_t is unbiased but
noisy: the terms differ by orders of magnitude (the decoder L_0 alone is about half the bound
of an MNIST model, and t = 1 is drawn once in T = 1000 draws). Drawing t with probability p_t
and weighting the term by 1/(T·p_t) keeps the estimate unbiased,

    L_vlb = E_{t ~ p_t}[L_t / p_t],   p_t ∝ √E[L_t²],   Σ p_t = 1                   (eq. 18)

and √E[L_t²] is the choice of p_t that minimises its variance. E[L_t²] is the mean of the last
`history` values of L_t seen in training; until every t has that many, t is drawn uniformly (the
paper's code: 10 values, and a share of 0.001 of the probability kept uniform, so that no t
is starved).
"""
from __future__ import annotations

import numpy as np

from ..checks import check_float, check_int

SAMPLINGS = ("uniform", "importance")
# L_hybrid draws one t for both its terms, so L_simple takes the weights 1/(T·p_t) as well. The
# paper samples t this way for L_vlb alone; with a share ρ of p kept uniform, no weight of
# L_simple exceeds 1/ρ (defensive importance sampling, Hesterberg 1995), and t = 1, which the
# decoder makes the largest term, is still drawn hundreds of times more often than uniformly.
HYBRID_UNIFORM_SHARE = 0.5


class LossSecondMomentSampler:
    """t ∈ {1..T} with p_t ∝ √(mean of the last `history` squared losses of t) (eq. 18)."""

    def __init__(self, T: int, history: int = 10, uniform_share: float = 0.001):
        self.T = check_int(T, "T")
        self.history = check_int(history, "history")
        self.uniform_share = check_float(uniform_share, "uniform_share", low=0, high=1)
        self.values = np.zeros((self.T + 1, self.history))   # row t: a ring of L_t values
        self.counts = np.zeros(self.T + 1, dtype=np.int64)    # values seen per t (row 0 unused)

    @property
    def warm(self) -> bool:
        """Every t has `history` values: until then t is drawn uniformly."""
        return bool(np.all(self.counts[1:] >= self.history))

    def probabilities(self) -> np.ndarray:
        """p_t for t = 1..T, index 0 unused (0), summing to 1."""
        p = np.zeros(self.T + 1)
        if not self.warm:
            p[1:] = 1.0 / self.T
            return p
        p[1:] = np.sqrt(np.mean(self.values[1:] ** 2, axis=1))
        total = p.sum()
        p[1:] = p[1:] / total if total > 0 else 1.0 / self.T
        p[1:] = (1 - self.uniform_share) * p[1:] + self.uniform_share / self.T
        return p

    def draw(self, rng: np.random.Generator, n: int):
        """(t (n,) int64 in 1..T, weights (n,) = 1/(T·p_t)): Σ_t p_t·w_t·L_t = mean_t L_t."""
        p = self.probabilities()
        t = rng.choice(self.T + 1, size=n, p=p).astype(np.int64)
        return t, 1.0 / (self.T * p[t])

    def update(self, t, losses) -> None:
        """Record the terms L_t of one batch (t (n,) in 1..T, losses (n,), unweighted)."""
        t = np.asarray(t, dtype=np.int64)
        losses = np.asarray(losses, dtype=np.float64)
        if t.shape != losses.shape or t.ndim != 1:
            raise ValueError(f"t {t.shape} and losses {losses.shape} must be equal 1-D shapes")
        for ti, li in zip(t.tolist(), losses.tolist()):
            self.values[ti, self.counts[ti] % self.history] = li
            self.counts[ti] += 1

    def state_dict(self) -> dict:
        return {"values": self.values.copy(), "counts": self.counts.copy()}

    def load_state_dict(self, state: dict) -> None:
        values, counts = np.asarray(state["values"]), np.asarray(state["counts"])
        if values.shape != self.values.shape or counts.shape != self.counts.shape:
            raise ValueError(f"a timestep sampler's state for T = {values.shape[0] - 1}, "
                             f"history {values.shape[1:]} does not fit T = {self.T}, "
                             f"history {self.history}")
        self.values[...] = values
        self.counts[...] = counts
