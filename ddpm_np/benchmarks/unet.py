"""Benchmarks that print figures (never timed tests).

`ddpm-np bench conv` times the convolution forward and backward at the UNet's shapes (batch 64),
`ddpm-np bench unet` a training step and a sampling step of the MNIST UNet; both beside this
machine's float32 GEMM rate measured in the same run, so that a fraction of it means something on
a shared, noisy machine. Each figure is the best of `repeats` runs (the least disturbed one).
FLOPs are counted by `flops.conv_flops` from the shapes the convolutions saw (`model_flops`).
"""
from __future__ import annotations

import numpy as np

from .flops import conv_flops
from .tools import best_time, convs_seen, gemm_gflops, unet_training_step

# (name, C_in, C_out, H, stride) of the reference UNet's 3×3 convolutions
CONV_SHAPES = [
    ("3x3 32->32 @28x28", 32, 32, 28, 1),
    ("3x3 64->64 @14x14", 64, 64, 14, 1),
    ("3x3 128->128 @7x7", 128, 128, 7, 1),
    ("3x3 s2 32->32 28->14", 32, 32, 28, 2),
]


def threads_line() -> str:
    from ..nn.fast import num_threads
    n = num_threads()
    how = "chunks of the batch in parallel" if n > 1 else "one GEMM per conv on the BLAS's threads"
    return f"fast tier: {n} threads ({how}; DDPM_NP_THREADS sets it)"


def _conv_row(name, layout, conv, x, repeats, peak):
    """Time one layer's forward and backward; a row of the table."""
    y = conv(x)
    dy = np.random.default_rng(1).standard_normal(y.shape, dtype=np.float32)
    t_f = best_time(lambda: conv(x), repeats)
    t_b = best_time(lambda: conv.backward(dy), repeats)
    flops = conv_flops(conv, x.shape)
    # backward does two GEMMs of the forward's size: dW and dx
    row = dict(name=name, layout=layout, fwd_ms=t_f * 1e3, fwd_gflops=flops / t_f / 1e9,
               bwd_ms=t_b * 1e3, bwd_gflops=2 * flops / t_b / 1e9)
    row["fwd_frac"] = row["fwd_gflops"] / peak
    row["bwd_frac"] = row["bwd_gflops"] / peak
    return row


def bench_conv(batch: int = 64, repeats: int = 10, out=print, reference: bool = True
               ) -> list[dict]:
    """Time the fast tier's Conv2d at CONV_SHAPES on channels-last input (how the UNet feeds it)
    and on plain NCHW input, and (with `reference`) the reference tier's; print a table; return
    its rows. Timed with freed memory kept for reuse (as the `ddpm-np` command runs)."""
    from ..nn import Conv2d, fast

    from ..checks import check_memory
    check_memory(batch * 32 * 28 * 28 * 4 * 40, f"benchmarking convolutions at batch {batch}")
    fast.keep_freed_memory()
    rng = np.random.default_rng(0)
    peak = gemm_gflops(rng=rng)
    out(f"float32 GEMM (2048^3) on this machine: {peak:.0f} GFLOP/s")
    out(threads_line())
    out(f"{'conv (batch %d)' % batch:<24}{'tier, input':>20}{'fwd ms':>8}{'GFLOP/s':>9}"
        f"{'%peak':>7}{'bwd ms':>9}{'GFLOP/s':>9}{'%peak':>7}")
    rows = []
    for name, cin, cout, H, stride in CONV_SHAPES:
        x = rng.standard_normal((batch, cin, H, H), dtype=np.float32)
        x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        cases = [("fast, channels-last", fast.Conv2d, x_cl), ("fast, NCHW", fast.Conv2d, x)]
        if reference:
            cases.append(("reference", Conv2d, x))
        for i, (layout, cls, xin) in enumerate(cases):
            conv = cls(cin, cout, 3, stride=stride, padding=1, rng=rng)
            row = _conv_row(name, layout, conv, xin, repeats, peak)
            rows.append(row)
            out(f"{name if i == 0 else '':<24}{layout:>20}{row['fwd_ms']:>8.1f}"
                f"{row['fwd_gflops']:>9.0f}{row['fwd_frac']:>7.0%}{row['bwd_ms']:>9.1f}"
                f"{row['bwd_gflops']:>9.0f}{row['bwd_frac']:>7.0%}")
    peak2 = gemm_gflops(rng=rng)
    out(f"float32 GEMM again after the convs: {peak2:.0f} GFLOP/s "
        "(a large change means the machine was busy)")
    out("The UNet's activations are channels-last in memory on the fast tier.")
    return rows


def model_flops(model, run) -> tuple[int, int]:
    """2·multiply-adds of every convolution during `run()` (a model pass): (as performed, as
    laid out); see flops.conv_flops."""
    seen = convs_seen(model, run)
    return (sum(conv_flops(m, shape) for m, shape in seen),
            sum(conv_flops(m, shape, performed=False) for m, shape in seen))


