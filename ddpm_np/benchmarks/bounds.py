"""What bounds the UNet's speed: the matrix products of its convolutions, alone.

For every convolution of a training step, the im2col route multiplies three matrices: the
forward pass (rows = output pixels, K = C·kh·kw, columns = O), the weight gradient (K × rows ·
rows × O) and the input gradient (rows × O·kh·kw · … × C). `gemm_floor` times exactly those
products as the fast tier runs them: in chunks of rows whose patch matrix is about 2 MiB (so
that it stays in cache), one chunk per core, nothing else around them: no im2col, no
normalisation, no Python between layers. A chunk is timed on one thread and the total scaled
by rows/chunk rows and divided by the cores, as if every core ran chunks without a pause. That
is the fastest the chunked im2col + GEMM design can take a step on this machine; the gap
between it and a measured step is everything that is not a multiply-add.

(The same products as whole matrices on the BLAS's own threads run far slower: a
(50,176 × 288)·(288 × 32) product at 57 GFLOP/s a core against 93 for chunks of 3,136 rows,
which is why the fast tier chunks.)
"""
from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from ..nn import UpsampleConv2d
from .flops import conv_flops
from .tools import best_time, convs_seen


def conv_gemm_shapes(model, run) -> list:
    """(M, K, N, C) of every convolution called during `run()`: its forward GEMM (M×K)·(K×N)
    as performed (an up-sampling convolution at low resolution counts as its four phases'
    products) and its input channels C."""
    seen = convs_seen(model, run)
    shapes = []
    for m, shape in seen:
        O, C, kh, kw = m.W.shape
        # the im2col route's products (a Winograd layer's are fewer: not this floor's design),
        # an up-sampling convolution's at low resolution
        flops = conv_flops(m, shape, performed=isinstance(m, UpsampleConv2d))
        M = flops // (2 * C * kh * kw * O)                      # output pixels, all images
        shapes.append((M, C * kh * kw, O))
        shapes[-1] += (C,)
    return shapes


def gemm_floor(shapes, repeats: int = 3, cores: int | None = None, chunk_bytes: int = 2 << 20,
               rng=None) -> dict:
    """Seconds of the forward GEMMs and of all three GEMMs of a training step, for `shapes`
    (M, K, N, C): forward (m×K)·(K×N), weight gradient (K×m)·(m×N), input gradient as the fast
    tier computes it, windows of dy times the flipped kernel, (m×N·k)·(N·k×C) with k = K/C taps;
    m the rows of a chunk of about `chunk_bytes` of patches; each timed on one thread (best of
    `repeats`), scaled to M rows and divided among `cores` (default: the fast tier's threads)."""
    from ..nn.fast import num_threads
    rng = rng or np.random.default_rng(0)
    cores = cores or num_threads()
    total_fwd = total = 0.0
    with threadpool_limits(1):
        for M, K, N, C in shapes:
            m = int(min(M, max(64, chunk_bytes // (4 * K))))
            a = rng.standard_normal((m, K), dtype=np.float32)
            w = rng.standard_normal((K, N), dtype=np.float32)
            dy = rng.standard_normal((m, N), dtype=np.float32)
            dcols = rng.standard_normal((m, N * K // C), dtype=np.float32)
            w_flip = rng.standard_normal((N * K // C, C), dtype=np.float32)
            out, dw_out, dx_out = (np.empty((m, N), np.float32), np.empty((K, N), np.float32),
                                   np.empty((m, C), np.float32))
            scale = M / m / cores
            fwd = best_time(lambda: np.matmul(a, w, out=out), repeats) * scale
            dw = best_time(lambda: np.matmul(a.T, dy, out=dw_out), repeats) * scale
            dx = best_time(lambda: np.matmul(dcols, w_flip, out=dx_out), repeats) * scale
            total_fwd += fwd
            total += fwd + dw + dx
    return {"forward_s": total_fwd, "step_s": total}
