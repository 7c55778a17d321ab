"""Training a network that learns its variance: L_hybrid as an objective, and the rules of what
it goes with, stated once (`check_objective`).

L_hybrid = L_simple + λ·L_vlb (learned_variance.py, Nichol & Dhariwal 2021 eq. 16), with t
uniform or, `timesteps="importance"`, drawn by the size of L_vlb's terms (timestep_sampling.py,
§3.3): then both terms are weighted by 1/(T·p_t), so that both stay unbiased, and the sampler's
history is part of the run's state (`state_dict`).
"""
from __future__ import annotations

from .forward import q_sample
from .learned_variance import LAMBDA, hybrid_loss
from .losses import NoisyBatch, drop_labels, loss_weights, sample_training_batch
from .schedule import NoiseSchedule
from .timestep_sampling import HYBRID_UNIFORM_SHARE, SAMPLINGS, LossSecondMomentSampler


def check_objective(learn_sigma: bool, parameterization="eps", timesteps=None, vlb_weight=None,
                    processes: int = 1, name=str) -> None:
    """What a learned variance needs and what needs it, one ValueError naming the option
    (`name(field)`: how the caller spells it, e.g. as a command-line flag): the variance is
    learned beside ε (parameterization eps); importance-sampled t and λ (`vlb_weight`, None
    when not given) act on L_vlb, which only such a network is trained with; importance-
    sampled t keeps its history in one process."""
    if timesteps is not None and timesteps not in SAMPLINGS:
        raise ValueError(f"{name('timesteps')} must be one of {', '.join(SAMPLINGS)}, got "
                         f"{timesteps!r}")
    if learn_sigma and parameterization != "eps":
        raise ValueError(f"{name('learn_sigma')} trains the ε-network ({name('parameterization')}"
                         f" eps), not {name('parameterization')} {parameterization}")
    needs = [f"{name('timesteps')} {timesteps} samples the terms of L_vlb"] \
        if timesteps not in (None, "uniform") else []
    needs += [f"{name('vlb_weight')} {vlb_weight:g} weighs L_vlb"] if vlb_weight is not None \
        else []
    if needs and not learn_sigma:
        raise ValueError(f"{needs[0]}, which only a model that learns the variance is trained "
                         f"with: add {name('learn_sigma')} (a new run)")
    if timesteps not in (None, "uniform") and processes > 1:
        raise ValueError(f"{name('timesteps')} {timesteps} runs in one process (each process "
                         f"would keep its own history of the terms), not {processes}: use "
                         "uniform under mpiexec")


class HybridObjective:
    """L_hybrid for one minibatch of a learned-variance network (`model(x_t, t[, y])` returns
    ε_θ and v in twice the channels); `draw` and `loss` as `train.DiffusionObjective`'s."""

    def __init__(self, schedule: NoiseSchedule, label_dropout=0.1, weighting="none",
                 snr_gamma=5.0, timesteps="uniform", vlb_weight=LAMBDA):
        check_objective(True, timesteps=timesteps)
        self.schedule, self.label_dropout = schedule, label_dropout
        self.weighting, self.snr_gamma, self.vlb_weight = weighting, snr_gamma, vlb_weight
        self.t_sampler = LossSecondMomentSampler(
            schedule.T, uniform_share=HYBRID_UNIFORM_SHARE) if timesteps == "importance" else None

    def draw(self, model, x0, y, rng) -> NoisyBatch:
        """t (uniform, or by importance with its weights 1/(T·p_t)), ε, x_t and labels."""
        weights = None
        if self.t_sampler is None:
            t, eps, xt = sample_training_batch(x0, self.schedule, rng)
        else:
            t, weights = self.t_sampler.draw(rng, x0.shape[0])
            eps = rng.standard_normal(x0.shape).astype(x0.dtype)
            xt = q_sample(x0, t, eps, self.schedule)
        labels = drop_labels(model, y, self.label_dropout, rng)
        return NoisyBatch(x0, t, eps, xt, labels, weights)

    def loss(self, model, b: NoisyBatch):
        out = model(b.xt, b.t, *b.model_labels())
        weights = None if self.weighting == "none" else loss_weights(
            b.t, self.schedule, "eps", self.weighting, self.snr_gamma)
        if b.weights is not None:
            weights = b.weights if weights is None else b.weights * weights
        loss, d_out, terms = hybrid_loss(out, b.x0, b.eps, b.xt, b.t, self.schedule,
                                         lam=self.vlb_weight, weights=weights,
                                         vlb_weights=b.weights, terms=True)
        if self.t_sampler is not None:
            self.t_sampler.update(b.t, terms)
        return loss, d_out

    def state_dict(self) -> dict:
        """The importance sampler's history ({} with uniform t)."""
        return {} if self.t_sampler is None else self.t_sampler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        """Restore `state_dict`; {} (a run saved with uniform t) leaves the history empty."""
        if self.t_sampler is not None and state:
            self.t_sampler.load_state_dict(state)
