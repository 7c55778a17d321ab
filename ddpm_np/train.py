"""The training loop: Algorithm 1 of Ho et al. 2020, step by step.

    repeat
        x_0 ~ q(x_0)                                     data.batch(rng, B)
        t ~ Uniform({1, …, T}), ε ~ N(0, I)              DiffusionObjective.draw
        gradient step on ∇_θ ‖ε − ε_θ(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t)‖²      DiffusionObjective.loss
    until converged                                                   Trainer.train_step

The step is Adam with warm-up and cosine decay, gradient clipping and an EMA of the weights (for
sampling). On K processes (`mpiexec -n K`) each takes its rows of the batch and one all-reduce
adds up the gradients (the result does not depend on K). Around the loop, in run/: settings,
checkpoints and exact resume, one writer at a time, and Ctrl-C = finish the step, save, stop.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .diffusion import NoiseSchedule, diffusion_loss, sample_training_batch
from .diffusion.hybrid import HybridObjective, check_objective
from .diffusion.losses import NoisyBatch, drop_labels
from .nn.optim import EMA, Adam, clip_grad_norm, warmup_cosine_lr
from .parallel import GradientReducer, share, world as this_world
from .run.checkpoint import save_checkpoint
from .run.config import TrainConfig
from .run.lock import run_held
from .run.state import resume_trainer, run_state
from .run.stopping import TrainingDiverged, TrainingInterrupted, diverged, interrupted, \
    stop_requests

__all__ = ["DiffusionObjective", "TrainConfig", "Trainer", "TrainingDiverged",
           "TrainingInterrupted", "objective_for"]


class DiffusionObjective:
    """Algorithm 1's loss for one minibatch: `draw` makes t ~ U{1..T}, ε ~ N(0, I),
    x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε and the labels (each dropped to "no label" with probability
    `label_dropout`, for classifier-free guidance) once for the whole batch; `loss` is the error
    of the network's prediction (ε, or x_0 or v, `parameterization`), per-t weights `weighting`
    (losses.loss_weights), and its gradient."""

    def __init__(self, schedule: NoiseSchedule, parameterization="eps", label_dropout=0.1,
                 weighting="none", snr_gamma=5.0):
        self.schedule, self.parameterization = schedule, parameterization
        self.label_dropout, self.weighting, self.snr_gamma = label_dropout, weighting, snr_gamma

    def draw(self, model, x0, y, rng) -> NoisyBatch:
        t, eps, xt = sample_training_batch(x0, self.schedule, rng)          # lines 3–4
        return NoisyBatch(x0, t, eps, xt, drop_labels(model, y, self.label_dropout, rng))

    def loss(self, model, b: NoisyBatch):
        out = model(b.xt, b.t, *b.model_labels())                           # ε_θ(x_t, t)
        return diffusion_loss(out, b.x0, b.eps, b.t, self.schedule,          # line 5
                              self.parameterization, self.weighting, self.snr_gamma)


def objective_for(model, schedule: NoiseSchedule, cfg: TrainConfig, processes: int = 1):
    """Algorithm 1's objective for `model`, or L_hybrid's for one that learns its variance
    (diffusion/hybrid.py, where the rules of what goes with it are checked)."""
    learn_sigma = getattr(model, "learn_sigma", False)
    check_objective(learn_sigma, cfg.parameterization, cfg.timesteps,
                    None if cfg.vlb_weight == TrainConfig.vlb_weight else cfg.vlb_weight,
                    processes)
    if learn_sigma:
        return HybridObjective(schedule, cfg.label_dropout, cfg.loss_weighting, cfg.snr_gamma,
                               cfg.timesteps, cfg.vlb_weight)
    return DiffusionObjective(schedule, cfg.parameterization, cfg.label_dropout,
                              cfg.loss_weighting, cfg.snr_gamma)


class Trainer:
    """Owns a run: model, optimizer, EMA, generator, step counter and loss log.

    The objective says what one step minimises: `objective_for(model, schedule, config)` by
    default, or any object with `draw(model, x, y, rng) -> batch` (whose `batch[rows]` are
    those rows) and `loss(model, batch) -> (loss, dL/d output)`, such as
    `tasks.classifier.ClassificationObjective()` (then `schedule` may be None).
    `world`: the processes that train together (default: parallel.world(), one process unless
    started by mpiexec)."""

    def __init__(self, model, schedule: NoiseSchedule | None, data, config: TrainConfig,
                 out_dir=None, meta: dict | None = None, objective=None, world=None):
        self.model, self.schedule, self.data = model, schedule, data
        self.config = config.validate()
        self.world = world or this_world()
        self.rows, self.share = share(self.world, config.batch_size)
        if objective is None:
            if schedule is None:
                raise ValueError("Trainer needs a noise schedule for the diffusion objective")
            objective = objective_for(model, schedule, config, self.world.size)
        self.objective = objective
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.meta = dict(meta or {})
        self.rng = np.random.default_rng(config.seed)
        self.names = [n for n, _ in model.named_parameters()]
        self.params = model.parameters()    # found once: walking the model costs a step 10%
        self.opt = Adam(self.params, lr=config.lr, weight_decay=config.weight_decay)
        self.ema = EMA(self.params, config.ema_decay)
        self.step = 0
        self.log = {"step": [], "loss": [], "lr": [], "grad_norm": []}
        self.reduce_gradients = GradientReducer(self.world, self.params)
        self.stop_signal = 0                # a signal any process received, agreed at a step
        self.checkpoint_is_ours = False     # does checkpoint_path() hold this run's state?

    # -- one step of Algorithm 1 -------------------------------------------------------------
    def train_step(self, stop_signal: int = 0) -> float:
        """One step on the next batch; `stop_signal`: a signal this process received, which
        the processes agree on in the step's all-reduce (`self.stop_signal`)."""
        cfg, k = self.config, self.step + 1
        x0, y = self.data.batch(self.rng, cfg.batch_size)              # line 2, on every rank
        batch = self.objective.draw(self.model, x0, y, self.rng)       # lines 3–4, drawn once
        loss, dout = self.objective.loss(self.model, batch[self.rows])  # line 5, this rank's
        for p in self.params:
            p.grad[...] = 0
        self.model.backward(dout * dout.dtype.type(self.share))
        loss, self.stop_signal = self.reduce_gradients(loss * self.share, stop_signal)
        if not np.isfinite(loss):
            raise TrainingDiverged(f"loss became {loss} at step {k}")
        gnorm = clip_grad_norm(self.params, cfg.grad_clip) if cfg.grad_clip else float(
            np.sqrt(sum(np.sum(p.grad.astype(np.float64) ** 2) for p in self.params)))
        if not np.isfinite(gnorm):
            raise TrainingDiverged(f"gradient norm became {gnorm} at step {k}")
        self.opt.lr = warmup_cosine_lr(k, cfg.lr, cfg.warmup_steps,
                                       cfg.steps if cfg.cosine_decay else None, cfg.min_lr)
        self.opt.step()                                                # line 5's step
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

        Ctrl-C, SIGTERM or SIGHUP finishes the current step, saves, and raises
        TrainingInterrupted (whose message gives the resume command); a second one stops at
        once. A non-finite loss raises TrainingDiverged without saving."""
        cfg = self.config
        end = cfg.steps if stop_at is None else min(stop_at, cfg.steps)
        t0, s0 = time.perf_counter(), self.step
        with run_held(self.world, self.out_dir, self.checkpoint_path()), stop_requests() as stop, \
                tqdm(total=cfg.steps, initial=self.step, desc="train", dynamic_ncols=True,
                     disable=not (progress and self.world.is_root)) as bar:
            while self.step < end:
                try:
                    loss = self.train_step(stop.signum)
                except TrainingDiverged as e:
                    raise diverged(e, self.checkpoint_path(), self.checkpoint_is_ours,
                                   bool(cfg.grad_clip)) from None
                if self.world.size == 1:        # a signal during the step stops this one
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
                    raise interrupted(self.stop_signal, self.step, cfg.steps, self.save())
        return self

    # -- checkpoints (run/state.py) ------------------------------------------------------------
    def checkpoint_path(self) -> Path | None:
        return None if self.out_dir is None else self.out_dir / "checkpoint.npz"

    def save(self, path=None) -> Path | None:
        """Write the run's state to `path` (default: the run's checkpoint) on rank 0; every
        process returns the path, or raises what the write raised."""
        path = Path(path) if path is not None else self.checkpoint_path()
        if path is None:
            return None
        self.world.root_does(lambda: save_checkpoint(path, *run_state(self)))
        self.checkpoint_is_ours |= path == self.checkpoint_path()
        return path

    @classmethod
    def resume(cls, path, data, out_dir=None, steps=None, objective=None, log=None,
               **changes) -> "Trainer":
        """A Trainer rebuilt from a checkpoint, bit for bit; `steps` and `changes` are what a
        resume may change (run/state.py: steps, lr, checkpoint_every, stop_at, timesteps,
        vlb_weight), reported by `log`."""
        return resume_trainer(cls, path, data, out_dir, steps, objective, log, **changes)
