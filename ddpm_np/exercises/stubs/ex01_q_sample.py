"""Exercise 1 — the forward process in one draw (tutorial chapter 1)."""
import numpy as np


def q_sample(x0, t, eps, schedule):
    """x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · ε   (Ho et al. 2020, eq. 4)

    x0, eps: (N, ...) arrays ; t: an int or an (N,) int array with values in 0..T (t = 0 gives
    x_0 back) ; schedule: a NoiseSchedule, whose `schedule.alpha_bars` has length T + 1 with
    alpha_bars[0] = 1.  Returns x_t, shaped like x0.
    """
    raise NotImplementedError(
        "ex01: the forward process in one draw, eq. 4: which ᾱ does each example need, and how "
        "does it broadcast against x0? (`ddpm-np exercises --hint 1` says more)")
