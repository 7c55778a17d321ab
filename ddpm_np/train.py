"""The training loop: Algorithm 1 of Ho et al. 2020, step by step, with the usual care.

    repeat
        x_0 ~ q(x_0)                                     data.batch(rng, B)
        t ~ Uniform({1, …, T}), ε ~ N(0, I)              sample_training_batch
        gradient step on ∇_θ ‖ε − ε_θ(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t)‖²
    until converged

around it: Adam, linear warm-up then cosine decay of the learning rate, gradient clipping, an EMA
of the weights (used for sampling), a tqdm bar (loss, lr, steps/s), a loss log, atomic
checkpoints every k steps and at the end, exact resume (model, optimizer, EMA, step, generator
state: an interrupted-and-resumed run gives bit-identical weights), Ctrl-C = save and stop, and a
clear stop on a non-finite loss that keeps the last good checkpoint.

On K processes (`mpiexec -n K`, parallel/): each process computes its rows of the global batch,
one all-reduce of a flat buffer adds up the gradients (and the loss, and any stop request), and
every process takes the same step; rank 0 alone writes checkpoints and shows the bar. The
result does not depend on K (parallel/sharding.py), and a checkpoint resumes under any K.
"""
from __future__ import annotations

import dataclasses
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .checks import check_float, check_int
from .checkpoint import (CheckpointError, load_checkpoint, prefixed, remove_stale_temporaries,
                         save_checkpoint, section)
from .data.batching import ArrayDataset  # noqa: F401  (its home before data/batching.py)
from .diffusion import NoiseSchedule, diffusion_loss, sample_training_batch
from .diffusion.param import check_parameterization
from .loading import model_from_checkpoint
from .loading import export_for_sampling, load_for_sampling  # noqa: F401  (their home before)
from .models import model_kind
from .nn.loss import softmax_cross_entropy
from .nn.optim import EMA, Adam, clip_grad_norm, warmup_cosine_lr
from .parallel import share, world as this_world


class TrainingDiverged(RuntimeError):
    """The loss or the gradient became NaN/Inf."""


class TrainingInterrupted(RuntimeError):
    """Ctrl-C or SIGTERM: a checkpoint was saved; the message says how to resume. `signum` is
    the signal that stopped the run."""

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
        return self


class DiffusionObjective:
    """Algorithm 1's loss for one minibatch: t ~ U{1..T}, ε ~ N(0, I), x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε,
    and the error of the network's prediction (ε, or x_0 or v, `parameterization`). For a
    class-conditional model each label is replaced by "no label" with probability
    `label_dropout`, so that one network learns ε(x_t, y) and ε(x_t, ∅) (classifier-free
    guidance)."""

    def __init__(self, schedule: NoiseSchedule, parameterization="eps", label_dropout=0.1):
        self.schedule = schedule
        self.parameterization = check_parameterization(parameterization)
        self.label_dropout = label_dropout

    def __call__(self, model, x0, y, rng, rows=slice(None)):
        """(loss, dL/d output) for the rows `rows` of the batch (x0, y). The random draws are
        made for the whole batch, whatever the rows, so that they do not depend on how a
        batch is split across processes."""
        t, eps, xt = sample_training_batch(x0, self.schedule, rng)
        if getattr(model, "num_classes", None) is not None:
            drop = rng.random(len(y)) < self.label_dropout
            out = model(xt[rows], t[rows], np.where(drop, model.num_classes, y)[rows])
        else:
            out = model(xt[rows], t[rows])
        return diffusion_loss(out, x0[rows], eps[rows], t[rows], self.schedule,
                              self.parameterization)


class ClassificationObjective:
    """Softmax cross-entropy of the model's logits against integer labels."""

    def __call__(self, model, x, y, rng, rows=slice(None)):
        return softmax_cross_entropy(model(x[rows]), y[rows])


