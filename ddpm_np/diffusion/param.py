"""Conversions between what a network may predict: ε, x̂_0, v, and the reverse mean μ_θ.

With x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε (eq. 4):
    x̂_0 = (x_t − √(1−ᾱ_t)·ε)/√ᾱ_t                          (eq. 15)
    ε   = (x_t − √ᾱ_t·x̂_0)/√(1−ᾱ_t)
    v   = √ᾱ_t·ε − √(1−ᾱ_t)·x_0      (Salimans & Ho 2022, "v-prediction")
    x_0 = √ᾱ_t·x_t − √(1−ᾱ_t)·v,   ε = √(1−ᾱ_t)·x_t + √ᾱ_t·v
    μ_θ = (x_t − β_t/√(1−ᾱ_t)·ε_θ)/√α_t                      (eq. 11)
"""
import numpy as np

from ..checks import check_array

from .schedule import NoiseSchedule, check_t, gather

PARAMETERIZATIONS = ("eps", "x0", "v")


def _coef(schedule, t, x):
    check_array("x", x)
    t = check_t(t, schedule.T)
    ab = schedule.alpha_bars
    return gather(np.sqrt(ab), t, x), gather(np.sqrt(1 - ab), t, x)


def x0_from_eps(xt, t, eps, schedule: NoiseSchedule):
    """x̂_0 = (x_t − √(1−ᾱ_t)·ε)/√ᾱ_t   (Ho et al. 2020, eq. 15)."""
    a, s = _coef(schedule, t, xt)
    return (xt - s * eps) / a


def eps_from_x0(xt, t, x0, schedule: NoiseSchedule):
    """ε = (x_t − √ᾱ_t·x_0)/√(1−ᾱ_t)."""
    a, s = _coef(schedule, t, xt)
    return (xt - a * x0) / s


def v_from_eps_x0(eps, x0, t, schedule: NoiseSchedule):
    """v = √ᾱ_t·ε − √(1−ᾱ_t)·x_0   (Salimans & Ho 2022, §4)."""
    a, s = _coef(schedule, t, x0)
    return a * eps - s * x0


def x0_from_v(xt, t, v, schedule: NoiseSchedule):
    """x_0 = √ᾱ_t·x_t − √(1−ᾱ_t)·v."""
    a, s = _coef(schedule, t, xt)
    return a * xt - s * v


def eps_from_v(xt, t, v, schedule: NoiseSchedule):
    """ε = √(1−ᾱ_t)·x_t + √ᾱ_t·v."""
    a, s = _coef(schedule, t, xt)
    return s * xt + a * v


def mu_theta_from_eps(xt, t, eps_theta, schedule: NoiseSchedule):
    """μ_θ(x_t, t) = (x_t − β_t/√(1−ᾱ_t)·ε_θ)/√α_t   (Ho et al. 2020, eq. 11)."""
    t = check_t(t, schedule.T)
    c = schedule.betas / np.sqrt(np.where(schedule.alpha_bars < 1, 1 - schedule.alpha_bars, 1))
    return (xt - gather(c, t, xt) * eps_theta) / gather(np.sqrt(schedule.alphas), t, xt)


def check_parameterization(p: str) -> str:
    if p not in PARAMETERIZATIONS:
        raise ValueError(f"unknown parameterization {p!r}; use one of {PARAMETERIZATIONS}")
    return p


def eps_from_output(output, xt, t, schedule: NoiseSchedule, parameterization: str = "eps"):
    """Turn a network's output (ε, x_0 or v prediction) into ε_θ for the samplers."""
    p = check_parameterization(parameterization)
    if p == "eps":
        return output
    if p == "x0":
        return eps_from_x0(xt, t, output, schedule)
    return eps_from_v(xt, t, output, schedule)


class EpsNetwork:
    """A network that predicts x_0 or v, seen as an ε-network: called as the network is,
    `(x_t, t, *labels)`, it returns ε_θ (`eps_from_output`); every other attribute
    (num_classes, learn_sigma, eval, …) is the network's, so guidance and the samplers take it
    as they take an ε-network."""

    def __init__(self, model, schedule: NoiseSchedule, parameterization: str):
        self.model = model
        self.schedule = schedule
        self.parameterization = check_parameterization(parameterization)

    def __call__(self, xt, t, *args):
        return eps_from_output(self.model(xt, t, *args), xt, t, self.schedule,
                               self.parameterization)

    def __getattr__(self, name):
        if name == "model":         # not set yet (copying, unpickling)
            raise AttributeError(name)
        return getattr(self.model, name)


def as_eps_model(model, schedule: NoiseSchedule, parameterization: str = "eps"):
    """`model(x_t, t[, labels])` predicting `parameterization`, as an ε-model for the samplers
    and for guidance: the model itself for "eps", else an EpsNetwork."""
    check_parameterization(parameterization)
    if parameterization == "eps":
        return model
    return EpsNetwork(model, schedule, parameterization)
