"""A learned reverse variance (Nichol & Dhariwal 2021, "Improved DDPM", §3.1) and its loss.

The network outputs ε_θ and, in as many more channels, v; the reverse step's variance is

    Σ_θ(x_t, t) = exp(v·log β_t + (1 − v)·log β̃_t)                                  (eq. 15)

an interpolation, in the log domain, between the two fixed choices of Ho et al. (β̃_1 = 0, so
log β̃ at t = 1 takes β̃_2, as in the paper's code). It is trained with

    L_hybrid = L_simple + λ·L_vlb,   λ = 0.001                                        (eq. 16)

where L_vlb = L_0 + … + L_T is estimated from the t drawn for L_simple as T·L_{t−1}, and the mean
in L_vlb is held fixed (stop-gradient): L_simple trains ε_θ, L_vlb only v. Per element, with
q(x_{t−1}|x_t, x_0) = N(μ̃, β̃_t) and p_θ = N(μ_θ, σ²), ℓ = log σ²:

    t > 1:  L = KL(q ‖ p_θ) = ½·(ℓ − log β̃_t + (β̃_t + (μ̃ − μ_θ)²)·e^{−ℓ} − 1)
            ∂L/∂ℓ = ½·(1 − (β̃_t + (μ̃ − μ_θ)²)·e^{−ℓ})
    t = 1:  L = −log P,  P = Φ(u₊) − Φ(u₋),  u± = (x_0 ± 1/255 − μ_θ)/σ  (eq. 13, 8-bit data)
            ∂L/∂ℓ = (u₊·φ(u₊) − u₋·φ(u₋)) / (2P)   (the end bins' infinite bound adds 0)

and ∂ℓ/∂v = log β_t − log β̃_t. Everything here is written by hand and checked by finite
differences (tests/diffusion/test_learned_variance.py).
"""
from __future__ import annotations

import numpy as np

from ..checks import check_float
from ..nn.loss import mse_loss
from .forward import q_posterior
from .gaussian import LN2, log_bin_prob
from .guidance import MAX_GUIDANCE
from .param import mu_theta_from_eps, x0_from_eps
from .samplers import check_sampler_inputs, clip_x0_hat, ddim_timesteps
from .schedule import NoiseSchedule, check_t, gather
from .trajectory import each_step

LAMBDA = 0.001                  # λ of L_hybrid (Nichol & Dhariwal 2021, §3.1)
_HALF_BIN = 1.0 / 255.0
_LOG_FLOOR = np.log(1e-12)      # the discretized decoder's floor on P, as in vlb.py


def log_variance_bounds(schedule: NoiseSchedule):
    """(log β_t, log β̃_t) for t = 0..T, β̃_1 replaced by β̃_2 (so that both are finite at t = 1);
    entry 0 is unused."""
    beta = np.log(np.maximum(schedule.betas, 1e-300))
    bt = schedule.sigmas("beta_tilde") ** 2
    bt = bt.copy()
    bt[1] = bt[2] if schedule.T >= 2 else schedule.betas[1]
    return beta, np.log(np.maximum(bt, 1e-300))


def model_log_variance(v, t, schedule: NoiseSchedule):
    """ℓ = v·log β_t + (1 − v)·log β̃_t, elementwise (eq. 15)."""
    t = check_t(t, schedule.T)
    log_beta, log_beta_tilde = log_variance_bounds(schedule)
    hi, lo = gather(log_beta, t, v), gather(log_beta_tilde, t, v)
    return v * (hi - lo) + lo


def split_output(output):
    """A learned-variance network's output (N, 2C, ...) → (ε_θ, v), each (N, C, ...)."""
    if output.ndim < 2 or output.shape[1] % 2:
        raise ValueError(f"a learned-variance output needs an even number of channels "
                         f"(ε and v), got shape {output.shape}")
    c = output.shape[1] // 2
    return output[:, :c], output[:, c:]


class _Part:
    """A learned-variance network seen through one part of its output: "eps" (ε_θ) or "both"
    ((ε_θ, v)); keeps `num_classes`, so that guidance can wrap it."""

    def __init__(self, model, part):
        self.model, self.part = model, part
        self.num_classes = getattr(model, "num_classes", None)

    def __call__(self, xt, t, *labels):
        eps, v = split_output(self.model(xt, t, *labels))
        return eps if self.part == "eps" else (eps, v)


