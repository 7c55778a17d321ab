"""What the benchmarks share: timing, this machine's GEMM rate, and which convolutions a model
pass calls."""
from __future__ import annotations

import time

import numpy as np

from ..nn.fast.tuning import best_seconds

# Smallest wall-clock seconds of `fn()` over `repeats` calls after `warmup` calls: the timing
# the fast tier's calibration uses too.
best_time = best_seconds


def gemm_gflops(n: int = 2048, repeats: int = 5, rng=None) -> float:
    """float32 GFLOP/s of an n×n·n×n matrix product (2n³ flops), best of `repeats`."""
    rng = rng or np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    return 2 * n ** 3 / best_time(lambda: a @ b, repeats) / 1e9


def median_time(fn, repeats: int = 10) -> float:
    """Median wall-clock seconds of `fn()` over `repeats` calls (no warm-up): for steps that
    change state, such as training steps, where the best one would flatter."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def convs_seen(model, run) -> list:
    """(layer, input shape) of every convolution of `model` called during `run()`. Each Conv2d's
    `forward` is wrapped for the call to note its input shape, and unwrapped after."""
    from ..nn import Conv2d
    seen = []
    convs = [m for m in model.modules() if isinstance(m, Conv2d)]
    for m in convs:
        m.forward = (lambda m: lambda x, **kw: (seen.append((m, x.shape)),
                                                type(m).forward(m, x, **kw))[1])(m)
    try:
        run()
    finally:
        for m in convs:
            del m.forward
    return seen


def unet_training_step(batch: int, rng, size: int = 28):
    """(model, step): the default class-conditional UNet on size×size images and one training
    step of it on uniform noise images (forward, ε-loss, backward, Adam), the benchmarks' unit."""
    from ..diffusion import NoiseSchedule, sample_training_batch
    from ..models import UNet
    from ..nn.loss import mse_loss
    from ..nn.optim import Adam
    kw = {} if size == 28 else dict(image_size=size, attention_resolutions=(size // 4,))
    model = UNet(num_classes=10, rng=rng, **kw)
    opt = Adam(model.parameters(), lr=1e-4)
    schedule = NoiseSchedule.linear(1000)
    x0 = rng.uniform(-1, 1, (batch, 1, size, size)).astype(np.float32)
    y = rng.integers(0, 10, batch)

    def step():
        t, eps, xt = sample_training_batch(x0, schedule, rng)
        _, d = mse_loss(model(xt, t, y), eps)
        model.zero_grad()
        model.backward(d)
        opt.step()

    return model, step
