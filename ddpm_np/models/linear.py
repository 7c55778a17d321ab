"""The simplest ε-model with a time input: a matrix and a vector per time step.

    ε_θ(x_t, t) = A_t · x_t + b_t          A: (T, D, D), b: (T, D), both trained

For Gaussian data N(μ, Σ) the optimal ε is exactly of this form (diffusion/analytic.py,
`gaussian_cov_eps_model`): x_t and ε are jointly Gaussian, so E[ε | x_t] is linear in x_t, with

    A*_t = √(1−ᾱ_t) · C_t⁻¹,   b*_t = −√ᾱ_t · A*_t · μ,   C_t = ᾱ_t Σ + (1−ᾱ_t) I,

and training must find it (`optimal_linear_eps` gives it; tests/models/test_linear.py checks).
For anything that is not Gaussian it cannot be right: a linear ε gives a linear reverse process,
which maps the Gaussian x_T to a Gaussian x_0. Trained on two Gaussians, its samples are one
Gaussian with the data's mean and covariance. That failure is what the MLP is for.
"""
from __future__ import annotations

import numpy as np

from ..nn import Module, Parameter, check_dtype
from ..checks import check_int


class LinearEps(Module):
    """ε_θ(x_t, t) = A_t x_t + b_t for (N, D) data and t in 1..T. Starts at A = 0, b = 0 (the
    untrained model predicts ε_θ = 0, loss 1, as the MLP does). It has no layers, so no tier."""

    def __init__(self, dim: int = 2, T: int = 200, *, rng=None, dtype=np.float32):
        self.dim, self.T = check_int(dim, "dim"), check_int(T, "T")
        self.A = Parameter(np.zeros((self.T, self.dim, self.dim), dtype))
        self.b = Parameter(np.zeros((self.T, self.dim), dtype))

    def config(self) -> dict:
        return dict(dim=self.dim, T=self.T)

    def forward(self, xt, t):
        check_dtype(xt, self.A.dtype, "LinearEps")
        if xt.ndim != 2 or xt.shape[1] != self.dim:
            raise ValueError(f"LinearEps expects x_t of shape (N, {self.dim}), got {xt.shape}")
        t = np.broadcast_to(np.asarray(t), (len(xt),))
        if t.dtype.kind not in "iu" or t.min(initial=1) < 1 or t.max(initial=1) > self.T:
            raise ValueError(f"LinearEps: t must be integers in 1..{self.T}")
        k = t - 1                                                    # row of the table
        self._cache = (xt, k)
        return np.einsum("nij,nj->ni", self.A.data[k], xt) + self.b.data[k]

    def backward(self, dout):
        """dA_t = Σ_{n: t_n = t} dout_n x_nᵀ, db_t = Σ_{n: t_n = t} dout_n, dx_n = A_tnᵀ dout_n.

        The sums over the examples of each t are one product with the (T, N) matrix that has a 1
        where example n has time step t (a scatter-add, as a GEMM)."""
        xt, k = self._need_cache()
        n = len(k)
        onehot = np.zeros((self.T, n), dout.dtype)
        onehot[k, np.arange(n)] = 1
        outer = (dout[:, :, None] * xt[:, None, :]).reshape(n, -1)          # dout_n x_nᵀ
        self.A.grad += (onehot @ outer).reshape(self.A.shape)
        self.b.grad += onehot @ dout
        return np.einsum("nji,nj->ni", self.A.data[k], dout)


def optimal_linear_eps(mu, cov, schedule):
    """(A*, b*) of shapes (T, D, D), (T, D): the minimiser of L_simple for data N(mu, cov)."""
    mu = np.asarray(mu, np.float64).reshape(-1)
    cov = np.asarray(cov, np.float64)
    ab = schedule.alpha_bars[1:]                                     # ᾱ_1 … ᾱ_T
    eye = np.eye(mu.size)
    C = ab[:, None, None] * cov + (1 - ab)[:, None, None] * eye
    A = np.sqrt(1 - ab)[:, None, None] * np.linalg.inv(C)
    b = -np.sqrt(ab)[:, None] * np.einsum("tij,j->ti", A, mu)
    return A, b
