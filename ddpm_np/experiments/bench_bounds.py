"""What bounds the UNet's speed: the matrix products of its convolutions, alone.

For every convolution of a training step, the im2col route multiplies three matrices: the
forward pass (rows = output pixels, K = C·kh·kw, columns = O), the weight gradient (K × rows ·
rows × O) and the input gradient (rows × O·kh·kw · … × C). `gemm_floor` times exactly those
products, on random matrices of those shapes, with the BLAS on every core and nothing else
around them: no im2col, no normalisation, no Python. Their sum is the fastest an im2col + GEMM
implementation could take a step on this machine; against the nominal FLOPs it is the ceiling
of the fraction of GEMM such an implementation can report. The gap between the floor and a
measured step is everything else; the floor itself moves only with fewer multiply-adds
(Winograd) or a BLAS that runs these shapes faster.
"""
from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from .bench_tools import best_time, convs_seen


def conv_gemm_shapes(model, run) -> list:
    """(M, K, N, C) of every convolution called during `run()`: its forward GEMM (M×K)·(K×N)
    as performed (an up-sampling convolution at low resolution counts as its four phases'
    products) and its input channels C."""
    seen = convs_seen(model, run)
    shapes = []
    for m, shape in seen:
        O, C, kh, kw = m.W.shape
        flops = m.flops(shape)
        M = flops // (2 * C * kh * kw * O)                      # output pixels, all images
        shapes.append((M, C * kh * kw, O))
        shapes[-1] += (C,)
    return shapes


def gemm_floor(shapes, repeats: int = 3, threads: int | None = None, rng=None) -> dict:
    """Seconds of the forward GEMMs and of all three GEMMs of a training step, for `shapes`
    (M, K, N, C): forward (M×K)·(K×N), weight gradient (K×M)·(M×N), input gradient as the
    fast tier computes it, windows of dy times the flipped kernel, (M×N·k)·(N·k×C) with
    k = K/C taps; each timed alone (best of `repeats`)."""
    rng = rng or np.random.default_rng(0)
    total_fwd = total = 0.0
    with threadpool_limits(threads):
        for M, K, N, C in shapes:
            a = rng.standard_normal((M, K), dtype=np.float32)
            w = rng.standard_normal((K, N), dtype=np.float32)
            dy = rng.standard_normal((M, N), dtype=np.float32)
            dcols = rng.standard_normal((M, N * K // C), dtype=np.float32)
            w_flip = rng.standard_normal((N * K // C, C), dtype=np.float32)
            fwd = best_time(lambda: a @ w, repeats)
            dw = best_time(lambda: a.T @ dy, repeats)
            dx = best_time(lambda: dcols @ w_flip, repeats)
            total_fwd += fwd
            total += fwd + dw + dx
    return {"forward_s": total_fwd, "step_s": total}
