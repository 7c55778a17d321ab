"""Exercise 3 — L_simple, the loss of Algorithm 1 (tutorial chapter 2)."""
import numpy as np


def loss_simple(eps_theta, eps):
    """L = mean over all elements of (ε_θ − ε)², and dL/dε_θ   (eq. 14)

    eps_theta, eps: arrays of the same shape.  Returns (loss as a Python float, the gradient
    with eps_theta's shape and dtype).
    """
    raise NotImplementedError(
        "ex03: with n = eps.size, L = Σ (ε_θ − ε)² / n, so dL/dε_θ = 2 (ε_θ − ε) / n. "
        "Library: ddpm_np/nn/loss.py (mse_loss)")
