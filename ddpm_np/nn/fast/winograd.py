"""Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray 2016) for the 3×3, stride-1,
padding-1 convolutions: 2.25× fewer multiplications than im2col + GEMM.

Each 2×2 block of outputs y depends on a 4×4 tile d of the padded input (tiles overlap by two
rows and columns). For one input and one output channel, with the kernel g (3×3),

    y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,        Bᵀ (4×4), G (4×3), Aᵀ (2×4) below,

16 multiplications for 4 outputs instead of 36. Over channels the ⊙ becomes, for each of the
16 tile positions, a matrix product over C: M_k = V_k · U_k with V_k (tiles × C) the transformed
input and U_k (C × O) the transformed kernel. So a chunk of the batch takes

    D  (16, n·T, C)   the tiles, gathered by one copy (T tiles per image)
    V  = (Bᵀ ⊗ Bᵀ) · D             one (16×16) GEMM over every tile and channel
    M  = V_k · U_k, k = 1 … 16      16 GEMMs (n·T × C)·(C × O): the multiply-adds
    Y  = (Aᵀ ⊗ Aᵀ) · M             one (4×16) GEMM, then the 2×2 blocks into the output

The transforms are written as products with the Kronecker matrices, not as element-wise adds:
a 16×16 GEMM streams D once, where sixteen NumPy additions would stream it many times.
Rounding: the transforms' entries are 0, ±1, ±½; in float32 the result differs from im2col's by
a few units in the last place (tests/nn/fast/test_winograd.py bounds it).
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .layout import buffer

B_T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float64)
A_T = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64)
BB, GG, AA = np.kron(B_T, B_T), np.kron(G, G), np.kron(A_T, A_T)   # 16×16, 16×9, 4×16


def tiles(H: int, W: int) -> tuple:
    """(tile rows, tile columns): 2×2 output blocks covering an H×W output."""
    return -(-H // 2), -(-W // 2)


def padded_shape(N, H, W, C) -> tuple:
    """The zero-bordered input a chunk reads: one row/column of padding before, enough after
    for whole tiles (one more than the convolution's padding when H or W is odd)."""
    th, tw = tiles(H, W)
    return (N, 2 * th + 2, 2 * tw + 2, C)


def transform_weights(W):
    """U = G g Gᵀ for every (output, input) channel pair: W (O, C, 3, 3) -> (16, C, O)."""
    O, C = W.shape[:2]
    g = W.reshape(O, C, 9).astype(np.float64).transpose(2, 1, 0).reshape(9, C * O)
    return (GG @ g).reshape(16, C, O).astype(W.dtype)


def winograd_chunk(xp, U, out, workspace, worker, n_max):
    """out (n, H, W, O) = the convolution of a chunk's padded input xp (n, 2·th+2, 2·tw+2, C),
    NHWC, with the transformed kernel U (16, C, O); scratch from `workspace` per worker."""
    n, H, W, O = out.shape
    C = xp.shape[3]
    th, tw = tiles(H, W)
    T, dt = th * tw, xp.dtype
    D = buffer(workspace, ("wg_D", worker), (16 * n_max * T * C,), dt)[:16 * n * T * C]
    V = buffer(workspace, ("wg_V", worker), (16 * n_max * T * C,), dt)[:16 * n * T * C]
    M = buffer(workspace, ("wg_M", worker), (16 * n_max * T * O,), dt)[:16 * n * T * O]
    Y = buffer(workspace, ("wg_Y", worker), (4 * n_max * T * O,), dt)[:4 * n * T * O]
    win = sliding_window_view(xp, (4, 4), axis=(1, 2))[:, ::2, ::2][:, :th, :tw]
    np.copyto(D.reshape(4, 4, n, th, tw, C), win.transpose(4, 5, 0, 1, 2, 3))
    np.matmul(BB.astype(dt), D.reshape(16, n * T * C), out=V.reshape(16, n * T * C))
    np.matmul(V.reshape(16, n * T, C), U, out=M.reshape(16, n * T, O))
    np.matmul(AA.astype(dt), M.reshape(16, n * T * O), out=Y.reshape(4, n * T * O))
    Y6 = Y.reshape(2, 2, n, th, tw, O)
    for a in range(2):                  # output rows a, a + 2, …: the block row a of each tile
        for b in range(2):
            np.copyto(out[:, a::2, b::2], Y6[a, b, :, :(H - a + 1) // 2, :(W - b + 1) // 2])
    return out
