"""Exercise 10 — classifier-free guidance (Ho & Salimans 2022)."""
import numpy as np


def guided_eps_model(model, y, guidance=0.0, null_label=None):
    """An ε-model eps_model(xt, t) from a class-conditional model(xt, t, labels):

        ε̃(x_t, y) = (1 + w)·ε_θ(x_t, y) − w·ε_θ(x_t, ∅)

    y: (N,) int labels, or None for unconditional samples (every label = the null label);
    guidance: w ≥ 0; null_label: the "no label" index (default model.num_classes).
    """
    raise NotImplementedError(
        "ex10: Ho & Salimans eq. 6: ε̃ = (1 + w)·ε(x, y) − w·ε(x, ∅) "
        "(`ddpm-np exercises --hint 10` says more)")