class Trainer:
    """Owns a run: model, optimizer, EMA, generator, step counter and loss log.

    The objective says what one step minimises: Algorithm 1 by default (`DiffusionObjective` on
    `schedule`), or any callable `objective(model, x, y, rng, rows) -> (loss, dL/d output)` on
    the rows `rows` of the batch, such as `ClassificationObjective()` (then `schedule` may be
    None). `world`: the processes that train together (default: parallel.world(), one process
    unless started by mpiexec)."""

    def __init__(self, model, schedule: NoiseSchedule | None, data, config: TrainConfig,
                 out_dir=None, meta: dict | None = None, objective=None, world=None):
        self.model, self.schedule, self.data = model, schedule, data
        if objective is None:
            if schedule is None:
                raise ValueError("Trainer needs a noise schedule for the diffusion objective")
            objective = DiffusionObjective(schedule, config.parameterization, config.label_dropout)
        self.objective = objective
        self.config = config.validate()
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.meta = dict(meta or {})
        self.rng = np.random.default_rng(config.seed)
        self.names = [n for n, _ in model.named_parameters()]
        params = model.parameters()
        self.opt = Adam(params, lr=config.lr, weight_decay=config.weight_decay)
        self.ema = EMA(params, config.ema_decay)
        self.step = 0
        self.log = {"step": [], "loss": [], "lr": [], "grad_norm": []}
        self._checkpoint_is_ours = False    # does checkpoint_path() hold this run's state?
        self.world = world or this_world()
        self.stop_signal = 0                # a signal this process received (0: none)
        self.stop_agreed = 0                # a signal any process received, agreed at a step
        self.reduce_seconds = 0.0           # time spent in the all-reduce, for reports
        self.reduce_calls = 0
        self._flat = None                   # gradients, loss and stop request, to all-reduce

    # -- one step of Algorithm 1 -------------------------------------------------------------
    def train_step(self) -> float:
        cfg, model = self.config, self.model
        k = self.step + 1
        x0, y = self.data.batch(self.rng, cfg.batch_size)      # the global batch, on every rank
        rows, weight = share(self.world, cfg.batch_size)
        loss, dout = self.objective(model, x0, y, self.rng, rows)
        model.zero_grad()
        if self.world.size == 1:
            if not np.isfinite(loss):
                raise TrainingDiverged(f"loss became {loss} at step {k}")
            model.backward(dout)
        else:
            model.backward(dout * dout.dtype.type(weight))
            loss = self._all_reduce(loss * weight)
            if not np.isfinite(loss):
                raise TrainingDiverged(f"loss became {loss} at step {k}")
        gnorm = clip_grad_norm(model.parameters(), cfg.grad_clip) if cfg.grad_clip else float(
            np.sqrt(sum(np.sum(p.grad.astype(np.float64) ** 2) for p in model.parameters())))
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

    def _all_reduce(self, loss_share: float) -> float:
        """Sum, over the processes, the gradients (each already weighted by its share of the
        batch), the weighted losses and the stop requests, in one call on one flat buffer;
        returns the loss of the global batch and sets `stop_agreed`."""
        params = self.model.parameters()
        if self._flat is None:
            self._flat = np.empty(sum(p.grad.size for p in params) + 2, params[0].grad.dtype)
        flat, start = self._flat, 0
        for p in params:
            flat[start:start + p.grad.size] = p.grad.ravel()
            start += p.grad.size
        flat[-2:] = loss_share, self.stop_signal
        t0 = time.perf_counter()
        self.world.allreduce_sum(flat)
        self.reduce_seconds += time.perf_counter() - t0
        self.reduce_calls += 1
        start = 0
        for p in params:
            p.grad[...] = flat[start:start + p.grad.size].reshape(p.grad.shape)
            start += p.grad.size
        self.stop_agreed = (self.stop_signal or signal.SIGTERM) if flat[-1] else 0
        return float(flat[-2])

    def gradient_bytes(self) -> int:
        """Bytes all-reduced per step."""
        return sum(p.grad.nbytes for p in self.model.parameters())

    # -- the loop ------------------------------------------------------------------------------
    def run(self, progress: bool = True, on_checkpoint=None, stop_at: int | None = None
            ) -> "Trainer":
        """Train until `config.steps` (or an earlier `stop_at`, leaving the run resumable);
        checkpoint every `checkpoint_every` steps and where it stops, then call
        `on_checkpoint(self)` (on every process: its writes go through `self.world`).

        Ctrl-C (SIGINT) or SIGTERM (what `timeout` and batch systems send) finishes the current
        step, saves, and raises TrainingInterrupted (whose message gives the resume command); a
        second one stops at once. A non-finite loss raises TrainingDiverged without saving.
        Temporary files that an earlier, killed write left beside the checkpoint are removed.
        """
        cfg, root = self.config, self.world.is_root
        if self.checkpoint_path() is not None:
            self.world.root_does(lambda: remove_stale_temporaries(self.checkpoint_path()))
        self.stop_signal = self.stop_agreed = 0
        old_handlers = {}
        if threading.current_thread() is threading.main_thread():
            def handler(signum, frame):
                if self.stop_signal:        # a second signal stops at once
                    raise KeyboardInterrupt
                self.stop_signal = signum
            for sig in (signal.SIGINT, signal.SIGTERM):
                old_handlers[sig] = signal.signal(sig, handler)
        bar = tqdm(total=cfg.steps, initial=self.step, disable=not (progress and root),
                   desc="train", dynamic_ncols=True)
        t0, s0 = time.perf_counter(), self.step
        end = cfg.steps if stop_at is None else min(stop_at, cfg.steps)
        try:
            while self.step < end:
                try:
                    loss = self.train_step()
                except TrainingDiverged as e:
                    last = self.checkpoint_path()
                    kept = (f"; the last good checkpoint of this run, {last}, is kept"
                            if self._checkpoint_is_ours else "; no checkpoint was written")
                    hint = ("Lower the learning rate" if cfg.grad_clip else
                            "Lower the learning rate or enable gradient clipping")
                    raise TrainingDiverged(f"{e}{kept}. {hint}.") from None
                bar.update(1)
                if self.step % 10 == 0 or self.step == cfg.steps:
                    rate = (self.step - s0) / max(time.perf_counter() - t0, 1e-9)
                    bar.set_postfix(loss=f"{loss:.4f}", lr=f"{self.opt.lr:.2e}",
                                    it_s=f"{rate:.1f}")
                if self.step % cfg.checkpoint_every == 0 or self.step == end:
                    self.save()
                    if on_checkpoint is not None:
                        on_checkpoint(self)
                if self.world.size == 1:
                    self.stop_agreed = self.stop_signal
                if self.stop_agreed:
                    path = self.save()
                    name = signal.Signals(self.stop_agreed).name
                    how = (f"checkpoint saved to {path}. Resume with: ddpm-np train --resume "
                           f"{path}" if path else "no checkpoint folder was given")
                    raise TrainingInterrupted(
                        f"interrupted ({name}) at step {self.step}/{cfg.steps}; {how}",
                        self.stop_agreed)
        finally:
            bar.close()
            for sig, old in old_handlers.items():
                signal.signal(sig, old)
        return self

    # -- checkpoints ----------------------------------------------------------------------------
    def checkpoint_path(self) -> Path | None:
        return None if self.out_dir is None else self.out_dir / "checkpoint.npz"

    def save(self, path=None) -> Path | None:
        """Write the run's state to `path` (default: the run's checkpoint) on rank 0; every
        process returns the path, or raises what the write raised."""
        path = Path(path) if path is not None else self.checkpoint_path()
        if path is None:
            return None
        self.world.root_does(lambda: self._write(path))
        if path == self.checkpoint_path():
            self._checkpoint_is_ours = True
        return path

    def _write(self, path):
        arrays = {}
        arrays.update(prefixed("model", self.model.state_dict()))
        arrays.update(prefixed("ema", dict(zip(self.names, self.ema.shadow))))
        arrays.update(prefixed("opt", self.opt.state_dict()))
        if hasattr(self.model, "buffers"):
            arrays.update(prefixed("buffer", self.model.buffers()))
        arrays.update(prefixed("log", {k: np.asarray(v) for k, v in self.log.items()}))
        meta = dict(self.meta, step=self.step,
                    model={"kind": model_kind(self.model), "config": self.model.config()},
                    schedule=None if self.schedule is None else self.schedule.to_dict(),
                    train_config=dataclasses.asdict(self.config),
                    rng_state=self.rng.bit_generator.state,
                    data=getattr(self.data, "description", {}))
        save_checkpoint(path, arrays, meta)

    @classmethod
    def resume(cls, path, data, out_dir=None, steps: int | None = None, objective=None
               ) -> "Trainer":
        """Rebuild a Trainer from a checkpoint; `steps` may extend the run; `objective` as in
        the constructor."""
        arrays, meta = load_checkpoint(path)
        model = model_from_checkpoint(arrays, meta, weights="model")
        try:
            cfg = TrainConfig(**meta["train_config"])
            if steps is not None:
                cfg.steps = steps
            cfg.validate()
            schedule = None if meta.get("schedule") is None else NoiseSchedule.from_dict(
                meta["schedule"])
            extra = {k: v for k, v in meta.items() if k not in (
                "step", "model", "schedule", "train_config", "rng_state", "data", "format",
                "version")}
            trainer = cls(model, schedule, data, cfg, out_dir or Path(path).parent, extra,
                          objective)
            trainer.opt.load_state_dict(section(arrays, "opt"))
            ema = section(arrays, "ema")
            ema_state = {f"shadow.{i}": ema[n] for i, n in enumerate(trainer.names)}
            trainer.step = check_int(meta["step"], "step", low=0)
            trainer.ema.load_state_dict(dict(ema_state, num_updates=trainer.step))
            trainer.rng.bit_generator.state = meta["rng_state"]
            trainer.log = {k: list(v.tolist()) for k, v in section(arrays, "log").items()}
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"checkpoint {path} cannot resume training: its metadata or "
                                  f"state is damaged ({type(e).__name__}: {e})") from None
        trainer._checkpoint_is_ours = Path(path) == trainer.checkpoint_path()
        return trainer
