"""Losses returning (value, gradient with respect to the prediction)."""
import numpy as np


def mse_loss(pred, target, weights=None):
    """Mean squared error over all elements and its gradient.

    pred, target: same shape ; weights: optional, broadcastable per-sample weights of shape (N,).
    Math: L = (1/n)·Σ w_i·(pred − target)²,  dL/dpred = 2·w·(pred − target)/n.
    Returns (loss as a Python float, dpred with pred's dtype).
    """
    if pred.shape != target.shape:
        raise ValueError(f"mse_loss: pred shape {pred.shape} != target shape {target.shape}")
    diff = pred - target
    n = diff.size
    if weights is None:
        return float(np.mean(diff * diff, dtype=np.float64)), (2.0 / n) * diff
    w = np.asarray(weights, dtype=pred.dtype).reshape((-1,) + (1,) * (pred.ndim - 1))
    return float(np.sum(w * diff * diff, dtype=np.float64) / n), (2.0 / n) * w * diff
