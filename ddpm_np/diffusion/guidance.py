"""Classifier-free guidance (Ho & Salimans 2022): one class-conditional network, trained with its
label dropped now and then, gives both ε_θ(x_t, t, y) and ε_θ(x_t, t, ∅); guidance mixes them:

    ε̃ = (1 + w)·ε_θ(x_t, t, y) − w·ε_θ(x_t, t, ∅)      (Ho & Salimans 2022, eq. 6)

w = 0 is the plain conditional model; larger w trades diversity for fidelity to the label.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_float


def guided_eps_model(model, y, guidance: float = 0.0, null_label: int | None = None,
                     variance: bool = False):
    """An ε-model `eps_model(xt, t)` for the samplers, from `model(xt, t, labels)`.

    model: a class-conditional ε-network; y: (N,) int labels, or None for unconditional samples
    (every label set to `null_label`); guidance: w ≥ 0, finite; null_label: the "no label" index
    (default `model.num_classes`). With w > 0 both terms come from one forward pass on a batch
    of 2N. A network that learns the variance (`model.learn_sigma`: ε_θ and v in its output)
    gives the guided ε, or with `variance` the pair (ε, v), v from the conditional pass (as
    GLIDE does: guidance moves the mean, not the variance).
    """
    guidance = check_float(guidance, "guidance", low=0)
    learned = bool(getattr(model, "learn_sigma", False))
    if variance and not learned:
        raise ValueError("variance=True needs a network that learns the variance "
                         "(learn_sigma); this one predicts ε alone")
    if null_label is None and getattr(model, "num_classes", None) is None:
        raise TypeError(f"model must be a class-conditional network (with num_classes, called "
                        f"as model(x_t, t, labels)), got {type(model).__name__}; an "
                        "unconditional ε-model needs no guidance")
    if not callable(model):
        raise TypeError(f"model must be callable as model(x_t, t, labels), got "
                        f"{type(model).__name__}")
    null = model.num_classes if null_label is None else null_label
    if y is not None:
        y = np.asarray(y)

    def guided(xt, t):
        if y is None:
            return model(xt, t, np.full(len(xt), null)), None
        if guidance == 0:
            return model(xt, t, y), None
        out = model(np.concatenate([xt, xt]), np.concatenate([t, t]),
                    np.concatenate([y, np.full(len(y), null)]))
        return out[:len(xt)], out[len(xt):]

    def eps_model(xt, t):
        cond, uncond = guided(xt, t)
        c = xt.shape[1]
        eps = cond[:, :c] if learned else cond
        if uncond is not None:
            eps = (1 + guidance) * eps - guidance * (uncond[:, :c] if learned else uncond)
        return (eps, cond[:, c:]) if variance else eps

    return eps_model
