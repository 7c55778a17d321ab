"""Markov-chain samplers of p(φ) ∝ exp(−S(φ)): Hybrid Monte Carlo and local Metropolis, many
chains at once (the leading axis), each chain independent.

Hybrid Monte Carlo (Duane, Kennedy, Pendleton & Roweth 1987): draw momenta π ~ N(0, I), integrate
Hamilton's equations for H(φ, π) = ½π² + S(φ) with the leapfrog (exactly reversible and
volume-preserving), accept the end point with probability min(1, exp(−ΔH)). The step size is
tuned during thermalisation towards an acceptance of 80% (inside the 70–90% that balances the
cost of a trajectory against rejections).

Local Metropolis: visit the sites in two checkerboard halves (sites of one colour do not
interact, so a half is updated at once), propose φₓ' = φₓ + δ·u, u ~ U(−1, 1), accept with
min(1, exp(−ΔS)) where ΔS is the change of the local terms.
"""
from __future__ import annotations

import time

import numpy as np
from tqdm.auto import tqdm

from ..checks import check_int
from .action import Phi4Action


def leapfrog(action: Phi4Action, phi, pi, step: float, n_steps: int):
    """n_steps of the leapfrog for H = ½π² + S(φ): π ← π − ε/2·∂S, φ ← φ + ε·π, π ← π − ε/2·∂S."""
    pi = pi - 0.5 * step * action.grad(phi)
    for k in range(n_steps):
        phi = phi + step * pi
        if k < n_steps - 1:
            pi = pi - step * action.grad(phi)
    pi = pi - 0.5 * step * action.grad(phi)
    return phi, pi


def hmc_trajectory(action: Phi4Action, phi, rng: np.random.Generator, step, n_steps):
    """One HMC update of every chain of phi (C, L, L): returns (phi, accepted (C,) bool)."""
    pi = rng.standard_normal(phi.shape)
    H0 = 0.5 * np.sum(pi ** 2, axis=(-2, -1)) + action(phi)
    with np.errstate(over="ignore", invalid="ignore"):    # a step too large while tuning
        phi1, pi1 = leapfrog(action, phi, pi, step, n_steps)
        H1 = 0.5 * np.sum(pi1 ** 2, axis=(-2, -1)) + action(phi1)
    # a trajectory that diverged (H1 not finite) is rejected like any other bad one
    accept = np.isfinite(H1) & (np.log(rng.random(len(phi))) < -(H1 - H0))
    return np.where(accept[:, None, None], phi1, phi), accept


def hmc(action: Phi4Action, n_chains: int, n_samples: int, rng: np.random.Generator, *,
        trajectory_length=1.0, n_steps=10, thermalize=200, every=1, target_acceptance=0.8,
        progress=False, desc="HMC"):
    """Run n_chains HMC chains and keep every `every`-th configuration after `thermalize`
    trajectories (during which the step size is tuned towards `target_acceptance`, from
    step = trajectory_length/n_steps).

    Returns a dict: "phi" (n_chains, n_samples, L, L) float64 in Markov-chain order,
    "acceptance" (after thermalisation), "step", "n_steps", "seconds", "trajectories"
    (per chain, thermalisation included).
    """
    n_chains, n_samples = check_int(n_chains, "n_chains"), check_int(n_samples, "n_samples")
    every, thermalize = check_int(every, "every"), check_int(thermalize, "thermalize", low=0)
    L = action.L
    t0 = time.perf_counter()
    phi = 0.1 * rng.standard_normal((n_chains, L, L))
    step = trajectory_length / n_steps
    # 1. thermalise, tuning the step size every 10 trajectories (Robbins–Monro in log step)
    accepted = []
    for k in range(thermalize):
        phi, acc = hmc_trajectory(action, phi, rng, step, n_steps)
        accepted.append(acc.mean())
        if (k + 1) % 10 == 0 and k < 0.8 * thermalize:
            step *= float(np.exp(2.0 * (np.mean(accepted[-10:]) - target_acceptance)))
    # 2. production at a fixed step size (a step size that moved would break detailed balance)
    out = np.empty((n_chains, n_samples, L, L))
    acc_sum = 0.0
    for i in tqdm(range(n_samples * every), desc=desc, disable=not progress, leave=False):
        phi, acc = hmc_trajectory(action, phi, rng, step, n_steps)
        acc_sum += acc.mean()
        if (i + 1) % every == 0:
            out[:, (i + 1) // every - 1] = phi
    return {"phi": out, "acceptance": acc_sum / (n_samples * every), "step": step,
            "n_steps": n_steps, "seconds": time.perf_counter() - t0,
            "trajectories": thermalize + n_samples * every}


def checkerboard(L: int):
    """The two colours of an L×L lattice as boolean masks (L even: no two sites of one colour
    are neighbours)."""
    parity = np.add.outer(np.arange(L), np.arange(L)) % 2
    return parity == 0, parity == 1


def local_metropolis(action: Phi4Action, n_chains: int, n_samples: int,
                     rng: np.random.Generator, *, delta=1.0, thermalize=200, every=1,
                     progress=False):
    """Checkerboard local Metropolis; one sweep = both colours; keeps every `every`-th sweep.
    L must be even. Returns a dict like `hmc`'s ("sweeps" instead of "trajectories")."""
    L = action.L
    if L % 2:
        raise ValueError(f"checkerboard local Metropolis needs an even L, got {L}")
    n_chains, n_samples = check_int(n_chains, "n_chains"), check_int(n_samples, "n_samples")
    t0 = time.perf_counter()
    phi = 0.1 * rng.standard_normal((n_chains, L, L))
    colours = checkerboard(L)
    a, lam = 4 + action.m2, action.lam

    def sweep(phi):
        acc = 0.0
        for mask in colours:
            new = phi + delta * rng.uniform(-1, 1, phi.shape)
            # local terms of S at x: (2d + m²)φ² + λφ⁴ − 2φ·Σ_μ(φₓ₊μ̂ + φₓ₋μ̂)
            nb = action.hopping(phi)
            dS = (a * (new ** 2 - phi ** 2) + lam * (new ** 4 - phi ** 4)
                  - 2 * (new - phi) * nb)
            ok = mask & (np.log(rng.random(phi.shape)) < -dS)
            phi = np.where(ok, new, phi)
            acc += ok.sum() / (mask.sum() * len(phi))
        return phi, acc / 2

    for _ in range(thermalize):
        phi, _ = sweep(phi)
    out = np.empty((n_chains, n_samples, L, L))
    acc_sum = 0.0
    for i in tqdm(range(n_samples * every), desc="local Metropolis", disable=not progress,
                  leave=False):
        phi, acc = sweep(phi)
        acc_sum += acc
        if (i + 1) % every == 0:
            out[:, (i + 1) // every - 1] = phi
    return {"phi": out, "acceptance": acc_sum / (n_samples * every), "delta": delta,
            "seconds": time.perf_counter() - t0, "sweeps": thermalize + n_samples * every}
