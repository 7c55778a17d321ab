"""The training loop: Algorithm 1 of Ho et al. 2020, step by step.

    repeat
        x_0 ~ q(x_0)                                     data.batch(rng, B)
        t ~ Uniform({1, …, T}), ε ~ N(0, I)              sample_training_batch
        gradient step on ∇_θ ‖ε − ε_θ(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t)‖²      DiffusionObjective
    until converged                                                   Trainer.train_step

The step is Adam with a linear warm-up then cosine decay of the learning rate, gradient clipping
and an EMA of the weights (used for sampling). Around the loop, each in its own file: the
checkpoint every k steps and exact resume (saving.py), Ctrl-C, SIGTERM or SIGHUP = finish the
step, save and stop (stopping.py), and on K processes (`mpiexec -n K`) one all-reduce of the
gradients a step (parallel/reduce.py; the result does not depend on K).
"""
from __future__ import annotations

import shlex
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .checkpoint import remove_stale_temporaries, save_checkpoint
from .checks import check_float, check_int
from .diffusion import NoiseSchedule, diffusion_loss, q_sample, sample_training_batch
from .diffusion.learned_variance import LAMBDA, hybrid_loss
from .diffusion.losses import WEIGHTINGS, loss_weights
from .diffusion.param import check_parameterization
from .diffusion.timestep_sampling import (HYBRID_UNIFORM_SHARE, SAMPLINGS,
                                          LossSecondMomentSampler)
from .nn.optim import EMA, Adam, clip_grad_norm, warmup_cosine_lr
from .parallel import GradientReducer, share, world as this_world
from .saving import RunLock, damaged, read_run, resume_changes, run_state
from .stopping import stop_requests


class TrainingDiverged(RuntimeError):
    """The loss or the gradient became NaN/Inf."""


class TrainingInterrupted(RuntimeError):
    """Ctrl-C, SIGTERM or SIGHUP: a checkpoint was saved; the message says how to resume.
    `signum` is the signal that stopped the run."""

    def __init__(self, message, signum=signal.SIGINT):
        super().__init__(message)
        self.signum = int(signum)


@dataclass
class TrainConfig:
    """Hyper-parameters of a run (all stored in the checkpoint)."""
    steps: int = 5000
    batch_size: int = 256
    lr: float = 2e-3
    warmup_steps: int = 100
    cosine_decay: bool = True        # decay to min_lr at `steps`, else constant after warm-up
    min_lr: float = 1e-5
    grad_clip: float = 1.0           # max global gradient norm (0 = off)
    weight_decay: float = 0.0
    ema_decay: float = 0.999
    parameterization: str = "eps"    # what the network predicts: eps | x0 | v
    loss_weighting: str = "none"     # none | min_snr (Hang et al. 2023: min(SNR, γ) per t)
    snr_gamma: float = 5.0           # γ of min_snr
    timesteps: str = "uniform"       # uniform | importance (L_vlb's t, Nichol & Dhariwal §3.3)
    vlb_weight: float = LAMBDA       # λ of L_hybrid = L_simple + λ·L_vlb (learned variance only)
    label_dropout: float = 0.1       # class-conditional models: P(label → "no label")
    checkpoint_every: int = 1000
    seed: int = 0

    def validate(self):
        """Check every field (ValueError naming the first bad one); returns self."""
        for name in ("steps", "batch_size", "checkpoint_every"):
            check_int(getattr(self, name), name)
        check_int(self.warmup_steps, "warmup_steps", low=0)
        check_int(self.seed, "seed", low=0)
        check_float(self.lr, "lr", low=0, strict=True)
        check_float(self.min_lr, "min_lr", low=0)
        check_float(self.grad_clip, "grad_clip", low=0)
        check_float(self.weight_decay, "weight_decay", low=0)
        check_float(self.ema_decay, "ema_decay", low=0, high=0.999999)
        check_float(self.label_dropout, "label_dropout", low=0, high=1)
        check_parameterization(self.parameterization)
        if self.loss_weighting not in WEIGHTINGS:
            raise ValueError(f"loss_weighting must be one of {', '.join(WEIGHTINGS)}, got "
                             f"{self.loss_weighting!r}")
        check_float(self.snr_gamma, "snr_gamma", low=0, strict=True)
        check_float(self.vlb_weight, "vlb_weight", low=0, strict=True)
        if self.timesteps not in SAMPLINGS:
            raise ValueError(f"timesteps must be one of {', '.join(SAMPLINGS)}, got "
                             f"{self.timesteps!r}")
        return self


