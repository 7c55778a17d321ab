"""The input gradient of a convolution as s² small convolutions of dy, one per phase of x.

Forward (conv.py): y[i, j] = Σ_{u,v} W[u, v]·x_pad[s·i + u, s·j + v], with x_pad[h + p] = x[h]
(channels left out). So x[h, w] receives dy[i, j]·W[u, v] for every s·i + u = h + p. Split the
rows of x by phase, h = s·m + a (a = 0 … s−1): the kernel rows that reach phase a are
u ≡ (a + p) mod s, that is u_q = (a + p) mod s + s·q for q = 0 … n_a − 1 (n_a taps), each from
dy row i = m + d_a − q with d_a = ⌊(a + p)/s⌋. Columns likewise. Hence

    dx[s·m + a, s·l + b] = Σ_{q, q'} dy[m + d_a − q, l + d_b − q'] · W[u_q, v_q']ᵀ

with dy zero outside its Ho×Wo: phase (a, b) of dx is a stride-1 convolution of the zero-padded
dy with the taps of that phase, reversed (window row r holds q = n_a − 1 − r). Each is an im2col
of dy and one GEMM, and each kernel offset serves exactly one phase, so the multiply-adds add up
to those of a single dy·Wᵀ, with no col2im. For stride 1 there is one phase with every tap: the
familiar "convolve the padded dy with the flipped kernel".
"""


def _taps(a, k, s, p, n_x):
    """(kernel offsets reaching phase a, reversed; number of x rows in the phase; d_a)."""
    us = list(range((a + p) % s, k, s))
    return us[::-1], len(range(a, n_x, s)), (a + p) // s


def phase_plan(H, Wd, Ho, Wo, kh, kw, stride, padding):
    """How to pad dy and where each phase's windows start.

    Returns (top, left, bottom, right), the zero padding of dy, and a list with one entry per
    phase (a, b): (a, b, Ma, Mb, r0, c0, us, vs): the phase has Ma×Mb pixels of x; its windows
    are n_a×n_b = len(us)×len(vs) pixels of the padded dy, the one for x pixel (m, l) starting at
    (r0 + m, c0 + l); us, vs are the kernel rows and columns of the window rows and columns
    (empty when no tap reaches the phase, as for a 1×1 kernel with stride 2).
    """
    s, p = stride, padding
    rows = [(a,) + _taps(a, kh, s, p, H) for a in range(s)]
    cols = [(b,) + _taps(b, kw, s, p, Wd) for b in range(s)]

    def pads(phases, n_dy):
        used = [(len(t), M, d) for _, t, M, d in phases if t and M]
        before = max([n_taps - 1 - d for n_taps, M, d in used] + [0])
        after = max([M - 1 + d - (n_dy - 1) for _, M, d in used] + [0])
        return before, after

    (top, bottom), (left, right) = pads(rows, Ho), pads(cols, Wo)
    plan = [(a, b, Ma, Mb, da - len(us) + 1 + top, db - len(vs) + 1 + left, us, vs)
            for a, us, Ma, da in rows for b, vs, Mb, db in cols]
    return (top, left, bottom, right), plan


def phase_weights(W, plan):
    """Per phase, the GEMM's right-hand side (n_a·n_b·O, C), rows ordered (window row, window
    column, O) like the windows' im2col; None for a phase no tap reaches."""
    return [W[:, :, us][:, :, :, vs].transpose(2, 3, 0, 1).reshape(-1, W.shape[1])
            if us and vs else None for *_, us, vs in plan]