def eps_only(model):
    """The network as an ε-model for the samplers and for guidance: the ε half of a
    learned-variance network's output (`model.learn_sigma`), else the model itself."""
    return _Part(model, "eps") if getattr(model, "learn_sigma", False) else model


def with_variance(model):
    """A learned-variance network as `model(x_t, t[, labels]) -> (ε_θ, v)`."""
    return _Part(model, "both")


def guided_with_variance(model, y, guidance: float = 0.0, null_label: int | None = None):
    """`(x_t, t) -> (ε̃, v)` for `ancestral_sample` from a class-conditional learned-variance
    network: ε̃ guided as in `guided_eps_model` (Ho & Salimans eq. 6), v from the conditional
    pass (guidance moves the mean, not the variance, as in GLIDE); y None: every label is
    `null_label` (default `model.num_classes`), no guidance. One pass on 2N images if w > 0."""
    guidance = check_float(guidance, "guidance", low=0, high=MAX_GUIDANCE)
    null = model.num_classes if null_label is None else null_label

    def fn(xt, t):
        n = len(xt)
        if y is None or guidance == 0:
            labels = np.full(n, null) if y is None else np.asarray(y)
            return split_output(model(xt, t, labels))
        out = model(np.concatenate([xt, xt]), np.concatenate([t, t]),
                    np.concatenate([np.asarray(y), np.full(n, null)]))
        (eps_c, v_c), (eps_u, _) = split_output(out[:n]), split_output(out[n:])
        return (1 + guidance) * eps_c - guidance * eps_u, v_c

    return fn


def vlb_term(v, mu_theta, x0, xt, t, schedule: NoiseSchedule):
    """L_{t−1} per element in nats (KL for t > 1, the discretized decoder's −log P for t = 1)
    with the mean μ_θ given (held fixed), and ∂L/∂v. Shapes (N, ...); t (N,)."""
    t = check_t(t, schedule.T)
    log_beta, log_beta_tilde = log_variance_bounds(schedule)
    dl_dv = gather(log_beta, t, v) - gather(log_beta_tilde, t, v)
    ell = model_log_variance(v, t, schedule)
    mu_q, var_q = q_posterior(x0, xt, t, schedule)
    inv = np.exp(-ell)
    spread = (var_q + (mu_q - mu_theta) ** 2) * inv
    log_var_q = np.log(np.maximum(var_q, 1e-300))
    kl = 0.5 * (ell - log_var_q + spread - 1.0)
    d_kl = 0.5 * (1.0 - spread)
    # the decoder at t = 1 (8-bit data in [−1, 1])
    sigma = np.exp(0.5 * ell)
    lo = np.where(x0 <= -1 + 1e-6, -np.inf, (x0 - _HALF_BIN - mu_theta) / sigma)
    hi = np.where(x0 >= 1 - 1e-6, np.inf, (x0 + _HALF_BIN - mu_theta) / sigma)
    log_p = log_bin_prob(lo, hi)
    floored = log_p < _LOG_FLOOR
    nll = -np.maximum(log_p, _LOG_FLOOR)

    def u_phi(u):                                       # u·φ(u), 0 at ±∞
        with np.errstate(invalid="ignore", over="ignore"):
            return np.where(np.isfinite(u), u * np.exp(-0.5 * np.square(np.where(
                np.isfinite(u), u, 0.0))) / np.sqrt(2 * np.pi), 0.0)

    with np.errstate(over="ignore", invalid="ignore"):
        d_nll = (u_phi(hi) - u_phi(lo)) * 0.5 * np.exp(-np.maximum(log_p, _LOG_FLOOR))
    d_nll = np.where(floored, 0.0, d_nll)
    first = gather((np.arange(schedule.T + 1) == 1).astype(np.float64), t, v) > 0
    term = np.where(first, nll, kl)
    return term, np.where(first, d_nll, d_kl) * dl_dv


