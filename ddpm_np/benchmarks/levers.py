"""The fast tier's levers one at a time, each against what it replaced, at the UNet's shapes:
`python -m ddpm_np.benchmarks.levers [--batch 64] [--repeats 7]`.

Each comparison runs both sides alternately, `repeats` times, and prints medians (the machine
is shared and noisy: alternating keeps a slow spell from favouring one side). The sides:
- convolution routes: im2col, Winograd F(2×2, 3×3), F(4×4, 3×3), forced per layer
  (the router's `winograd` argument), forward and backward;
- GroupNorm then SiLU (two fast layers) against the fused GroupNormSiLU, training and inference;
- the narrow route of the 1- and 3-channel convolutions against the route taken without it
  (the router's `narrow` argument 0);
- a residual or time shift added after a convolution against its `add` (the epilogue).
docs/performance.md quotes its output.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

# (C, O, H) of the UNet's 3×3 stride-1 convolutions
CONV_SHAPES = [(32, 32, 28), (96, 32, 28), (32, 64, 14), (64, 64, 14), (192, 64, 14),
               (64, 128, 7), (128, 128, 7)]
NORM_SHAPES = [(32, 28), (96, 28), (64, 14), (192, 14), (128, 7)]


def alternate(sides: dict, repeats: int) -> dict:
    """{name: median seconds} of each zero-argument callable, run in alternating order."""
    names, times = list(sides), {k: [] for k in sides}
    for k in names:
        sides[k]()                                          # warm-up: workspaces, pages
    for r in range(repeats):
        for k in (names if r % 2 == 0 else names[::-1]):
            t0 = time.perf_counter()
            sides[k]()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def _channels_last(rng, shape):
    from ..nn.fast.layout import nchw
    N, C, H, W = shape
    return nchw(rng.standard_normal((N, H, W, C)).astype(np.float32))


def conv_routes(batch, repeats, rng, out):
    from ..nn import fast
    from ..nn.fast import conv
    out("3×3 convolution routes, forward / backward ms (median):")
    out(f"  {'conv':16s} {'im2col':>15s} {'F(2×2, 3×3)':>15s} {'F(4×4, 3×3)':>15s}  rule")
    for C, O, H in CONV_SHAPES:
        x = _channels_last(rng, (batch, C, H, H))
        dy = _channels_last(rng, (batch, O, H, H))
        W = (rng.standard_normal((O, C, 3, 3)) / np.sqrt(9 * C)).astype(np.float32)
        b = np.zeros(O, np.float32)
        cells = []
        for m in (0, 2, 4):
            ws = {}

            def fwd(m=m, ws=ws):
                return conv.conv2d_forward(x, W, b, 1, 1, ws, winograd=m)

            cache = fwd()[1]        # valid throughout: every forward writes the same xp
            fast.threads.hold_blas()
            t = alternate({"fwd": fwd, "bwd": lambda: fast.conv2d_backward(dy, cache)},
                          repeats)
            cells.append(f"{t['fwd'] * 1e3:5.1f} / {t['bwd'] * 1e3:5.1f}")
        m = conv.use_winograd(3, 3, 1, 1, C, O, H, H)
        out(f"  {C:3d}→{O:3d} @{H:2d}×{H:<2d}   " + "  ".join(f"{c:>15s}" for c in cells)
            + f"  {'im2col' if not m else f'F({m}×{m})'}")


def norm_silu(batch, repeats, rng, out):
    from ..nn import fast
    out("GroupNorm then SiLU against GroupNormSiLU, ms (median): training forward, backward; "
        "inference forward")
    for C, H in NORM_SHAPES:
        x = _channels_last(rng, (batch, C, H, H))
        dy = _channels_last(rng, (batch, C, H, H))
        scale, shift = np.ones(C, np.float32), np.zeros(C, np.float32)

        def pair():
            y, c1 = fast.groupnorm_forward(x, scale, shift, 8)
            return fast.silu_forward(y)[1], c1

        def pair_back():
            c2, c1 = pair()
            fast.groupnorm_backward(fast.silu_backward(dy, c2), c1)

        def fused():
            return fast.groupnorm_silu_forward(x, scale, shift, 8)[1]

        def fused_back():
            fast.groupnorm_silu_backward(dy, fused())

        t = alternate({"pair": pair, "pair+back": pair_back, "fused": fused,
                       "fused+back": fused_back,
                       "fused inference": lambda: fast.groupnorm_silu_forward(
                           x, scale, shift, 8, keep=False)}, repeats)
        out(f"  {C:3d} channels @{H:2d}×{H:<2d}: forward {t['pair'] * 1e3:5.2f} → "
            f"{t['fused'] * 1e3:5.2f}, backward {(t['pair+back'] - t['pair']) * 1e3:5.2f} → "
            f"{(t['fused+back'] - t['fused']) * 1e3:5.2f}, inference forward "
            f"{t['fused inference'] * 1e3:5.2f}")


def narrow(batch, repeats, rng, out):
    from ..nn import fast
    from ..nn.fast import conv_narrow
    out("convolutions with ≤ 3 channels on one side: the route taken without the narrow one "
        "(im2col or Winograd) → the narrow route, forward and backward ms (median)")
    keep = conv_narrow.NARROW_CHANNELS
    for C, O in ((32, 1), (1, 32), (64, 3), (3, 64)):
        x = _channels_last(rng, (batch, C, 28, 28))
        dy = _channels_last(rng, (batch, O, 28, 28))
        W = rng.standard_normal((O, C, 3, 3)).astype(np.float32)
        b = np.zeros(O, np.float32)
        cells = {}
        for narrow_channels in (0, keep):
            ws = {}

            def fwd(narrow_channels=narrow_channels, ws=ws):
                return fast.conv2d_forward(x, W, b, 1, 1, ws, narrow=narrow_channels)

            cache = fwd()[1]
            fast.threads.hold_blas()
            cells[narrow_channels] = alternate(
                {"fwd": fwd, "bwd": lambda: fast.conv2d_backward(dy, cache)}, repeats)
        a, n = cells[0], cells[keep]
        out(f"  {C:2d}→{O:2d} @28×28: forward {a['fwd'] * 1e3:5.2f} → {n['fwd'] * 1e3:5.2f},"
            f" backward {a['bwd'] * 1e3:5.2f} → {n['bwd'] * 1e3:5.2f}")


def epilogue_add(batch, repeats, rng, out):
    from ..nn import fast
    out("a residual (or the per-sample time shift) added after the convolution → in its "
        "epilogue, forward ms (median)")
    for C, H in ((32, 28), (64, 14), (128, 7)):
        x = _channels_last(rng, (batch, C, H, H))
        W = (rng.standard_normal((C, C, 3, 3)) / np.sqrt(9 * C)).astype(np.float32)
        b = np.zeros(C, np.float32)
        cells = []
        for add in (_channels_last(rng, (batch, C, H, H)),
                    rng.standard_normal((batch, C, 1, 1)).astype(np.float32)):
            ws = {}

            def after():
                y = fast.conv2d_forward(x, W, b, 1, 1, ws)[0]
                y += add

            fast.threads.hold_blas()
            t = alternate({"after": after, "epilogue": lambda: fast.conv2d_forward(
                x, W, b, 1, 1, ws, add)}, repeats)
            cells.append(f"{t['after'] * 1e3:5.2f} → {t['epilogue'] * 1e3:5.2f}")
        out(f"  {C:3d}→{C:3d} @{H:2d}×{H:<2d}: residual {cells[0]}, shift {cells[1]}")


def bench_levers(batch: int = 64, repeats: int = 7, out=print):
    from ..nn.fast import keep_freed_memory
    from .unet import threads_line
    keep_freed_memory()
    rng = np.random.default_rng(0)
    out(threads_line())
    out(f"batch {batch}, {repeats} alternated repeats each")
    conv_routes(batch, repeats, rng, out)
    norm_silu(batch, repeats, rng, out)
    narrow(batch, repeats, rng, out)
    epilogue_add(batch, repeats, rng, out)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=7)
    a = p.parse_args()
    bench_levers(a.batch, a.repeats)
