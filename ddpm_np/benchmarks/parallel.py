"""Data-parallel training speed: `ddpm-np bench train`, under `mpiexec -n K` or alone.

Times training steps of the MNIST UNet through the Trainer (global batch `batch`, split across
the K processes; cores/K threads each), and the all-reduce of its gradients on its own. The
figures feed the scaling model in docs/scaling.md: compute time per step against the time to
move 2·(K−1)/K × the gradient bytes.
"""
from __future__ import annotations

import time

import numpy as np

from ..data.batching import ArrayDataset
from ..parallel import world
from ..train import TrainConfig, Trainer
from .tools import median_time
from ..tasks.mnist_train import mnist_model, mnist_schedule


def bench_train(batch: int = 64, repeats: int = 10, out=print) -> dict:
    """Median seconds per training step and per all-reduce; printed by rank 0, returned."""
    from ..nn.fast import num_threads
    w = world()
    rng = np.random.default_rng(0)
    data = ArrayDataset(rng.uniform(-1, 1, (256, 1, 28, 28)).astype(np.float32),
                        rng.integers(0, 10, 256))
    trainer = Trainer(mnist_model(np.random.default_rng(0)), mnist_schedule(), data,
                      TrainConfig(steps=10**6, batch_size=batch, lr=1e-4), world=w)
    trainer.train_step()                                            # warm-up
    t_step = median_time(trainer.train_step, repeats)
    rows = w.part(batch)
    xt = rng.standard_normal((rows.stop - rows.start, 1, 28, 28)).astype(np.float32)
    t_forward = median_time(lambda: trainer.model(xt, np.full(len(xt), 500),
                                                   np.zeros(len(xt), np.int64)), repeats)
    flat = np.ones(trainer.reduce_gradients.gradient_bytes // 4, np.float32)
    w.allreduce_sum(flat)                                           # warm-up
    reduce_times = []
    for _ in range(repeats):
        w.bcast(None)                                               # start together
        t0 = time.perf_counter()
        w.allreduce_sum(flat)
        reduce_times.append(time.perf_counter() - t0)
    t_reduce = float(np.median(reduce_times)) if w.size > 1 else 0.0
    in_step = trainer.reduce_gradients.seconds / max(trainer.reduce_gradients.calls, 1)
    mib = trainer.reduce_gradients.gradient_bytes / 2**20
    r = dict(processes=w.size, threads=num_threads(), batch=batch, step_s=t_step,
             images_per_s=batch / t_step, gradient_mib=mib, allreduce_s=t_reduce,
             allreduce_in_step_s=in_step, backward_share=1 - t_forward / t_step)
    threads = f"{r['threads']} thread" + ("s" if r["threads"] > 1 else "")
    out(f"MNIST UNet, global batch {batch}, {w.describe()} × {threads} each:")
    out(f"  training step: {t_step:.3f} s (median of {repeats}), {r['images_per_s']:.0f} "
        f"images/s; backward and update {r['backward_share']:.0%} of it")
    if w.size > 1:
        out(f"  all-reduce of {mib:.2f} MiB of gradients: {1e3 * t_reduce:.1f} ms alone "
            f"({2 * (w.size - 1) / w.size * mib / 2**10 / max(t_reduce, 1e-9):.2f} GiB/s "
            f"moved per process), {1e3 * in_step:.1f} ms inside a step (waiting for the "
            "slower process included)")
    out(f"Model (docs/scaling.md): N machines like this one, ring all-reduce of {mib:.2f} MiB a "
        "step; parallel efficiency without / with overlap. Weak: a batch of "
        f"{batch} on every machine; strong: the batch of {batch} split, compute ∝ batch:")
    for line in scaling_table(t_step, r["backward_share"], trainer.reduce_gradients.gradient_bytes):
        out(line)
    return r


def comm_seconds(n: int, gradient_bytes: float, gbit_s: float, latency_s: float = 50e-6):
    """A ring all-reduce on n machines: each sends and receives 2·(n−1)/n × the bytes, in
    2·(n−1) messages, over a link of `gbit_s` Gbit/s."""
    return 2 * (n - 1) / n * gradient_bytes * 8 / (gbit_s * 1e9) + 2 * (n - 1) * latency_s


def efficiency(step_s, backward_share, comm_s, overlap: bool) -> float:
    """Compute time over step time. Without overlap the all-reduce follows the step; with it,
    it runs during the backward pass and only what sticks out of it adds."""
    hidden = backward_share * step_s if overlap else 0.0
    return step_s / (step_s + max(0.0, comm_s - hidden))


def scaling_table(step_s, backward_share, gradient_bytes, machines=(2, 8, 32),
                  gbits=(1, 10, 100)) -> list:
    """Markdown table: a row per link speed and kind of scaling, a column per machine count."""
    lines = ["| link | scaling | " + " | ".join(f"N = {n}" for n in machines) + " |",
             "|---|---|" + "---|" * len(machines)]
    for g in gbits:
        for kind in ("weak", "strong"):
            cells = []
            for n in machines:
                step = step_s if kind == "weak" else step_s / n
                c = comm_seconds(n, gradient_bytes, g)
                cells.append(f"{efficiency(step, backward_share, c, False):.0%} / "
                             f"{efficiency(step, backward_share, c, True):.0%}")
            lines.append(f"| {g} Gbit/s | {kind} | " + " | ".join(cells) + " |")
    return lines
