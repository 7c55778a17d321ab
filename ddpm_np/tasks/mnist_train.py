"""MNIST training: the class-conditional UNet trained with the shared Trainer, and sample grids
along the way. `train_mnist(out_dir, steps=...)` reproduces the shipped model (README)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.batching import ArrayDataset
from ..data.mnist import load_mnist, to_model_range
from ..diffusion import NoiseSchedule, as_eps_model
from ..models import UNet
from ..parallel import on_root, sharded
from ..checks import check_memory
from ..train import TrainConfig, Trainer
from .mnist_sample import GUIDANCE, sample_images

MNIST_TRAIN = dict(steps=6000, batch_size=64, lr=5e-4, warmup_steps=200, min_lr=5e-5,
                   grad_clip=1.0, ema_decay=0.999, label_dropout=0.1, checkpoint_every=250)

GRIDS = "grid_step*.png"                    # the sample grid at each checkpoint
RUN_FILES = ("checkpoint.npz", "checkpoint.json", GRIDS)     # what a run writes


# Recipes by name (`ddpm-np train --dataset mnist --preset NAME`): changes to MNIST_TRAIN and
# to the model; options given beside a preset win. "short": the step count that fits 15 minutes
# of a 2-core machine (0.6 s a Trainer step, measured), with the levers that paid at that
# budget (docs/results.md, "Quality per CPU-minute").
PRESETS = {"short": dict(steps=1500, loss_weighting="min_snr")}

SCHEDULES = ("linear", "cosine")
CLASSES = {"mnist": list("0123456789"),
           "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                             "Shirt", "Sneaker", "Bag", "Ankle boot"]}


def mnist_schedule(kind: str = "linear") -> NoiseSchedule:
    """T = 1000: Ho et al.'s β linear 1e-4 → 0.02, or Nichol & Dhariwal's cosine ᾱ_t."""
    if kind not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {kind!r}")
    return NoiseSchedule.linear(1000) if kind == "linear" else NoiseSchedule.cosine(1000)


def mnist_model(rng, conditional: bool = True, learn_sigma: bool = False) -> UNet:
    """The default UNet (base 32, mults 1-2-4, attention at 7×7), class-conditional; with
    `learn_sigma`, it outputs v beside ε (the learned variance)."""
    return UNet(num_classes=10 if conditional else None, rng=rng, learn_sigma=learn_sigma)


def sample_grid_callback(out_dir: Path, n_per_class: int = 6, steps: int = 50, seed: int = 0):
    """A Trainer.on_checkpoint hook that writes a DDIM sample grid (EMA weights) per checkpoint."""
    from ..plotting import image_grid

    def hook(trainer):
        if trainer.step % 1000 and trainer.step != trainer.config.steps:
            return
        y = np.repeat(np.arange(10), n_per_class)
        trainer.ema.swap()
        trainer.model.eval()            # no caches while sampling
        try:       # on K processes, each samples its share of the grid
            net = as_eps_model(trainer.model, trainer.schedule,
                               trainer.config.parameterization)
            x = sample_images(sharded(net, trainer.world), trainer.schedule, len(y),
                              np.random.default_rng(seed), y, GUIDANCE, "ddim", steps,
                              progress=False)
        finally:
            trainer.model.train()
            trainer.ema.swap()
        on_root(image_grid)(x, out_dir / f"grid_step{trainer.step:06d}.png", nrow=n_per_class,
                   title=f"step {trainer.step}, DDIM-{steps}, guidance {GUIDANCE}",
                   row_labels=trainer.data.description.get("classes") or list(map(str, range(10))))
    return hook


def train_mnist(out_dir, steps: int | None = None, seed: int = 0, data_dir=None,
                progress: bool = True, resume_from=None, stop_at: int | None = None,
                overwrite: bool = False, log=print, learn_sigma: bool = False,
                schedule: str = "linear", dataset: str = "mnist", **config) -> Trainer:
    """Train the class-conditional MNIST UNet with checkpoints in out_dir, or continue the run
    saved at `resume_from`. `config`: TrainConfig fields to change from MNIST_TRAIN (lr,
    batch_size, checkpoint_every, …; on resume only lr and checkpoint_every). `learn_sigma`,
    `schedule`: see mnist_model, mnist_schedule (new runs only). A folder holding another run
    is refused unless `overwrite` (run/folders.py). `dataset`: "mnist" or "fashion-mnist" (the
    same IDX files, data/mnist.py); a resumed run reads the dataset and the folder it was
    trained on (its checkpoint keeps both) unless `data_dir` says another."""
    from ..run.checkpoint import read_meta
    from ..run.folders import claim_for_new_run, claim_for_resume
    if resume_from is not None:
        before = read_meta(resume_from).get("data") or {}
        dataset = before.get("dataset", dataset)
        data_dir = data_dir if data_dir is not None else before.get("data_dir")
    if resume_from is None:
        noise_schedule = mnist_schedule(schedule)
        cfg = TrainConfig(**dict(MNIST_TRAIN, seed=seed, **config))
        if steps is not None:
            cfg.steps = steps
        cfg.validate()
        # a UNet training step keeps about 8 MiB of activations per image (docs/performance.md)
        check_memory(cfg.batch_size * 8 * 2**20, f"a batch of {cfg.batch_size} images")
    else:
        out_dir = claim_for_resume(resume_from, out_dir, overwrite)
    out_dir = Path(out_dir)
    images, labels = load_mnist("train", data_dir=data_dir, dataset=dataset)
    data = ArrayDataset(to_model_range(images), labels.astype(np.int64),
                        description={"dataset": dataset, "split": "train", "kind": "images",
                                     "shape": [1, 28, 28], "channels": 1, "classes": list(CLASSES[dataset]),
                                     "scaling": {"range": [0.0, 255.0], "dtype": "uint8"},
                                     "data_dir": None if data_dir is None else
                                     str(Path(data_dir).resolve())})
    if resume_from is None:
        claim_for_new_run(out_dir, overwrite, also=(GRIDS,))
        trainer = Trainer(mnist_model(np.random.default_rng(seed), learn_sigma=learn_sigma),
                          noise_schedule, data, cfg, out_dir,
                          meta={"sample_shape": [1, 28, 28]})
    else:
        trainer = Trainer.resume(resume_from, data, out_dir, log=log, steps=steps,
                                 stop_at=stop_at, **config)
    trainer.run(progress=progress, on_checkpoint=sample_grid_callback(out_dir), stop_at=stop_at)
    return trainer
