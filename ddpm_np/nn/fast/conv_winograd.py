"""The Winograd route of the fast convolution (winograd.py has the algebra): the batch in
chunks on every core, each padded into a buffer whose tiles the route reads; forward, and
backward with dx and dW both in the transformed domain."""
import numpy as np

from .im2col import epilogue, pad_into
from .layout import buffer, nchw, nhwc
from .threads import chunk_bounds, largest, run_chunks
from .winograd import (padded_shape, tile_view, transform_weights, weight_grad,
                       weight_grad_chunk, winograd_chunk)


def winograd_forward(x, W, b, workspace, m, add=None):
    """The 3×3 stride-1 forward pass by F(2×2, 3×3), chunked like the im2col route; the cache is
    the im2col route's (the padded input, as a view of the Winograd route's larger buffer)."""
    N, C, H, Wd = x.shape
    O = W.shape[0]
    xp = buffer(workspace, ("xp_wg", m), padded_shape(N, H, Wd, C, m), x.dtype, zeros=True)
    U = transform_weights(W, m)
    out = np.empty((N, H, Wd, O), x.dtype)
    x_nhwc = nhwc(x)
    chunks = chunk_bounds(N, (m + 2) ** 2 * H * Wd * (C + O) * x.itemsize // m ** 2)
    n_max = largest(chunks)
    tv = tile_view(xp, H, Wd, m)
    finish = epilogue(b, add)

    def chunk(_, n0, n1, w):
        pad_into(x_nhwc[n0:n1], 1, 1, xp[n0:n1])
        winograd_chunk(tv[n0:n1], U, out[n0:n1], workspace, w, n_max)
        finish(out[n0:n1], n0, n1)

    run_chunks(chunk, chunks)
    return nchw(out), ("winograd", xp, x.shape, W, m, workspace)


def winograd_backward(dout, xp, x_shape, W, m, ws):
    """Gradients of winograd_forward, all three by F(m×m, 3×3) per chunk: db = Σ dy; dW in the
    transformed domain (winograd.weight_grad_chunk) from the input tiles and dy's output blocks;
    dx = dy ⋆ flipped W, dy zero-bordered in a buffer whose interior also gives the blocks."""
    N, C, H, Wd = x_shape
    O = W.shape[0]
    if dout.shape != (N, O, H, Wd):
        raise ValueError(f"conv2d_backward: dout has shape {dout.shape}, expected "
                         f"{(N, O, H, Wd)}")
    dt, a2 = dout.dtype, (m + 2) ** 2
    th, tw = -(-H // m), -(-Wd // m)
    U_flip = transform_weights(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3), m)
    chunks = chunk_bounds(N, a2 * H * Wd * (C + O) * dout.itemsize // m ** 2)
    n_max = largest(chunks)
    dU_parts = np.empty((len(chunks), a2, C, O), dt)
    db_parts = np.empty((len(chunks), O), dt)
    dx = np.empty((N, H, Wd, C), dt)
    dy = nhwc(dout)
    tv = tile_view(xp, H, Wd, m)
    views = {}                  # per worker: the tiles of its dy buffer, made once a call

    def chunk(i, n0, n1, w):
        n = n1 - n0
        dyc = np.ascontiguousarray(dy[n0:n1])
        np.matmul(np.ones(n * H * Wd, dt), dyc.reshape(-1, O), out=db_parts[i])
        dyp = buffer(ws, ("dyp_wg", w, m), padded_shape(n_max, H, Wd, O, m), dt, zeros=True)
        pad_into(dyc, 1, 1, dyp[:n])
        blocks = dyp[:n, 1:1 + m * th, 1:1 + m * tw].reshape(n, th, m, tw, m, O)
        weight_grad_chunk(tv[n0:n1], blocks, dU_parts[i], ws, w, n_max)
        if w not in views:
            views[w] = tile_view(dyp, H, Wd, m)
        winograd_chunk(views[w][:n], U_flip, dx[n0:n1], ws, w, n_max)

    run_chunks(chunk, chunks)
    return nchw(dx), weight_grad(dU_parts.sum(axis=0)), db_parts.sum(axis=0)
