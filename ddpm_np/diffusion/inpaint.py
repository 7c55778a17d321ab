"""Inpainting with an unconditional model: RePaint (Lugmayr et al. 2022).

Given x_0 known where the mask m is 1, every reverse step from t to s < t makes both parts:

    x_s^known   = √ᾱ_s·x_0 + √(1−ᾱ_s)·z                         (the forward process)
    x_s^unknown ~ p_θ(x_s | x_t)                                   (the model's step)
    x_s         = m ⊙ x_s^known + (1 − m) ⊙ x_s^unknown           (§4.1)

The known part is drawn without looking at the unknown one, so the two do not fit at first and
seams show. Resampling (§4.2) fixes that: after a reverse step, diffuse x_s back to t,
x_t ~ q(x_t | x_s) = N(√(ᾱ_t/ᾱ_s)·x_s, (1 − ᾱ_t/ᾱ_s)·I), and take the step again, so the model
sees the known part more times. The paper's schedule jumps back `jump_length` steps after every
`jump_length` steps, `resample` − 1 times at each jump point.

Here the reverse step runs on a grid of `steps` time steps (as DDIM's), with the model's
stochastic step over a stride: DDIM with η = 1, which for stride 1 is the DDPM step with
σ_t² = β̃_t. One model evaluation per reverse step.
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from ..checks import check_array, check_int
from .samplers import ddim_step, ddim_timesteps, check_sampler_inputs
from .schedule import NoiseSchedule


MAX_RESAMPLE = 100


def repaint_schedule(steps: int, jump_length: int = 10, resample: int = 10) -> list:
    """Grid positions to visit, from `steps` (x_T) down to 0 (x_0), with the paper's jumps back:
    after every `jump_length` positions down, `resample` − 1 times jump `jump_length` up again.
    resample = 1 gives the plain descent steps, steps − 1, …, 0. The path holds about
    steps · (2·resample − 1) positions: resample is at most MAX_RESAMPLE (the paper uses 10)."""
    check_int(steps, "steps")
    check_int(jump_length, "jump_length")
    check_int(resample, "resample", high=MAX_RESAMPLE)
    jumps = {p: resample - 1 for p in range(0, steps - jump_length, jump_length)}
    p, path = steps, [steps]
    while p > 0:
        p -= 1
        path.append(p)
        if jumps.get(p, 0) > 0:
            jumps[p] -= 1
            for _ in range(jump_length):
                p += 1
                path.append(p)
    return path


def repaint_sample(eps_model, x0, mask, schedule: NoiseSchedule, rng: np.random.Generator,
                   steps=100, jump_length=10, resample=10, clip_x0=None, progress=True):
    """Samples that equal x0 where mask is 1 and are completed by the model elsewhere.

    x0: (N, ...) the known data (its values under mask 0 are ignored); mask: broadcastable to
    x0, 1 = known; steps: the time-step grid (T for every step); jump_length, resample: the
    resampling schedule (resample=1: none). Returns (N, ...) like x0.
    """
    check_array("x0", x0)
    check_sampler_inputs(eps_model, x0.shape, schedule, rng)
    mask = np.asarray(mask, x0.dtype)
    try:
        mask = np.broadcast_to(mask, x0.shape)
    except ValueError:
        raise ValueError(f"mask of shape {mask.shape} does not broadcast to x0's shape "
                         f"{x0.shape}") from None
    if not np.all((mask == 0) | (mask == 1)):
        raise ValueError("mask must hold only 0 (unknown) and 1 (known)")
    grid = np.concatenate([[0], ddim_timesteps(schedule.T, steps)[::-1]])  # time at position p
    ab = schedule.alpha_bars
    n = x0.shape[0]
    x = rng.standard_normal(x0.shape).astype(x0.dtype)
    path = repaint_schedule(len(grid) - 1, jump_length, resample)
    for a, b in tqdm(list(zip(path[:-1], path[1:])), desc="RePaint", disable=not progress,
                     leave=False):
        t, s = int(grid[a]), int(grid[b])
        if b < a:                                            # a reverse step t → s
            eps = eps_model(x, np.full(n, t, dtype=np.int64))
            z = rng.standard_normal(x.shape).astype(x.dtype)
            unknown, _ = ddim_step(eps, x, t, s, schedule, eta=1.0, z=z, clip_x0=clip_x0)
            known = np.sqrt(ab[s]) * x0 + np.sqrt(1 - ab[s]) * rng.standard_normal(
                x.shape).astype(x.dtype) if s > 0 else x0
            x = (mask * known + (1 - mask) * unknown).astype(x0.dtype)
        else:                                                # a jump back s → t (here a < b)
            r = ab[s] / ab[t]                                # ᾱ_later / ᾱ_earlier, s > t
            x = (np.sqrt(r) * x + np.sqrt(1 - r) * rng.standard_normal(x.shape)).astype(
                x0.dtype)
    return np.where(mask == 1, x0, x)
