"""Winograd's minimal filtering F(m×m, 3×3), m = 2 or 4 (Lavin & Gray 2016), for the 3×3,
stride-1, padding-1 convolutions: 36/(m+2)²·m² = 2.25× (m = 2) or 4× (m = 4) fewer
multiplications than im2col + GEMM.

Each m×m block of outputs y depends on an α×α tile d of the padded input, α = m + 2 (tiles
overlap by two rows and columns). For one input and one output channel, with the kernel g (3×3),

    y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,        Bᵀ (α×α), G (α×3), Aᵀ (m×α) below,

α² multiplications for m² outputs instead of 9·m². Over channels the ⊙ becomes, for each of the
α² tile positions, a matrix product over C: M_k = V_k · U_k with V_k (tiles × C) the transformed
input and U_k (C × O) the transformed kernel. So a chunk of the batch takes

    D  (α², n·T, C)   the tiles, gathered by one copy (T tiles per image)
    V  = (Bᵀ ⊗ Bᵀ) · D             one (α²×α²) GEMM over every tile and channel
    M  = V_k · U_k, k = 1 … α²     α² GEMMs (n·T × C)·(C × O): the multiply-adds
    Y  = (Aᵀ ⊗ Aᵀ) · M             one (m²×α²) GEMM, then the m×m blocks into the output

The transforms are written as products with the Kronecker matrices, not as element-wise adds:
one GEMM streams D once, where α² NumPy additions would stream it many times.
Rounding: F(2×2)'s transforms have entries 0, ±1, ±½ and its float32 result differs from
im2col's by a few units in the last place; F(4×4)'s (interpolation points 0, ±1, ±2) have
entries up to 8 and 1/24, and its float32 error is about ten times larger
(tests/nn/fast/test_winograd.py bounds both).
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .layout import buffer

B_T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float64)
A_T = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64)
# F(4×4, 3×3), interpolation points 0, ±1, ±2 and ∞
B4_T = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                 [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], np.float64)
G4 = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], np.float64)
A4_T = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                 [0, 1, -1, 8, -8, 1]], np.float64)
MATRICES = {2: (B_T, G, A_T), 4: (B4_T, G4, A4_T)}          # m -> (Bᵀ, G, Aᵀ)
KRON = {m: (np.kron(b, b), np.kron(g, g), np.kron(a, a)) for m, (b, g, a) in MATRICES.items()}
_IN_DTYPE = {}                  # (m, dtype) -> (Bᵀ⊗Bᵀ, Aᵀ⊗Aᵀ, (Aᵀ⊗Aᵀ)ᵀ) in that dtype, made once


def _transforms(m, dt):
    key = (m, np.dtype(dt))
    if key not in _IN_DTYPE:
        BB, _, AA = KRON[m]
        _IN_DTYPE[key] = tuple(np.ascontiguousarray(a, dtype=dt) for a in (BB, AA, AA.T))
    return _IN_DTYPE[key]


def tiles(H: int, W: int, m: int = 2) -> tuple:
    """(tile rows, tile columns): m×m output blocks covering an H×W output."""
    return -(-H // m), -(-W // m)


def padded_shape(N, H, W, C, m: int = 2) -> tuple:
    """The zero-bordered input a chunk reads: one row/column of padding before, enough after
    for whole tiles (more than the convolution's padding when m does not divide H or W)."""
    th, tw = tiles(H, W, m)
    return (N, m * th + 2, m * tw + 2, C)


def transform_weights(W, m: int = 2):
    """U = G g Gᵀ for every (output, input) channel pair: W (O, C, 3, 3) -> (α², C, O)."""
    O, C = W.shape[:2]
    g = W.reshape(O, C, 9).astype(np.float64).transpose(2, 1, 0).reshape(9, C * O)
    return (KRON[m][1] @ g).reshape((m + 2) ** 2, C, O).astype(W.dtype)


def tile_view(xp, H, W, m):
    """The α×α input tiles of a padded NHWC array (n, m·th+2, m·tw+2, C) as a view
    (n, th, tw, α, α, C), made once per layer call and sliced per chunk."""
    th, tw = tiles(H, W, m)
    win = sliding_window_view(xp, (m + 2, m + 2), axis=(1, 2))[:, ::m, ::m][:, :th, :tw]
    return win.transpose(0, 1, 2, 4, 5, 3)


def winograd_chunk(tv, U, out, workspace, worker, n_max):
    """out (n, H, W, O) = the convolution of a chunk's padded input, given as its tiles `tv`
    (n, th, tw, α, α, C; tile_view), with the transformed kernel U (α², C, O), m from U's
    size; scratch from `workspace` per worker."""
    n, H, W, O = out.shape
    C, a2 = tv.shape[5], U.shape[0]
    alpha = int(round(a2 ** 0.5))
    m = alpha - 2
    BB, AA, _ = _transforms(m, tv.dtype)
    th, tw = tiles(H, W, m)
    T, dt = th * tw, tv.dtype
    D = buffer(workspace, ("wg_D", worker), (a2 * n_max * T * C,), dt)[:a2 * n * T * C]
    V = buffer(workspace, ("wg_V", worker), (a2 * n_max * T * C,), dt)[:a2 * n * T * C]
    M = buffer(workspace, ("wg_M", worker), (a2 * n_max * T * O,), dt)[:a2 * n * T * O]
    Y = buffer(workspace, ("wg_Y", worker), (m * m * n_max * T * O,), dt)[:m * m * n * T * O]
    np.copyto(D.reshape(alpha, alpha, n, th, tw, C), tv.transpose(3, 4, 0, 1, 2, 5))
    np.matmul(BB, D.reshape(a2, n * T * C), out=V.reshape(a2, n * T * C))
    np.matmul(V.reshape(a2, n * T, C), U, out=M.reshape(a2, n * T, O))
    np.matmul(AA, M.reshape(a2, n * T * O), out=Y.reshape(m * m, n * T * O))
    Ym = Y.reshape(m, m, n, th, tw, O)
    for a in range(m):                  # output rows a, a + m, …: the block row a of each tile
        for b in range(m):
            np.copyto(out[:, a::m, b::m], Ym[a, b, :, :(H - a + m - 1) // m, :(W - b + m - 1) // m])
    return out


def weight_grad_chunk(tv, dy_blocks, out, workspace, worker, n_max):
    """One chunk's share of the weight gradient in the transformed domain: out (α², C, O) =
    Σ over the chunk's tiles of V_k(tile, c)·(Aᵀ⊗Aᵀ)ᵀ dy(tile, o), from the input tiles `tv`
    (n, th, tw, α, α, C; tile_view) and dy's m×m output blocks `dy_blocks` (n, th, m, tw, m, O;
    zero beyond the image). Since the forward pass is y_t = (Aᵀ⊗Aᵀ)·(U ⊙ V_t) per tile t,
    ∂L/∂U_k = Σ_t V_tk·((Aᵀ⊗Aᵀ)ᵀ dy_t)_k: α² GEMMs (C × n·T)·(n·T × O), the same multiply-add
    savings as the forward pass; `weight_grad` then maps U's gradient back to W's."""
    n, th, tw, alpha, _, C = tv.shape
    m, O, a2 = alpha - 2, dy_blocks.shape[5], alpha * alpha
    BB, _, AA_T = _transforms(m, tv.dtype)
    T, dt = th * tw, tv.dtype
    D = buffer(workspace, ("wgw_D", worker), (a2 * n_max * T * C,), dt)[:a2 * n * T * C]
    V = buffer(workspace, ("wgw_V", worker), (a2 * n_max * T * C,), dt)[:a2 * n * T * C]
    Yb = buffer(workspace, ("wgw_Y", worker), (m * m * n_max * T * O,), dt)[:m * m * n * T * O]
    Md = buffer(workspace, ("wgw_M", worker), (a2 * n_max * T * O,), dt)[:a2 * n * T * O]
    np.copyto(D.reshape(alpha, alpha, n, th, tw, C), tv.transpose(3, 4, 0, 1, 2, 5))
    np.matmul(BB, D.reshape(a2, n * T * C), out=V.reshape(a2, n * T * C))
    np.copyto(Yb.reshape(m, m, n, th, tw, O), dy_blocks.transpose(2, 4, 0, 1, 3, 5))
    np.matmul(AA_T, Yb.reshape(m * m, n * T * O), out=Md.reshape(a2, n * T * O))
    np.matmul(V.reshape(a2, n * T, C).transpose(0, 2, 1), Md.reshape(a2, n * T, O), out=out)
    return out


def weight_grad(dU):
    """dW (O, C, 3, 3) from the gradient of U = (G⊗G)·g, dU (α², C, O): dg = (G⊗G)ᵀ·dU."""
    a2, C, O = dU.shape
    GG = KRON[int(round(a2 ** 0.5)) - 2][1]
    dg = GG.T @ dU.reshape(a2, C * O).astype(np.float64)            # (9, C·O)
    return np.ascontiguousarray(dg.reshape(3, 3, C, O).transpose(3, 2, 0, 1)).astype(dU.dtype)
