"""Benchmarks that print figures (never timed tests).

`ddpm-np bench` times Conv2d forward and backward at the reference UNet's shapes (batch 64) and
this machine's float32 GEMM rate measured in the same run, so the fraction of peak means something
on a shared, noisy machine. Each figure is the best of `repeats` runs (the least disturbed one).
"""
from __future__ import annotations

import time

import numpy as np

# (name, C_in, C_out, H, stride) of the reference UNet's 3×3 convolutions
CONV_SHAPES = [
    ("3x3 32->32 @28x28", 32, 32, 28, 1),
    ("3x3 64->64 @14x14", 64, 64, 14, 1),
    ("3x3 128->128 @7x7", 128, 128, 7, 1),
    ("3x3 s2 32->32 28->14", 32, 32, 28, 2),
]


def best_time(fn, repeats: int = 5, warmup: int = 1) -> float:
    """Smallest wall-clock seconds of `fn()` over `repeats` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def gemm_gflops(n: int = 2048, repeats: int = 5, rng=None) -> float:
    """float32 GFLOP/s of an n×n·n×n matrix product (2n³ flops), best of `repeats`."""
    rng = rng or np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    return 2 * n ** 3 / best_time(lambda: a @ b, repeats) / 1e9


def threads_line() -> str:
    from .nn import threads
    n = threads.num_threads()
    how = "chunks of the batch in parallel" if n > 1 else "one GEMM per conv on the BLAS's threads"
    return f"convolution threads: {n} ({how}; DDPM_NP_THREADS sets it)"


def bench_conv(batch: int = 64, repeats: int = 10, out=print) -> list[dict]:
    """Time Conv2d forward/backward at CONV_SHAPES, channels-last (NHWC, the layout the UNet
    runs them in) and NCHW (the public layout); print a table; return its rows.

    Timed as inside a UNet pass: with the BLAS on one thread (`threads.one_blas_thread`) and
    freed memory kept for reuse (`memory.keep_freed_memory`, which the `ddpm-np` command sets).
    """
    from .nn import Conv2d
    from .nn.memory import keep_freed_memory
    from .nn.threads import one_blas_thread

    keep_freed_memory()
    rng = np.random.default_rng(0)
    peak = gemm_gflops(rng=rng)
    out(f"float32 GEMM (2048^3) on this machine: {peak:.0f} GFLOP/s")
    out(threads_line())
    out(f"{'conv (batch %d)' % batch:<24}{'layout':>7}{'fwd ms':>8}{'GFLOP/s':>9}{'%peak':>7}"
        f"{'bwd ms':>9}{'GFLOP/s':>9}{'%peak':>7}")
    rows = []
    for name, cin, cout, H, stride in CONV_SHAPES:
        for layout in ("NHWC", "NCHW"):
            cl = layout == "NHWC"
            conv = Conv2d(cin, cout, 3, stride=stride, padding=1, rng=rng, channels_last=cl)
            x = rng.standard_normal((batch, H, H, cin) if cl else (batch, cin, H, H),
                                    dtype=np.float32)
            with one_blas_thread():
                y = conv(x)
                dy = rng.standard_normal(y.shape, dtype=np.float32)
                flops = conv.flops(x.shape)
                t_f = best_time(lambda: conv(x), repeats)
                t_b = best_time(lambda: conv.backward(dy), repeats)
            # backward does two GEMMs of the forward's size: dW and dx
            row = dict(name=name, layout=layout, fwd_ms=t_f * 1e3,
                       fwd_gflops=flops / t_f / 1e9, bwd_ms=t_b * 1e3,
                       bwd_gflops=2 * flops / t_b / 1e9)
            row["fwd_frac"] = row["fwd_gflops"] / peak
            row["bwd_frac"] = row["bwd_gflops"] / peak
            rows.append(row)
            out(f"{name if cl else '':<24}{layout:>7}{row['fwd_ms']:>8.1f}"
                f"{row['fwd_gflops']:>9.0f}{row['fwd_frac']:>7.0%}{row['bwd_ms']:>9.1f}"
                f"{row['bwd_gflops']:>9.0f}{row['bwd_frac']:>7.0%}")
    peak2 = gemm_gflops(rng=rng)
    out(f"float32 GEMM again after the convs: {peak2:.0f} GFLOP/s "
        "(a large change means the machine was busy)")
    out("The UNet runs its convolutions channels-last (NHWC); NCHW is Conv2d's default layout.")
    return rows


def conv_flops_of_last_forward(model, nominal: bool = False) -> int:
    """2·multiply-adds of every Conv2d in `model`'s most recent forward pass (whole batch):
    those performed, or with `nominal` those of the literal layers (an UpsampleConv2d counted as
    upsample + 3×3 conv, the reference layout's figure)."""
    from .nn import Conv2d
    total = 0
    for m in model.modules():
        shape = getattr(m, "last_input_shape", None)
        if isinstance(m, Conv2d) and shape is not None:
            total += m.nominal_flops(shape) if nominal and hasattr(m, "nominal_flops") \
                else m.flops(shape)
    return total


def bench_unet(batch: int = 64, repeats: int = 3, out=print, sample_steps: int = 20) -> dict:
    """One training step of the default UNet (forward, backward, Adam), its GFLOP/s against the
    GEMM rate, peak traced memory, and the time per sampling step (DDIM-50 and DDPM-1000 times
    follow by multiplication: every step is one forward pass)."""
    import tracemalloc

    from .diffusion import NoiseSchedule, sample_training_batch
    from .models import UNet
    from .nn.loss import mse_loss
    from .nn.memory import keep_freed_memory
    from .nn.optim import Adam

    keep_freed_memory()
    rng = np.random.default_rng(0)
    peak_gemm = gemm_gflops(rng=rng)
    model = UNet(num_classes=10, rng=rng)
    opt = Adam(model.parameters(), lr=1e-4)
    sched = NoiseSchedule.linear(1000)
    x0 = rng.uniform(-1, 1, (batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, batch)

    def step():
        t, eps, xt = sample_training_batch(x0, sched, rng)
        out_ = model(xt, t, y)
        _, d = mse_loss(out_, eps)
        model.zero_grad()
        model.backward(d)
        opt.step()

    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    t_step = best_time(step, repeats, warmup=1)
    fwd_flops = conv_flops_of_last_forward(model)
    nominal = conv_flops_of_last_forward(model, nominal=True)
    flops = 3 * fwd_flops          # forward + the two backward GEMMs of every conv
    xt = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    tt = np.full(batch, 500)
    t_fwd = best_time(lambda: model(xt, tt, y), repeats)
    r = dict(batch=batch, step_s=t_step, images_per_s=batch / t_step,
             gflops=flops / t_step / 1e9, gemm_gflops=peak_gemm,
             fraction=flops / t_step / 1e9 / peak_gemm, peak_mib=peak / 2 ** 20,
             mflop_per_image=fwd_flops / batch / 1e6, forward_s=t_fwd,
             nominal_mflop_per_image=nominal / batch / 1e6,
             ddim50_s=50 * t_fwd, ddpm1000_s=1000 * t_fwd)
    out(f"float32 GEMM (2048^3): {peak_gemm:.0f} GFLOP/s")
    out(threads_line())
    out(f"UNet (1.18 M parameters), batch {batch}: {r['nominal_mflop_per_image']:.0f} MFLOP/image "
        f"forward as laid out, {r['mflop_per_image']:.0f} performed (the up-path convs run at "
        "low resolution, nn/upconv.py); GFLOP/s below count the performed ones")
    out(f"  training step (fwd + bwd + Adam): {t_step:.2f} s, {r['images_per_s']:.0f} images/s, "
        f"{r['gflops']:.0f} GFLOP/s = {r['fraction']:.0%} of GEMM")
    out(f"  peak traced memory of a step: {r['peak_mib']:.0f} MiB")
    out(f"  sampling: {t_fwd:.2f} s per step for {batch} images -> DDIM-50 ≈ "
        f"{r['ddim50_s']:.0f} s, DDPM-1000 ≈ {r['ddpm1000_s'] / 60:.1f} min "
        "(unconditional; guidance doubles the batch)")
    return r
