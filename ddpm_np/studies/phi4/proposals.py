"""Where a φ⁴ proposal's exact density comes from: the two routes of `Phi4Config.route`.

flow   the deterministic sampler (DPM-Solver++(2M) or DDIM) in float64 with the exact
       log-density of its map, through the network's dense Jacobian: V tangents a step, about
       V² a proposal and step (L ≤ MAX_EXACT_L).
path   the ancestral chain along `path_steps` steps, drawn whole, with its path weight
       (diffusion/path_density.py): one network evaluation a step, O(V), no Jacobian. The
       network runs in float32 in the program's tier; the Gaussians are float64 at the means
       it gave, so the weight is exact for what was sampled.

Either way a proposal comes back as φ with log q and log w = −S(φ) − log q, where for the path
log q = log q_θ(path) − log P(path | x_0) − V·log s: the proposal's density over the forward
process's, which is what makes independence Metropolis–Hastings on paths exact for φ.
"""
from __future__ import annotations

import numpy as np

from ...diffusion import flow_sample, module_eps_jacobian
from ...diffusion.path_density import PathVariances, path_sample, path_timesteps
from ...models import LatticeEps
from ...run.loading import load_for_sampling


def load_sampler(study):
    """The trained ε-network (EMA weights) and its schedule, as the route needs it: in float64
    for the flow's Jacobian, as saved (float32) for the path."""
    model32, schedule, _ = load_for_sampling(study.out / "model" / "checkpoint.npz")
    if study.config.route == "path":
        return model32.eval(), schedule
    model = LatticeEps(**model32.config(), rng=np.random.default_rng(0), dtype=np.float64)
    model.load_state_dict(model32.state_dict())
    return model.eval(), schedule


def sampler_name(config) -> str:
    if config.route == "path":
        return (f"the ancestral path in {config.path_steps} steps (σ² = β̃ + "
                f"{config.path_v:g}(β − β̃), last {config.path_c:g}β)")
    return f"{'DPM-Solver++(2M)' if config.order == 2 else 'DDIM'}-{config.sampler_steps}"


def _flow(study, model, schedule, x_T, rng):
    """x_0 and log q(x_0) from the flow; a random sign (the network is odd, so q(−φ) = q(φ)
    and the flip keeps q_sym = q)."""
    c = study.config
    x0, log_q = flow_sample(module_eps_jacobian(model), x_T, schedule, c.sampler_steps,
                            c.order)
    sign = rng.choice([-1.0, 1.0], size=len(x_T))[:, None, None]
    return x0[:, 0] * sign, log_q


def _path(study, model, schedule, x_T, rng):
    """x_0 and log q_θ(path) − log P(path | x_0) from the ancestral chain (symmetric already:
    the network is odd and the noise is symmetric, so the path's law is even)."""
    c = study.config
    r = path_sample(model, x_T, schedule, path_timesteps(schedule, c.path_steps),
                    PathVariances(c.path_v, c.path_c), rng)
    return r["x0"][:, 0], r["log_q"] - r["log_forward"]


def propose(study, n, rng, sampler=None) -> dict:
    """n proposals φ = s·x_0 with log q, S(φ) and log w = −S − log q (V·log s from the scale)."""
    model, schedule = sampler or load_sampler(study)
    L = study.config.L
    x_T = rng.standard_normal((n, 1, L, L))
    draw = _path if study.config.route == "path" else _flow
    x0, log_q = draw(study, model, schedule, x_T, rng)
    s = study.state["scale"]
    phi = s * x0
    log_q = log_q - L * L * np.log(s)
    S = study.action(phi)
    return {"phi": phi, "log_q": log_q, "S": S, "log_w": -S - log_q}
