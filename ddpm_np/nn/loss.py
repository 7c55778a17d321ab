"""Losses returning (value, gradient with respect to the prediction)."""
import numpy as np

from ..checks import check_array


def mse_loss(pred, target, weights=None):
    """Mean squared error over all elements and its gradient.

    pred, target: same shape ; weights: optional, broadcastable per-sample weights of shape (N,).
    Math: L = (1/n)·Σ w_i·(pred − target)²,  dL/dpred = 2·w·(pred − target)/n.
    Returns (loss as a Python float, dpred with pred's dtype).
    """
    check_array("pred", pred, "target", target)
    if pred.shape != target.shape:
        raise ValueError(f"mse_loss: pred shape {pred.shape} != target shape {target.shape}")
    diff = pred - target
    n = diff.size
    if weights is None:
        return float(np.mean(diff * diff, dtype=np.float64)), (2.0 / n) * diff
    w = np.asarray(weights, dtype=pred.dtype).reshape((-1,) + (1,) * (pred.ndim - 1))
    return float(np.sum(w * diff * diff, dtype=np.float64) / n), (2.0 / n) * w * diff


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of integer labels under softmax(logits), and its gradient.

    logits: (N, K) ; labels: (N,) ints in 0..K−1.
    Math: L = (1/N)·Σ_n [logsumexp(z_n) − z_n,y_n],  dL/dz = (softmax(z) − onehot(y))/N.
    """
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"softmax_cross_entropy: logits {logits.shape} and labels {labels.shape} "
                         "must be (N, K) and (N,)")
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ValueError(f"labels must lie in 0..{logits.shape[1] - 1}")
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    n = len(labels)
    rows = np.arange(n)
    loss = float(np.mean(np.log(s[:, 0]) - z[rows, labels], dtype=np.float64))
    d = e / s
    d[rows, labels] -= 1
    return loss, d / n