def hybrid_loss(output, x0, eps, xt, t, schedule: NoiseSchedule, lam: float = LAMBDA,
                weights=None, vlb_weights=None, terms=False):
    """L_hybrid for a batch: the output (N, 2C, ...) holds ε_θ and v. Returns (loss, d_output):
    L_simple's gradient on the ε half (per-example `weights` if given, e.g. min-SNR's or the
    importance weights of timestep_sampling.py), λ·T·L_{t−1} (in bits per dimension, averaged
    over the batch, per-example `vlb_weights` if given) with the mean held fixed on the v half.
    With `terms`, also each example's L_{t−1} in bits/dim, unweighted (N,)."""
    eps_theta, v = split_output(output)
    if eps_theta.shape != eps.shape:
        raise ValueError(f"output {output.shape} does not hold ε and v for x_0 {x0.shape}")
    simple, d_eps = mse_loss(eps_theta, eps, weights)
    x0_64, xt_64 = x0.astype(np.float64), xt.astype(np.float64)
    mu = mu_theta_from_eps(xt_64, t, eps_theta.astype(np.float64), schedule)
    term, d_v = vlb_term(v.astype(np.float64), mu, x0_64, xt_64, t, schedule)
    per_example = term.reshape(len(term), -1).mean(axis=1) / LN2      # bits/dim
    scale = lam * schedule.T / (term.size * LN2)            # mean over elements, in bits
    if vlb_weights is not None:
        w = np.asarray(vlb_weights, dtype=np.float64).reshape((-1,) + (1,) * (term.ndim - 1))
        term, d_v = term * w, d_v * w
    loss = simple + scale * float(term.sum())
    d_out = np.concatenate([d_eps, (scale * d_v).astype(output.dtype)], axis=1)
    return (loss, d_out, per_example) if terms else (loss, d_out)


def strided_log_variance(v, t, t_prev, schedule: NoiseSchedule):
    """ℓ for a step t → t_prev < t of a strided sampler: eq. 15 with the step's own β and β̃,
    β' = 1 − ᾱ_t/ᾱ_prev and β̃' = (1 − ᾱ_prev)/(1 − ᾱ_t)·β' (Nichol & Dhariwal 2021, §4: the
    variance of a respaced chain); for t_prev = t − 1 the schedule's own. 1 ≤ t_prev < t (the
    last step, onto x_0, adds no noise)."""
    if not 1 <= t_prev < t <= schedule.T:
        raise ValueError(f"strided_log_variance needs 1 ≤ t_prev < t ≤ T, got t = {t}, "
                         f"t_prev = {t_prev}")
    ab = schedule.alpha_bars
    a_t, a_p = ab[t], ab[t_prev]
    beta = 1 - a_t / a_p
    lo, hi = np.log((1 - a_p) / (1 - a_t) * beta), np.log(beta)
    return v * (hi - lo) + lo


def ancestral_sample(model, shape, schedule: NoiseSchedule, rng: np.random.Generator,
                     steps: int | None = None, clip_x0=None, dtype=np.float32, progress=True):
    """Ancestral sampling with the learned variance: `model(x_t, t) -> (ε_θ, v)`. All T steps
    (Algorithm 2 with σ_t² = Σ_θ), or `steps` evenly spaced ones (the respaced chain of
    `strided_log_variance`). Each step: x̂_0 from ε_θ (clipped to ±clip_x0 if given), the
    posterior mean μ̃(x_t, x̂_0) of the step, plus exp(ℓ/2)·z except on the last step."""
    check_sampler_inputs(model, shape, schedule, rng)
    ts = np.arange(schedule.T, 0, -1) if steps is None else ddim_timesteps(schedule.T, steps)
    t_prevs = np.append(ts[1:], 0)
    ab = schedule.alpha_bars
    n = shape[0]

    x = rng.standard_normal(shape).astype(dtype)
    for i, t in each_step(ts, f"DDPM-{len(ts)}, learned Σ", progress):
        t_prev = int(t_prevs[i])
        eps, v = model(x, np.full(n, t, dtype=np.int64))
        if eps.shape != x.shape or v.shape != x.shape:
            raise ValueError(f"the model returned ε {eps.shape} and v {v.shape}; both must "
                             f"have x_t's shape {x.shape}")
        x0_hat = clip_x0_hat(x0_from_eps(x, t, eps, schedule), clip_x0)
        a_t, a_p = ab[t], ab[t_prev]
        c0 = np.sqrt(a_p) * (1 - a_t / a_p) / (1 - a_t)
        ct = np.sqrt(a_t / a_p) * (1 - a_p) / (1 - a_t)
        x = (c0 * x0_hat + ct * x).astype(x.dtype)                    # the posterior mean μ̃
        if t_prev > 0:
            sd = np.exp(0.5 * strided_log_variance(v.astype(np.float64), t, t_prev, schedule))
            x = (x + sd * rng.standard_normal(x.shape)).astype(x.dtype)
    return x
