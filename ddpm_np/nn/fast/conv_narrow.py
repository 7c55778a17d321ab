"""Stride-1 "same" convolutions with very few channels on one side (the UNet's 1 → 32 input and
32 → 1 output convolutions; RGB's 3): the products formed on the wide side, then shifted and
added, instead of an im2col of the wide side.

An im2col of C channels copies kh·kw·C numbers a pixel; for a GEMM with one output column that
copy is the whole cost. With taps d = (i − p, j − p) and W_d the (C, O) slice of tap d,

    y[q]  = Σ_d x[q + d]·W_d           (forward)
    dx[q] = Σ_d dy[q − d]·W_dᵀ         (input gradient)

so when O is small the forward pass is one GEMM on x as it is, Z[q, d] = x[q]·W_d (kh·kw·O
columns), and y[q] = Σ_d Z[q + d, d]: kh·kw shifted additions of narrow arrays (`shift_add`).
When C is small the input gradient is the same with dy and the transposed taps, and the
weight gradient needs only the im2col of the narrow side:

    dW_d = Σ_q x[q + d]ᵀ·dy[q] = Σ_q x[q]ᵀ·dy[q − d],   the windows of the padded dy (flipped).

Arrays are channels last, (n, H, W, ·), per chunk of the batch (`narrow_forward`,
`narrow_backward` and conv.py's backward pass run the chunks).
"""
import numpy as np

from .im2col import epilogue, im2col_nhwc, pad_into
from .layout import buffer, nchw, nhwc
from .threads import chunk_bounds, largest, run_chunks

NARROW_CHANNELS = 3      # at most this many channels on the narrow side (measured: docs)


def is_same_stride1(kh, kw, stride, padding) -> bool:
    """An odd square kernel, stride 1, padding (k − 1)/2: output size = input size."""
    return kh == kw and kh % 2 == 1 and stride == 1 and padding == (kh - 1) // 2


def narrow_output(kh, kw, stride, padding, C, O, limit=NARROW_CHANNELS) -> bool:
    """Forward and weight gradient by the narrow route: at most `limit` output channels, more
    inputs."""
    return is_same_stride1(kh, kw, stride, padding) and O <= limit < C


def narrow_input(kh, kw, stride, padding, C, O, limit=NARROW_CHANNELS) -> bool:
    """Input gradient by the narrow route: at most `limit` input channels, more outputs."""
    return is_same_stride1(kh, kw, stride, padding) and C <= limit < O


def tap_matrix(W):
    """W (O, C, k, k) -> (C, k·k·O): column block d holds W_d, taps in row-major order."""
    O, C, kh, kw = W.shape
    return W.transpose(1, 2, 3, 0).reshape(C, kh * kw * O)


def shift_add(Z, out, k, sign):
    """out[:, h, w] = Σ_d Z[:, h + sign·d_h, w + sign·d_w, d] over the taps d that stay inside
    the image (zero padding), Z (n, H, W, k·k, K), out (n, H, W, K): the centre tap is copied,
    the others added over the rows and columns they reach."""
    n, H, W, _, K = Z.shape
    p = (k - 1) // 2
    np.copyto(out, Z[:, :, :, p * k + p])
    for i in range(k):
        for j in range(k):
            dh, dw = sign * (i - p), sign * (j - p)
            if dh == dw == 0:
                continue
            h0, h1 = max(0, -dh), H - max(0, dh)           # output rows whose source is inside
            w0, w1 = max(0, -dw), W - max(0, dw)
            out[:, h0:h1, w0:w1] += Z[:, h0 + dh:h1 + dh, w0 + dw:w1 + dw, i * k + j]
    return out


def narrow_forward(x, W, b, workspace, add=None):
    """A "same" stride-1 convolution to a few channels (see above): per chunk, one GEMM
    Z = x·[W_d] over the taps d, then y[q] = Σ_d Z[q + d, d] + b."""
    N, C, H, Wd = x.shape
    O, _, k, _ = W.shape
    x_nhwc = np.ascontiguousarray(nhwc(x))
    Tm = tap_matrix(W)
    out = np.empty((N, H, Wd, O), x.dtype)
    chunks = chunk_bounds(N, H * Wd * (C + k * k * O) * x.itemsize)
    rows = largest(chunks) * H * Wd
    finish = epilogue(b, add)

    def chunk(_, n0, n1, w):
        n = n1 - n0
        Z = buffer(workspace, ("narrow_Z", w), (rows, k * k * O), x.dtype)[:n * H * Wd]
        np.matmul(x_nhwc[n0:n1].reshape(n * H * Wd, C), Tm, out=Z)
        shift_add(Z.reshape(n, H, Wd, k * k, O), out[n0:n1], k, +1)
        finish(out[n0:n1], n0, n1)

    run_chunks(chunk, chunks)
    return nchw(out), ("narrow", x_nhwc, W, workspace)


def narrow_backward(dout, x_nhwc, W, ws):
    """Gradients of narrow_forward: one im2col of the padded dy (k·k·O columns, few) per chunk
    serves both dx = D·W_flipped (the stride-1 phase route) and dW = xᵀ·D (taps flipped)."""
    N, H, Wd, C = x_nhwc.shape
    O, _, k, _ = W.shape
    if dout.shape != (N, O, H, Wd):
        raise ValueError(f"conv2d_backward: dout has shape {dout.shape}, expected "
                         f"{(N, O, H, Wd)}")
    p, dt = (k - 1) // 2, dout.dtype
    dy = np.ascontiguousarray(nhwc(dout))
    W_flip = W[:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(k * k * O, C)
    chunks = chunk_bounds(N, H * Wd * (C + k * k * O) * dout.itemsize)
    n_max = largest(chunks)
    dW_parts = np.empty((len(chunks), C, k * k * O), dt)
    db_parts = np.empty((len(chunks), O), dt)
    dx = np.empty((N, H, Wd, C), dt)

    def chunk(i, n0, n1, w):
        n, M = n1 - n0, (n1 - n0) * H * Wd
        dyp = buffer(ws, ("narrow_dyp", w), (n_max, H + 2 * p, Wd + 2 * p, O), dt,
                     zeros=True)[:n]
        pad_into(dy[n0:n1], p, p, dyp)
        D = buffer(ws, ("narrow_D", w), (n_max * H * Wd, k * k * O), dt)[:M]
        im2col_nhwc(dyp, k, k, 1, H, Wd, D)             # D[q, (u, v)] = dy[q + (u, v) − p]
        np.matmul(D, W_flip, out=dx[n0:n1].reshape(M, C))
        np.matmul(x_nhwc[n0:n1].reshape(M, C).T, D, out=dW_parts[i])
        np.matmul(np.ones(M, dt), dy[n0:n1].reshape(M, O), out=db_parts[i])

    run_chunks(chunk, chunks)
    dW = dW_parts.sum(axis=0).reshape(C, k, k, O)[:, ::-1, ::-1].transpose(3, 0, 1, 2)
    return nchw(dx), np.ascontiguousarray(dW), db_parts.sum(axis=0)
