"""Exercise 3 — L_simple, the loss of Algorithm 1 (tutorial chapter 2)."""
import numpy as np


def loss_simple(eps_theta, eps):
    """L = mean over all elements of (ε_θ − ε)², and dL/dε_θ   (eq. 14)

    eps_theta, eps: arrays of the same shape.  Returns (loss as a Python float, the gradient
    with eps_theta's shape and dtype).
    """
    raise NotImplementedError(
        "ex03: the mean of the squared error over every element, and its derivative with "
        "respect to eps_theta (`ddpm-np exercises --hint 3` says more)")