def bench_unet(batch: int = 64, repeats: int = 3, out=print, keep_memory: bool = True,
               floor: bool = True) -> dict:
    """One training step of the default UNet (forward, backward, Adam) and one forward pass at
    `batch` and at twice it (what classifier-free guidance runs) in inference mode, as the
    samplers run it, against the GEMM rate; peak traced memory of each; and, with `floor`, the
    time of the convolutions' matrix products alone (bounds.py: what bounds an im2col + GEMM
    implementation). Fractions of GEMM
    count the FLOPs as the network is laid out (352 MFLOP/image forward, three times that for
    a step). The UNet is built on the default tier: the fast one under `ddpm-np bench`
    (cli/tiers.py), unless $DDPM_NP_TIER says; `keep_memory` sets the allocator as the ddpm-np
    command does."""
    import tracemalloc

    from ..checks import check_memory
    from ..nn.fast import keep_freed_memory
    # a step keeps about 8 MiB an image; traced by tracemalloc and with Adam, more
    check_memory(batch * 20 * 2**20, f"benchmarking the UNet at batch {batch}")
    if keep_memory:                # as the ddpm-np command runs (nn/fast/memory.py)
        keep_freed_memory()
    rng = np.random.default_rng(0)
    peak_gemm = gemm_gflops(rng=rng)
    model, step = unet_training_step(batch, rng)
    y = rng.integers(0, 10, batch)

    def traced_peak(fn):
        tracemalloc.start()
        fn()
        peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak_bytes / 2 ** 20

    peak = traced_peak(step)
    t_step = best_time(step, repeats, warmup=1)
    model.eval()                    # sampling: inference mode, no caches (Module.eval)
    xt = rng.standard_normal((2 * batch, 1, 28, 28)).astype(np.float32)
    tt, yy = np.full(2 * batch, 500), np.concatenate([y, y])
    fwd_flops, nominal = model_flops(model, lambda: model(xt[:batch], tt[:batch], y))
    t_fwd = best_time(lambda: model(xt[:batch], tt[:batch], y), repeats)
    t_fwd2 = best_time(lambda: model(xt, tt, yy), repeats)
    peak_fwd2 = traced_peak(lambda: model(xt, tt, yy))
    # the GEMM rate again: a transient slowdown of the machine at the start would flatter
    # every fraction, so the faster of the two measurements is the reference
    gemm_before, gemm_after = peak_gemm, gemm_gflops(rng=rng)
    peak_gemm = max(gemm_before, gemm_after)
    nominal_gflop = nominal / 1e9                      # forward, this batch
    r = dict(batch=batch, step_s=t_step, images_per_s=batch / t_step, gemm_gflops=peak_gemm,
             gemm_before=gemm_before, gemm_after=gemm_after,
             fraction=3 * nominal_gflop / t_step / peak_gemm,
             performed_fraction=3 * fwd_flops / 1e9 / t_step / peak_gemm, peak_mib=peak,
             mflop_per_image=fwd_flops / batch / 1e6, forward_s=t_fwd,
             forward_fraction=nominal_gflop / t_fwd / peak_gemm, forward2_s=t_fwd2,
             forward2_fraction=2 * nominal_gflop / t_fwd2 / peak_gemm,
             forward2_peak_mib=peak_fwd2, nominal_mflop_per_image=nominal / batch / 1e6,
             ddim50_guided_s=50 * t_fwd2, ddpm1000_s=1000 * t_fwd)
    out(f"float32 GEMM (2048^3): {peak_gemm:.0f} GFLOP/s (the faster of {gemm_before:.0f} "
        f"before and {gemm_after:.0f} after the UNet's timings)")
    from ..nn import default_tier
    tier = default_tier()
    out(threads_line() if tier == "fast" else "reference tier")
    out(f"UNet ({model.num_parameters() / 1e6:.2f} M parameters), batch {batch}: "
        f"{r['nominal_mflop_per_image']:.0f} MFLOP/image "
        f"forward as laid out ({r['mflop_per_image']:.0f} performed); fractions of GEMM count "
        "the FLOPs as laid out")
    out(f"  training step (fwd + bwd + Adam): {t_step:.3f} s, {r['images_per_s']:.0f} images/s, "
        f"{r['fraction']:.0%} of GEMM ({r['performed_fraction']:.0%} on the performed FLOPs); "
        f"peak traced memory {peak:.0f} MiB")
    out(f"  forward pass: {t_fwd:.3f} s at batch {batch} ({r['forward_fraction']:.0%} of GEMM), "
        f"{t_fwd2:.3f} s at {2 * batch} ({r['forward2_fraction']:.0%}); peak traced memory at "
        f"{2 * batch}: {peak_fwd2:.0f} MiB")
    out(f"  sampling {batch} guided images (batch {2 * batch}): DDIM-50 ≈ "
        f"{r['ddim50_guided_s']:.0f} s; unguided DDPM-1000 ≈ {r['ddpm1000_s'] / 60:.1f} min")
    if floor:
        from .bounds import conv_gemm_shapes, gemm_floor
        shapes = conv_gemm_shapes(model, lambda: model(xt[:batch], tt[:batch], y))
        f = gemm_floor(shapes, repeats)
        r.update(floor_step_s=f["step_s"], floor_forward_s=f["forward_s"],
                 floor_fraction=3 * nominal_gflop / f["step_s"] / peak_gemm,
                 floor_forward_fraction=nominal_gflop / f["forward_s"] / peak_gemm)
        out(f"  GEMM floor (the convolutions' im2col products alone, in cached chunks on every "
            f"core): step {f['step_s']:.3f} s ({r['floor_fraction']:.0%} of GEMM), forward "
            f"{f['forward_s']:.3f} s ({r['floor_forward_fraction']:.0%}): the most the chunked "
            "im2col + GEMM route can reach here")
    return r
