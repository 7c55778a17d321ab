"""Training the MNIST classifier behind the sample metrics, with the same Trainer as every model."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.batching import ArrayDataset
from ..models import Classifier
from ..nn.loss import softmax_cross_entropy
from ..train import TrainConfig, Trainer


DEFAULT_OUT = Path("runs") / "mnist_classifier.npz"


@dataclass
class LabelledBatch:
    x: np.ndarray
    y: np.ndarray

    def __getitem__(self, rows) -> "LabelledBatch":
        return LabelledBatch(self.x[rows], self.y[rows])


class ClassificationObjective:
    """Softmax cross-entropy of the model's logits against integer labels."""

    def draw(self, model, x, y, rng) -> LabelledBatch:
        return LabelledBatch(x, y)

    def loss(self, model, batch: LabelledBatch):
        return softmax_cross_entropy(model(batch.x), batch.y)


def train_classifier(images, labels, seed: int = 0, epochs: int = 3, batch_size: int = 128,
                     lr: float = 1e-3, progress: bool = True) -> Classifier:
    """Adam on softmax cross-entropy, warm-up then cosine decay to lr/100, for `epochs` passes'
    worth of minibatches; images (N, 1, 28, 28) float32 in [−1, 1], labels (N,) ints 0..9.
    Returns the trained classifier (its live weights)."""
    data = ArrayDataset(images, labels, {"dataset": "mnist", "split": "train"})
    steps = max(1, epochs * len(images) // batch_size)
    cfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, warmup_steps=100,
                      min_lr=lr * 0.01, grad_clip=0.0, checkpoint_every=steps, seed=seed)
    model = Classifier(rng=np.random.default_rng(seed))
    trainer = Trainer(model, None, data, cfg, objective=ClassificationObjective())
    trainer.run(progress=progress)
    return model


def train_and_save(out=None, seed: int = 0, epochs: int = 3, data_dir=None, overwrite=False,
                   progress: bool = True) -> tuple[Path, float]:
    """`ddpm-np train-classifier`: train on the MNIST training set, measure the accuracy on the
    test set, and write the weights to `out` (default: DEFAULT_OUT; never the package's
    shipped weights unless given as `out` on purpose, with `overwrite`). Returns (path, test
    accuracy)."""
    from ..run.checkpoint import atomic_write
    from ..data.mnist import load_mnist, to_model_range
    from ..run.folders import check_file
    out = Path(out) if out else DEFAULT_OUT
    check_file(out, (".npz",), overwrite, "--out")
    x, y = load_mnist("train", data_dir=data_dir)
    xt, yt = load_mnist("test", data_dir=data_dir)
    model = train_classifier(to_model_range(x), y.astype(np.int64), seed=seed, epochs=epochs,
                             progress=progress)
    accuracy = float(np.mean(model.predict(to_model_range(xt))[0].argmax(1) == yt))
    atomic_write(out, lambda f: np.savez(f, **model.state_dict()))
    return out, accuracy
