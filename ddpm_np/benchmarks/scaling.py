"""How a training step's cost grows with the batch and with the image: `ddpm-np bench scaling`.

The same UNet (base 32, mults 1-2-4, attention at the lowest resolution) trained one step at
batch 16, 64 and 256 on 28×28 images, and at batch 64 on 28×28, 32×32 and 64×64 images. The
cost per image should stay flat or fall with the batch (the same work, in bigger GEMMs), and
grow no faster than the pixel count with the image (every layer is linear in the pixels but
attention, which is quadratic in the pixels of its resolution).
"""
from __future__ import annotations

import numpy as np

from .tools import best_time, unet_training_step

BATCHES = (16, 64, 256)
SIZES = (28, 32, 64)


def step_seconds(batch: int, size: int, repeats: int = 2) -> float:
    """Best time of a training step (forward, backward, Adam) of the UNet on size×size images."""
    model, step = unet_training_step(batch, np.random.default_rng(0), size)
    return best_time(step, repeats, warmup=1)


def bench_scaling(figure=None, repeats: int = 2, out=print) -> dict:
    """Time the steps, print a table, draw the two curves into `figure` (a PNG path) if given."""
    from ..checks import check_memory
    from ..nn.fast import keep_freed_memory
    check_memory(max(BATCHES) * 8 * 2**20 * 2, "benchmarking a training step at batch 256")
    keep_freed_memory()
    by_batch = {b: step_seconds(b, 28, repeats) for b in BATCHES}
    by_size = {s: step_seconds(64, s, repeats) for s in SIZES}
    out("batch (28×28)   step      per image")
    for b, t in by_batch.items():
        out(f"{b:>5d}          {t:6.3f} s  {1e3 * t / b:6.2f} ms")
    out("image (batch 64) step     per image  per pixel")
    for s, t in by_size.items():
        out(f"{s:>3d}×{s:<3d}        {t:6.3f} s  {1e3 * t / 64:6.2f} ms  "
            f"{1e6 * t / 64 / s**2:6.2f} µs")
    if figure is not None:
        _draw(by_batch, by_size, figure)
        out(f"figure: {figure}")
    return {"by_batch": by_batch, "by_size": by_size}


def _draw(by_batch, by_size, figure):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ..run.checkpoint import atomic_write
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    b = np.array(list(by_batch))
    ax[0].plot(b, [1e3 * by_batch[k] / k for k in b], "o-")
    ax[0].set_xscale("log", base=2); ax[0].set_xticks(b, [str(k) for k in b])
    ax[0].set_ylim(0, None)
    ax[0].set(xlabel="batch (28×28 images)", ylabel="ms per image",
              title="training step: cost per image vs batch")
    s = np.array(list(by_size))
    per = np.array([1e3 * by_size[k] / 64 for k in s])
    ax[1].plot(s ** 2, per, "o-", label="measured")
    ax[1].plot(s ** 2, per[0] * s ** 2 / s[0] ** 2, "k--", lw=1, label="∝ pixels")
    for k, p in zip(s, per):
        ax[1].annotate(f"{k}×{k}", (k ** 2, p), textcoords="offset points", xytext=(5, -12))
    ax[1].set_ylim(0, None); ax[1].set_xlim(0, 1.15 * s[-1] ** 2)
    ax[1].set(xlabel="pixels per image", ylabel="ms per image",
              title="training step (batch 64): cost per image vs image size")
    ax[1].legend()
    fig.tight_layout()
    atomic_write(figure, lambda f: fig.savefig(f, format="png", dpi=100))
    plt.close(fig)