class DiffusionObjective:
    """Algorithm 1's loss for one minibatch: t ~ U{1..T}, ε ~ N(0, I), x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε,
    and the error of the network's prediction (ε, or x_0 or v, `parameterization`). For a
    class-conditional model each label is replaced by "no label" with probability
    `label_dropout`, so that one network learns ε(x_t, y) and ε(x_t, ∅) (classifier-free
    guidance). `weighting` and `snr_gamma`: per-t weights of the error (`loss_weights`).
    `timesteps="importance"` (a learned-variance model): t ~ p_t of L_vlb's terms, half of p_t
    kept uniform, and both terms of L_hybrid weighted by 1/(T·p_t), so that both stay unbiased
    (timestep_sampling.py); the sampler's history is part of the run's state (`state_dict`).
    `vlb_weight`: λ of L_hybrid (learned_variance.py), for a learned-variance model."""

    def __init__(self, schedule: NoiseSchedule, parameterization="eps", label_dropout=0.1,
                 weighting="none", snr_gamma=5.0, timesteps="uniform", vlb_weight=LAMBDA):
        self.schedule = schedule
        self.vlb_weight = vlb_weight
        self.parameterization = check_parameterization(parameterization)
        self.label_dropout = label_dropout
        self.weighting, self.snr_gamma = weighting, snr_gamma
        if timesteps not in SAMPLINGS:
            raise ValueError(f"timesteps must be one of {', '.join(SAMPLINGS)}, got "
                             f"{timesteps!r}")
        self.sampler = LossSecondMomentSampler(schedule.T, uniform_share=HYBRID_UNIFORM_SHARE) \
            if timesteps == "importance" else None

    def __call__(self, model, x0, y, rng, rows=slice(None)):
        """(loss, dL/d output) for the rows `rows` of the batch (x0, y). The random draws are
        made for the whole batch, whatever the rows, so that they do not depend on how a
        batch is split across processes."""
        if self.sampler is None:
            t, eps, xt = sample_training_batch(x0, self.schedule, rng)
        else:
            t, importance = self.sampler.draw(rng, x0.shape[0])
            eps = rng.standard_normal(x0.shape).astype(x0.dtype)
            xt = q_sample(x0, t, eps, self.schedule)
        if getattr(model, "num_classes", None) is not None:
            drop = rng.random(len(y)) < self.label_dropout
            out = model(xt[rows], t[rows], np.where(drop, model.num_classes, y)[rows])
        else:
            out = model(xt[rows], t[rows])
        if getattr(model, "learn_sigma", False):         # L_hybrid (learned_variance.py)
            weights = None if self.weighting == "none" else loss_weights(
                t[rows], self.schedule, "eps", self.weighting, self.snr_gamma)
            if self.sampler is None:
                return hybrid_loss(out, x0[rows], eps[rows], xt[rows], t[rows], self.schedule,
                                   lam=self.vlb_weight, weights=weights)
            w = importance[rows]
            loss, d_out, terms = hybrid_loss(out, x0[rows], eps[rows], xt[rows], t[rows],
                                             self.schedule, lam=self.vlb_weight,
                                             vlb_weights=w, terms=True,
                                             weights=w if weights is None else w * weights)
            self.sampler.update(t[rows], terms)
            return loss, d_out
        if self.sampler is not None:
            raise ValueError("importance-sampled t weighs the terms of L_vlb: it needs a network "
                             "that learns the variance")
        return diffusion_loss(out, x0[rows], eps[rows], t[rows], self.schedule,
                              self.parameterization, self.weighting, self.snr_gamma)

    def state_dict(self) -> dict:
        """The importance sampler's history ({} with uniform t)."""
        return {} if self.sampler is None else self.sampler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        """Restore `state_dict`; {} (a run saved with uniform t) leaves the history empty."""
        if self.sampler is not None and state:
            self.sampler.load_state_dict(state)


