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


def bench_conv(batch: int = 64, repeats: int = 5, out=print) -> list[dict]:
    """Time Conv2d forward/backward at CONV_SHAPES; print a table; return its rows."""
    from .nn import Conv2d

    rng = np.random.default_rng(0)
    peak = gemm_gflops(rng=rng)
    out(f"float32 GEMM (2048^3) on this machine: {peak:.0f} GFLOP/s")
    out(f"{'conv (batch %d)' % batch:<24}{'fwd ms':>8}{'GFLOP/s':>9}{'%peak':>7}"
        f"{'bwd ms':>9}{'GFLOP/s':>9}{'%peak':>7}")
    rows = []
    for name, cin, cout, H, stride in CONV_SHAPES:
        conv = Conv2d(cin, cout, 3, stride=stride, padding=1, rng=rng)
        x = rng.standard_normal((batch, cin, H, H), dtype=np.float32)
        y = conv(x)
        dy = rng.standard_normal(y.shape, dtype=np.float32)
        flops = conv.flops(x.shape)
        t_f = best_time(lambda: conv(x), repeats)
        t_b = best_time(lambda: conv.backward(dy), repeats)
        # backward does two GEMMs of the forward's size: dW and dx
        row = dict(name=name, fwd_ms=t_f * 1e3, fwd_gflops=flops / t_f / 1e9,
                   bwd_ms=t_b * 1e3, bwd_gflops=2 * flops / t_b / 1e9)
        row["fwd_frac"] = row["fwd_gflops"] / peak
        row["bwd_frac"] = row["bwd_gflops"] / peak
        rows.append(row)
        out(f"{name:<24}{row['fwd_ms']:>8.1f}{row['fwd_gflops']:>9.0f}{row['fwd_frac']:>7.0%}"
            f"{row['bwd_ms']:>9.1f}{row['bwd_gflops']:>9.0f}{row['bwd_frac']:>7.0%}")
    peak2 = gemm_gflops(rng=rng)
    out(f"float32 GEMM again after the convs: {peak2:.0f} GFLOP/s "
        "(a large change means the machine was busy)")
    return rows
