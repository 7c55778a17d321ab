"""The 1×1, stride-1 convolution of the fast tier: a matrix product over channels, in the
memory order the input comes in, chunked over the batch."""
import numpy as np

from .im2col import epilogue
from .layout import is_channels_last, nchw, nhwc
from .threads import chunk_bounds, run_chunks


def conv1x1_forward(x, W, b, add=None):
    """y[n] = W·x[n] + b over channels, in x's memory order: one (n·H·W, C)·(C, O) GEMM per
    chunk channels last, (O, C)·(C, H·W) per image otherwise."""
    O, C = W.shape[:2]
    N, HW = x.shape[0], x.size // (x.shape[0] * C)
    Wm = W.reshape(O, C)
    chunks = chunk_bounds(N, (C + O) * HW * x.itemsize)
    if is_channels_last(x):
        xr, y = nhwc(x).reshape(N, HW, C), np.empty((N, x.shape[2], x.shape[3], O), x.dtype)
        finish = epilogue(b, add)

        def chunk(_, n0, n1, w):
            n = n1 - n0
            np.matmul(xr[n0:n1].reshape(n * HW, C), Wm.T, out=y[n0:n1].reshape(n * HW, O))
            finish(y[n0:n1], n0, n1)

        run_chunks(chunk, chunks)
        return nchw(y), ("1x1", x, W)
    x = np.ascontiguousarray(x)
    xr, y = x.reshape(N, C, HW), np.empty((N, O) + x.shape[2:], x.dtype)
    finish = epilogue(b, add, channels_last=False)

    def chunk(_, n0, n1, w):
        np.matmul(Wm, xr[n0:n1], out=y[n0:n1].reshape(n1 - n0, O, HW))
        finish(y[n0:n1], n0, n1)

    run_chunks(chunk, chunks)
    return y, ("1x1", x, W)


def conv1x1_backward(dout, x, W):
    O, C = W.shape[:2]
    N, HW = x.shape[0], x.size // (x.shape[0] * C)
    expected = (N, O) + x.shape[2:]
    if dout.shape != expected:
        raise ValueError(f"conv2d_backward: dout has shape {dout.shape}, expected {expected}")
    Wm = W.reshape(O, C)
    chunks = chunk_bounds(N, (C + O) * HW * x.itemsize)
    dW_parts = np.empty((len(chunks), O, C), dout.dtype)
    db_parts = np.empty((len(chunks), O), dout.dtype)
    if is_channels_last(x):
        dy = np.ascontiguousarray(nhwc(dout)).reshape(N, HW, O)
        xr, dx = nhwc(x).reshape(N, HW, C), np.empty((N, HW, C), dout.dtype)

        def chunk(i, n0, n1, w):
            n = n1 - n0
            dyc = dy[n0:n1].reshape(n * HW, O)
            np.matmul(dyc, Wm, out=dx[n0:n1].reshape(n * HW, C))            # "mo,oc->mc"
            np.matmul(dyc.T, xr[n0:n1].reshape(n * HW, C), out=dW_parts[i])  # "mo,mc->oc"
            np.matmul(np.ones(n * HW, dout.dtype), dyc, out=db_parts[i])     # Σ dy: a GEMV

        run_chunks(chunk, chunks)
        dx = nchw(dx.reshape(N, x.shape[2], x.shape[3], C))
    else:
        dy, xr = np.ascontiguousarray(dout).reshape(N, O, HW), x.reshape(N, C, HW)
        dx = np.empty((N, C, HW), dout.dtype)

        def chunk(i, n0, n1, w):
            np.matmul(Wm.T, dy[n0:n1], out=dx[n0:n1])
            dW_parts[i] = np.matmul(dy[n0:n1], xr[n0:n1].transpose(0, 2, 1)).sum(axis=0)
            db_parts[i] = dy[n0:n1].sum(axis=(0, 2))

        run_chunks(chunk, chunks)
        dx = dx.reshape(x.shape)
    return dx, dW_parts.sum(axis=0).reshape(O, C, 1, 1), db_parts.sum(axis=0)
