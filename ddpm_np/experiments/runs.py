"""Training runs by dataset name: what `ddpm-np train` does, as a function a Python user can call.

`train_run(dataset="spiral")` trains the 2-D MLP with the toy defaults; `train_run("mnist")` the
class-conditional UNet (`mnist_train.train_mnist`); `train_run(resume="runs/x/checkpoint.npz")`
continues a run from its checkpoint, on the dataset the checkpoint names.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..checkpoint import load_checkpoint
from ..data import toy2d
from ..data.batching import ArrayDataset
from ..models import MLP
from ..train import TrainConfig, Trainer
from .toy import N_TRAIN, STEPS, toy_schedule

DATASETS = toy2d.NAMES + ("mnist",)


class RunError(Exception):
    """A run that cannot start as asked (the message says why and what is allowed)."""


def toy_data(name: str, seed: int) -> ArrayDataset:
    """The training set of a toy run: N_TRAIN points, drawn from the seed's first child stream
    (the same points `ddpm-np demo NAME --seed S` trains on)."""
    x = toy2d.sample(name, N_TRAIN, np.random.default_rng(seed).spawn(4)[0])
    return ArrayDataset(x, description={"dataset": name, "n": N_TRAIN, "seed": seed})


def default_out(dataset: str) -> Path:
    return Path("runs") / f"train-{dataset}"


def train_run(dataset: str | None = None, resume=None, out=None, steps: int | None = None,
              seed: int = 0, data_dir=None, progress: bool = True, stop_at: int | None = None,
              batch_size: int = 256, lr: float = 2e-3, hidden: int = 128, blocks: int = 3,
              T: int = 200, parameterization: str = "eps", checkpoint_every: int = 1000,
              log=print) -> Trainer:
    """Train (or resume) a run and return its Trainer.

    MNIST takes its own configuration (`mnist_train.MNIST_TRAIN`): of the arguments above it
    uses steps, seed, data_dir, stop_at. The 2-D datasets use the rest (model width `hidden`,
    `blocks` residual blocks, T diffusion steps).
    """
    if resume is not None:
        _, meta = load_checkpoint(resume)
        d = meta.get("data", {})
        if d.get("dataset") == "mnist":
            return _mnist(Path(resume).parent, steps, seed, data_dir, progress, stop_at)
        if d.get("dataset") not in toy2d.NAMES:
            raise RunError(f"cannot resume: the checkpoint's dataset {d.get('dataset')!r} is "
                           f"none of {', '.join(DATASETS)}")
        trainer = Trainer.resume(resume, toy_data(d["dataset"], d["seed"]),
                                 out_dir=Path(out) if out else None, steps=steps)
        log(f"resuming {resume} at step {trainer.step}/{trainer.config.steps}")
    elif dataset is None:
        raise RunError("give a dataset (--dataset NAME) or a checkpoint to resume (--resume)")
    elif dataset == "mnist":
        return _mnist(Path(out) if out else default_out("mnist"), steps, seed, data_dir,
                      progress, stop_at)
    else:
        toy2d.check_name(dataset)
        cfg = TrainConfig(steps=steps or STEPS[dataset], batch_size=batch_size, lr=lr, seed=seed,
                          checkpoint_every=checkpoint_every, parameterization=parameterization)
        model = MLP(dim=2, hidden=hidden, num_blocks=blocks,
                    rng=np.random.default_rng(seed).spawn(4)[1])
        trainer = Trainer(model, toy_schedule(T), toy_data(dataset, seed), cfg,
                          Path(out) if out else default_out(dataset), meta={"command": "train"})
    trainer.run(progress=progress, stop_at=stop_at)
    return trainer


def _mnist(out, steps, seed, data_dir, progress, stop_at) -> Trainer:
    from .mnist_train import train_mnist
    return train_mnist(out, steps=steps, seed=seed, data_dir=data_dir, progress=progress,
                       stop_at=stop_at)
