"""Where the time of a UNet training step and of a forward pass goes: `ddpm-np bench profile`.

Each layer's `forward` and `backward` are wrapped for the measurement (instance attributes,
removed after) to note their wall time, less their children's: the exclusive time of every
kind of layer, convolutions told apart by shape and route. Beside it, the time spent outside
the fast tier's parallel regions (`threads.parallel_seconds`): the part of a pass that runs on
one core while the other waits (Python between layers, small arrays, the optimiser).
"""
from __future__ import annotations

import time
from collections import defaultdict

import numpy as np

from .tools import median_time, unet_training_step


def layer_kind(m, x_shape=None) -> str:
    """A label for a layer: its class, and for a convolution its shape and route."""
    name = type(m).__name__
    W = getattr(m, "W", None)
    if W is None or W.data.ndim != 4:
        return name
    O, C, kh, kw = W.shape
    label = f"{name} {kh}×{kw} {C}→{O}"
    if x_shape is not None:
        label += f" @{x_shape[2]}"
        if getattr(m, "stride", 1) > 1:
            label += f" stride {m.stride}"
        from ..nn.fast.conv import route
        kind, mt = route(kh, kw, getattr(m, "stride", 1), getattr(m, "padding", 0), C, O,
                         x_shape[2], x_shape[3])
        if type(m).__module__.startswith("ddpm_np.nn.fast") and name == "Conv2d":
            label += f" F({mt}×{mt})" if mt else " narrow" if kind == "narrow" else ""
    return label


class _Timer:
    """Exclusive wall time per (layer kind, "forward"/"backward") while installed."""

    def __init__(self, model):
        self.seconds, self.stack, self.kinds = defaultdict(float), [], {}
        self.modules = list(model.modules())[1:]            # the model itself is the rest

    def __enter__(self):
        for m in self.modules:
            for direction in ("forward", "backward"):
                setattr(m, direction, self._wrap(m, direction))
        return self

    def __exit__(self, *exc):
        for m in self.modules:
            for direction in ("forward", "backward"):
                vars(m).pop(direction, None)

    def _wrap(self, m, direction):
        method = getattr(type(m), direction)

        def timed(*args, **kwargs):
            if direction == "forward" and args and getattr(args[0], "ndim", 0) == 4:
                self.kinds[id(m)] = layer_kind(m, args[0].shape)
            start = time.perf_counter()
            self.stack.append(0.0)
            try:
                return method(m, *args, **kwargs)
            finally:
                spent, children = time.perf_counter() - start, self.stack.pop()
                kind = self.kinds.get(id(m)) or layer_kind(m)
                self.seconds[kind, direction] += spent - children
                if self.stack:
                    self.stack[-1] += spent
        return timed


def bench_profile(batch: int = 64, repeats: int = 5, out=print) -> dict:
    """Time `repeats` training steps and forward passes (eval mode) of the default UNet at
    `batch`, per kind of layer, and print the table: milliseconds per step and share of it."""
    from ..nn.fast import keep_freed_memory
    from ..nn.fast.threads import parallel_seconds

    keep_freed_memory()
    rng = np.random.default_rng(0)
    model, step = unet_training_step(batch, rng)
    y = rng.integers(0, 10, batch)

    xs = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    ts = np.full(batch, 500)

    def forward():
        model(xs, ts, y)

    result = {}
    for name, fn, train in (("step", step, True), ("forward", forward, False)):
        model.train(train)
        fn(), fn()                                          # workspaces made, pages mapped
        wall = median_time(fn, repeats)                     # undisturbed, for the total
        p0, t0 = parallel_seconds(), time.perf_counter()
        for _ in range(repeats):
            fn()
        outside = (time.perf_counter() - t0 - (parallel_seconds() - p0)) / repeats
        with _Timer(model) as timer:
            fn()
            timer.seconds.clear()
            t0 = time.perf_counter()
            for _ in range(repeats):
                fn()
            timed = (time.perf_counter() - t0) / repeats
        per = {k: v / repeats for k, v in timer.seconds.items()}
        result[name] = dict(wall_s=wall, timed_s=timed, outside_s=outside, layers=per)
        _print_table(name, batch, wall, timed, outside, per, out)
    result["trainer"] = trainer_overheads(batch, repeats, out)
    return result


def trainer_overheads(batch: int = 64, repeats: int = 5, out=print) -> dict:
    """What a `Trainer` step spends outside the network, each part timed alone (median) on the
    default MNIST recipe's shapes: drawing the batch from 10,000 images (the draw does not
    depend on their number), t, ε and x_t, the gradient norm and clipping, the EMA update;
    against the whole step. Returns {part: seconds}."""
    from ..data.batching import ArrayDataset
    from ..diffusion import sample_training_batch
    from ..tasks.mnist_train import MNIST_TRAIN, mnist_model, mnist_schedule
    from ..nn.optim import clip_grad_norm
    from ..train import TrainConfig, Trainer
    rng = np.random.default_rng(0)
    data = ArrayDataset(rng.uniform(-1, 1, (10000, 1, 28, 28)).astype(np.float32),
                        rng.integers(0, 10, 10000))
    cfg = TrainConfig(**dict(MNIST_TRAIN, batch_size=batch, steps=10 ** 6))
    trainer = Trainer(mnist_model(rng), mnist_schedule(), data, cfg)
    trainer.train_step(), trainer.train_step()
    x0, _ = data.batch(rng, batch)
    parts = {
        "the whole step": trainer.train_step,
        "batch drawn from the data": lambda: data.batch(rng, batch),
        "t, ε and x_t (Algorithm 1, lines 2–4)": lambda: sample_training_batch(
            x0, trainer.schedule, rng),
        "gradient norm and clipping": lambda: clip_grad_norm(trainer.params, cfg.grad_clip),
        "EMA update": trainer.ema.update,
    }
    times = {k: median_time(fn, repeats) for k, fn in parts.items()}
    whole = times["the whole step"]
    out(f"a Trainer step at batch {batch} (MNIST recipe): {whole * 1e3:.0f} ms; outside the "
        "network:")
    for k, v in list(times.items())[1:]:
        out(f"  {k:40s} {v * 1e3:8.2f} ms {v / whole:6.1%}")
    return times


def _print_table(name, batch, wall, timed, outside, per, out):
    kinds = sorted({k for k, _ in per}, key=lambda k: -(per.get((k, "forward"), 0)
                                                        + per.get((k, "backward"), 0)))
    listed = sum(per.values())
    title = "training step (forward, backward, Adam)" if name == "step" else "forward pass (eval)"
    out(f"{title} at batch {batch}: {wall * 1e3:.0f} ms (median; {timed * 1e3:.0f} ms with the "
        f"timers); outside the parallel regions (on one core): {outside * 1e3:.0f} ms "
        f"({outside / wall:.0%})")
    out(f"  {'layer (shares of the timed pass)':40s} {'forward ms':>10s} {'backward ms':>11s} "
        f"{'share':>6s}")
    for k in kinds:
        f, b = per.get((k, "forward"), 0.0), per.get((k, "backward"), 0.0)
        back = f"{b * 1e3:11.1f}" if name == "step" else f"{'-':>11s}"
        out(f"  {k:40s} {f * 1e3:10.1f} {back} {(f + b) / timed:6.1%}")
    rest = max(timed - listed, 0.0)
    out(f"  {'between layers (model code, loss, Adam)':40s} {rest * 1e3:22.1f} "
        f"{rest / timed:6.1%}")
