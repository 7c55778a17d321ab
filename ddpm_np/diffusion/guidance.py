"""Classifier-free guidance (Ho & Salimans 2022): one class-conditional network, trained with its
label dropped now and then, gives both ε_θ(x_t, t, y) and ε_θ(x_t, t, ∅); guidance mixes them:

    ε̃ = (1 + w)·ε_θ(x_t, t, y) − w·ε_θ(x_t, t, ∅)      (Ho & Salimans 2022, eq. 6)

w = 0 is the plain conditional model; larger w trades diversity for fidelity to the label.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_float


MAX_GUIDANCE = 100.0    # w ≈ 0.5–10 in use; far beyond, every pixel saturates to ±1


def guided_eps_model(model, y, guidance: float = 0.0, null_label: int | None = None):
    """An ε-model `eps_model(xt, t)` for the samplers, from `model(xt, t, labels)`.

    model: a class-conditional ε-network; y: (N,) int labels, or None for unconditional samples
    (every label set to `null_label`); guidance: 0 ≤ w ≤ MAX_GUIDANCE; null_label: the "no
    label" index (default `model.num_classes`). With w > 0 both terms come from one forward
    pass on a batch of 2N.
    """
    guidance = check_float(guidance, "guidance", low=0, high=MAX_GUIDANCE)
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

    def eps_model(xt, t):
        if y is None:
            return model(xt, t, np.full(len(xt), null))
        if guidance == 0:
            return model(xt, t, y)
        out = model(np.concatenate([xt, xt]), np.concatenate([t, t]),
                    np.concatenate([y, np.full(len(y), null)]))
        cond, uncond = out[:len(xt)], out[len(xt):]
        return (1 + guidance) * cond - guidance * uncond

    return eps_model
