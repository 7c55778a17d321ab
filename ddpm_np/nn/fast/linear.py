"""Linear layers and per-sample attention products, fast tier: the reference numbers with the
rows (or samples) cut into chunks that run on every core.

Inside a model pass the BLAS is held to one thread (threads.py), so a product that is not cut
into chunks runs on one core: the attention block's (N·H·W, C)·(C, 3C) projections and its
N small (L, L) products are the UNet's. Weight gradients are summed over the chunks' partial
sums in chunk order, so the result does not depend on the thread count.
"""
import numpy as np

from ..attention import attend_backward, attend_forward
from .threads import chunk_bounds, run_chunks

MIN_ROWS = 1024          # below this many rows one product on the calling thread


def linear_forward(x, W, b):
    """As `ddpm_np.nn.linear_forward`: y = x·W + b over the last axis, as one (M, in) matrix
    in row chunks. Cache: (x, W)."""
    x2 = x.reshape(-1, x.shape[-1])
    M = x2.shape[0]
    if M < MIN_ROWS:                # one product on this thread, the bias added in place
        y = x @ W
        y += b
        return y, (x, W)
    y = np.empty((M, W.shape[1]), np.result_type(x, W))

    def chunk(_, r0, r1, w):
        np.matmul(x2[r0:r1], W, out=y[r0:r1])
        y[r0:r1] += b

    run_chunks(chunk, chunk_bounds(M, (W.shape[0] + W.shape[1]) * x.itemsize))
    return y.reshape(x.shape[:-1] + (W.shape[1],)), (x, W)


def linear_backward(dout, cache):
    """Gradients (dx, dW, db) as `ddpm_np.nn.linear_backward`, in row chunks."""
    x, W = cache
    x2, d2 = x.reshape(-1, x.shape[-1]), dout.reshape(-1, dout.shape[-1])
    M = x2.shape[0]
    if M < MIN_ROWS:                # Σ over the rows as a GEMV: half the time of a sum
        return dout @ W.T, x2.T @ d2, np.ones(M, d2.dtype) @ d2
    chunks = chunk_bounds(M, (W.shape[0] + W.shape[1]) * x.itemsize)
    dx = np.empty(x2.shape, d2.dtype)
    dW_parts = np.empty((len(chunks),) + W.shape, d2.dtype)
    db_parts = np.empty((len(chunks), W.shape[1]), d2.dtype)

    def chunk(i, r0, r1, w):
        np.matmul(d2[r0:r1], W.T, out=dx[r0:r1])
        np.matmul(x2[r0:r1].T, d2[r0:r1], out=dW_parts[i])
        np.matmul(np.ones(r1 - r0, d2.dtype), d2[r0:r1], out=db_parts[i])

    run_chunks(chunk, chunks)
    return dx.reshape(x.shape), dW_parts.sum(axis=0), db_parts.sum(axis=0)


def _per_sample_chunks(fn, n, sample_bytes, *arrays):
    """fn(*slices) on chunks of the batch axis in parallel; the results (tuples of arrays with
    the batch first) put together in batch order."""
    chunks = chunk_bounds(n, sample_bytes)
    parts = [None] * len(chunks)

    def chunk(i, n0, n1, w):
        parts[i] = fn(*(a[n0:n1] for a in arrays))

    run_chunks(chunk, chunks)
    return tuple(np.concatenate(p) if len(parts) > 1 else p[0] for p in zip(*parts))


def attend_forward_chunks(q, k, v, scale):
    """`ddpm_np.nn.attend_forward` on chunks of the batch, every core."""
    N, L, C = q.shape
    return _per_sample_chunks(lambda q_, k_, v_: attend_forward(q_, k_, v_, scale), N,
                              (3 * L * C + 2 * L * L) * q.itemsize, q, k, v)


def attend_backward_chunks(do, q, k, v, A, scale):
    """`ddpm_np.nn.attend_backward` on chunks of the batch, every core."""
    N, L, C = q.shape
    return _per_sample_chunks(lambda *a: attend_backward(*a, scale), N,
                              (7 * L * C + 3 * L * L) * q.itemsize, do, q, k, v, A)