class Trainer:
    """Owns a run: model, optimizer, EMA, generator, step counter and loss log.

    The objective says what one step minimises: Algorithm 1 by default (`DiffusionObjective` on
    `schedule`), or any callable `objective(model, x, y, rng, rows) -> (loss, dL/d output)` on
    the rows `rows` of the batch, such as `experiments.classifier.ClassificationObjective()`
    (then `schedule` may be None). `world`: the processes that train together (default:
    parallel.world(), one process unless started by mpiexec)."""

    def __init__(self, model, schedule: NoiseSchedule | None, data, config: TrainConfig,
                 out_dir=None, meta: dict | None = None, objective=None, world=None):
        self.model, self.schedule, self.data = model, schedule, data
        if objective is None:
            if schedule is None:
                raise ValueError("Trainer needs a noise schedule for the diffusion objective")
            objective = DiffusionObjective(schedule, config.parameterization,
                                           config.label_dropout, config.loss_weighting,
                                           config.snr_gamma, config.timesteps,
                                           config.vlb_weight)
        self.objective = objective
        self.config = config.validate()
        if getattr(model, "learn_sigma", False) and config.parameterization != "eps":
            raise ValueError("a network that learns the variance predicts ε: use "
                             f"parameterization 'eps', not {config.parameterization!r}")
        if config.timesteps != "uniform" and not getattr(model, "learn_sigma", False):
            raise ValueError(f"timesteps {config.timesteps!r} samples the terms of L_vlb, which "
                             "only a network that learns the variance is trained with: use "
                             "'uniform' (or learn the variance)")
        if config.vlb_weight != LAMBDA and not getattr(model, "learn_sigma", False):
            raise ValueError(f"vlb_weight {config.vlb_weight:g} weighs L_vlb, which only a "
                             "network that learns the variance is trained with: leave it at "
                             f"{LAMBDA:g} (or learn the variance)")
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.meta = dict(meta or {})
        self.rng = np.random.default_rng(config.seed)
        self.names = [n for n, _ in model.named_parameters()]
        self.params = model.parameters()    # found once: walking the model costs a step 10%
        self.opt = Adam(self.params, lr=config.lr, weight_decay=config.weight_decay)
        self.ema = EMA(self.params, config.ema_decay)
        self.step = 0
        self.log = {"step": [], "loss": [], "lr": [], "grad_norm": []}
        self.world = world or this_world()
        if self.world.size > config.batch_size:
            raise ValueError(f"batch size {config.batch_size} is smaller than the "
                             f"{self.world.size} processes, which need a row each: use a batch "
                             f"of at least {self.world.size} or fewer processes")
        if config.timesteps != "uniform" and self.world.size > 1:
            raise ValueError(f"timesteps {config.timesteps!r} runs in one process (each process "
                             f"would keep its own history of the terms), not "
                             f"{self.world.size}: use 'uniform' under mpiexec")
        self.reduce_gradients = GradientReducer(self.world, self.params)
        self.stop_signal = 0                # a signal any process received, agreed at a step
        self._checkpoint_is_ours = False    # does checkpoint_path() hold this run's state?

    # -- one step of Algorithm 1 -------------------------------------------------------------
    def train_step(self, stop_signal: int = 0) -> float:
        """One step on the next batch; `stop_signal`: a signal this process received, which
        the processes agree on in the step's all-reduce (`self.stop_signal`)."""
        cfg, model = self.config, self.model
        k = self.step + 1
        x0, y = self.data.batch(self.rng, cfg.batch_size)      # the global batch, on every rank
        rows, weight = share(self.world, cfg.batch_size)
        loss, dout = self.objective(model, x0, y, self.rng, rows)
        for p in self.params:
            p.grad[...] = 0
        if self.world.size == 1:
            model.backward(dout)
            self.stop_signal = stop_signal
        else:
            model.backward(dout * dout.dtype.type(weight))
            loss, self.stop_signal = self.reduce_gradients(loss * weight, stop_signal)
        if not np.isfinite(loss):
            raise TrainingDiverged(f"loss became {loss} at step {k}")
        gnorm = clip_grad_norm(self.params, cfg.grad_clip) if cfg.grad_clip else float(
            np.sqrt(sum(np.sum(p.grad.astype(np.float64) ** 2) for p in self.params)))
        if not np.isfinite(gnorm):
            raise TrainingDiverged(f"gradient norm became {gnorm} at step {k}")
        self.opt.lr = warmup_cosine_lr(k, cfg.lr, cfg.warmup_steps,
                                       cfg.steps if cfg.cosine_decay else None, cfg.min_lr)
        self.opt.step()
        self.ema.update()
        self.step = k
        for key, v in (("step", k), ("loss", loss), ("lr", self.opt.lr), ("grad_norm", gnorm)):
            self.log[key].append(v)
        return loss

    # -- the loop ------------------------------------------------------------------------------
    def run(self, progress: bool = True, on_checkpoint=None, stop_at: int | None = None
            ) -> "Trainer":
        """Train until `config.steps` (or an earlier `stop_at`, leaving the run resumable);
        checkpoint every `checkpoint_every` steps and where it stops, then call
        `on_checkpoint(self)` (on every process: its writes go through `self.world`).

        Ctrl-C, SIGTERM or SIGHUP finishes the current step, saves, and raises TrainingInterrupted
        (whose message gives the resume command); a second one stops at once. A non-finite loss
        raises TrainingDiverged without saving.
        """
        cfg = self.config
        lock = RunLock(self.out_dir) if self.out_dir is not None else None
        if lock is not None:
            # one writer at a time; then what an earlier, killed write left can go
            self.world.root_does(lock.acquire)
            self.world.root_does(lambda: remove_stale_temporaries(self.checkpoint_path()))
        try:
            return self._loop(cfg, progress, on_checkpoint, stop_at)
        finally:
            if lock is not None:
                lock.release()

    def _loop(self, cfg, progress, on_checkpoint, stop_at) -> "Trainer":
        end = cfg.steps if stop_at is None else min(stop_at, cfg.steps)
        bar = tqdm(total=cfg.steps, initial=self.step, desc="train", dynamic_ncols=True,
                   disable=not (progress and self.world.is_root))
        t0, s0 = time.perf_counter(), self.step
        with stop_requests() as stop, bar:
            while self.step < end:
                loss = self._step_or_explain(stop.signum)
                if self.world.size == 1:    # one process: no need to wait for an all-reduce
                    self.stop_signal = stop.signum
                bar.update(1)
                if self.step % 10 == 0 or self.step == cfg.steps:
                    rate = (self.step - s0) / max(time.perf_counter() - t0, 1e-9)
                    bar.set_postfix(loss=f"{loss:.4f}", lr=f"{self.opt.lr:.2e}",
                                    it_s=f"{rate:.1f}")
                if self.step % cfg.checkpoint_every == 0 or self.step == end:
                    self.save()
                    if on_checkpoint is not None:
                        on_checkpoint(self)
                if self.stop_signal:
                    raise self._interrupted()
        return self

    def _step_or_explain(self, signum) -> float:
        try:
            return self.train_step(signum)
        except TrainingDiverged as e:
            kept = (f"; the last good checkpoint of this run, {self.checkpoint_path()}, is kept"
                    if self._checkpoint_is_ours else "; no checkpoint was written")
            hint = ("Lower the learning rate" if self.config.grad_clip else
                    "Lower the learning rate or enable gradient clipping")
            raise TrainingDiverged(f"{e}{kept}. {hint}.") from None

    def _interrupted(self) -> "TrainingInterrupted":
        path = self.save()
        how = (f"checkpoint saved to {path}. Resume with: ddpm-np train --resume "
               f"{shlex.quote(str(path))}"
               if path else "no checkpoint folder was given")
        return TrainingInterrupted(f"interrupted ({signal.Signals(self.stop_signal).name}) at "
                                   f"step {self.step}/{self.config.steps}; {how}",
                                   self.stop_signal)

    # -- checkpoints (saving.py) ---------------------------------------------------------------
    def checkpoint_path(self) -> Path | None:
        return None if self.out_dir is None else self.out_dir / "checkpoint.npz"

    def save(self, path=None) -> Path | None:
        """Write the run's state to `path` (default: the run's checkpoint) on rank 0; every
        process returns the path, or raises what the write raised."""
        path = Path(path) if path is not None else self.checkpoint_path()
        if path is None:
            return None
        self.world.root_does(lambda: save_checkpoint(path, *run_state(self)))
        if path == self.checkpoint_path():
            self._checkpoint_is_ours = True
        return path

    @classmethod
    def resume(cls, path, data, out_dir=None, steps=None, objective=None, log=None,
               timesteps=None, vlb_weight=None, **changes) -> "Trainer":
        """Rebuild a Trainer from a checkpoint, bit for bit; `steps` and `changes` are what a
        resume may change (saving.resume_changes: steps, lr, checkpoint_every, stop_at), and
        the objective's `timesteps` (how t is drawn; importance sampling resumed from a uniform
        run starts with an empty history) and `vlb_weight` (λ), reported by `log`."""
        saved = read_run(path)
        try:
            cfg = TrainConfig(**saved.train_config).validate()
        except (TypeError, ValueError) as e:
            raise damaged(path, e) from None
        objective_changes = {k: v for k, v in (("timesteps", timesteps),
                                               ("vlb_weight", vlb_weight)) if v is not None}
        before = {k: getattr(cfg, k) for k in objective_changes}
        for name, value in objective_changes.items():
            setattr(cfg, name, value)
        cfg.validate()
        trainer = cls(saved.model, saved.schedule, data, cfg, out_dir or Path(path).parent,
                      saved.extra_meta, objective)
        saved.restore(trainer)
        made = resume_changes(trainer.config, trainer.step, path, steps, **changes)
        made += [f"{k} {before[k]} → {v}" for k, v in objective_changes.items()
                 if v != before[k]]
        trainer._checkpoint_is_ours = Path(path) == trainer.checkpoint_path()
        if log is not None:
            log(f"resuming {path} at step {trainer.step}/{cfg.steps}"
                + (f" ({'; '.join(made)})" if made else ""))
        return trainer
