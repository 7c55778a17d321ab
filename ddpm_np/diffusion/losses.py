"""Training objectives: L_simple (ε-MSE) and its x_0- and v-prediction siblings.

Algorithm 1 of Ho et al. 2020, one step:
    x_0 ~ q(x_0),  t ~ U{1..T},  ε ~ N(0, I)                      → `sample_training_batch`
    gradient step on ‖ε − ε_θ(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t)‖²        → `diffusion_loss`

`diffusion_loss` is what training runs (`train.DiffusionObjective`): with the default ε target
and no weighting it is `loss_simple`, eq. 14; it also takes the x_0 and v targets and the
min-SNR weights (`TrainConfig.loss_weighting`, `ddpm-np train --loss-weighting`).
"""
from dataclasses import dataclass, replace

import numpy as np

from ..checks import check_array
from ..nn.loss import mse_loss
from .forward import q_sample
from .param import check_parameterization, v_from_eps_x0
from .schedule import NoiseSchedule, check_t

WEIGHTINGS = ("none", "min_snr")


def sample_training_batch(x0, schedule: NoiseSchedule, rng: np.random.Generator):
    """Draw t ~ U{1..T} and ε ~ N(0, I) per example and form x_t (Algorithm 1, lines 2–4).

    x0: (N, ...) float  ->  (t (N,) int64, eps like x0, xt like x0).
    """
    check_array("x0", x0)
    t = rng.integers(1, schedule.T + 1, size=x0.shape[0])
    eps = rng.standard_normal(x0.shape).astype(x0.dtype)
    return t, eps, q_sample(x0, t, eps, schedule)


@dataclass
class NoisyBatch:
    """One minibatch of Algorithm 1, drawn once: x_0, t, ε, x_t, the labels the model sees
    (dropped ones replaced by "no label"; None for an unconditional model) and per-example
    weights (None: all 1). `batch[rows]` is those rows of every array: a process's share."""
    x0: np.ndarray
    t: np.ndarray
    eps: np.ndarray
    xt: np.ndarray
    labels: np.ndarray | None = None
    weights: np.ndarray | None = None

    def __getitem__(self, rows) -> "NoisyBatch":
        return replace(self, **{k: v[rows] for k, v in vars(self).items() if v is not None})

    def model_labels(self) -> tuple:
        """The model's extra arguments: (labels,) for a conditional model, else ()."""
        return () if self.labels is None else (self.labels,)


def drop_labels(model, y, p: float, rng: np.random.Generator):
    """For a class-conditional model (`model.num_classes`), each label replaced by "no label"
    (= num_classes) with probability p, so that one network learns ε(x_t, y) and ε(x_t, ∅)
    (classifier-free guidance, Ho & Salimans 2022); None for an unconditional one."""
    if getattr(model, "num_classes", None) is None:
        return None
    return np.where(rng.random(len(y)) < p, model.num_classes, y)


def loss_simple(eps_theta, eps):
    """L_simple = E‖ε − ε_θ‖², averaged over all elements, and dL/dε_θ.

    Math: L_simple(θ) = E_{t,x_0,ε}[‖ε − ε_θ(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t)‖²]   (eq. 14)
    Returns (loss float, d_eps_theta like eps_theta).
    """
    return mse_loss(eps_theta, eps)


def loss_weights(t, schedule: NoiseSchedule, parameterization="eps", weighting="none",
                 snr_gamma: float = 5.0):
    """Per-example weights (N,) float64. "min_snr" (Hang et al. 2023) weights each t like the
    x_0-loss weighted by min(SNR, γ), expressed for the chosen target:
    ε: min(SNR, γ)/SNR,  x_0: min(SNR, γ),  v: min(SNR, γ)/(SNR + 1)."""
    check_parameterization(parameterization)
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}; use one of {WEIGHTINGS}")
    t = check_t(t, schedule.T)
    if weighting == "none":
        return np.ones(t.shape)
    snr = schedule.snr(t)
    clipped = np.minimum(snr, snr_gamma)
    return {"eps": clipped / snr, "x0": clipped, "v": clipped / (snr + 1)}[parameterization]


def diffusion_loss(output, x0, eps, t, schedule: NoiseSchedule, parameterization="eps",
                   weighting="none", snr_gamma: float = 5.0):
    """MSE between the network output and its target, with optional per-t weights.

    Targets: "eps" → ε (L_simple), "x0" → x_0, "v" → √ᾱ_t ε − √(1−ᾱ_t) x_0.
    Returns (loss float, d_output like output).
    """
    p = check_parameterization(parameterization)
    if p == "eps":
        target = eps
    elif p == "x0":
        target = x0
    else:
        target = v_from_eps_x0(eps, x0, t, schedule)
    if weighting == "none":
        check_t(t, schedule.T)
        return mse_loss(output, target)
    return mse_loss(output, target, loss_weights(t, schedule, p, weighting, snr_gamma))
