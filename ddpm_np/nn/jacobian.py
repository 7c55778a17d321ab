"""The exact Jacobian of a module's output with respect to its input, by backward passes.

Row k of J = ∂y/∂x is e_kᵀ·J, the input gradient of a backward pass with the unit output
gradient e_k. For D outputs that is D backward passes; here they run as one batched pass on D
copies of each sample, in chunks of at most `rows` copies. No trace estimator, no finite
differences: the Jacobian is exact to the floating point of the module's dtype.
"""
import numpy as np

from ..checks import check_int


def jacobian(module, x, *args, rows: int = 2048):
    """(y, J) for y = module(x, *args): x (B, ...) with D numbers a sample, every arg (B, ...).

    Returns y (B, ...) and J (B, D, D) with J[b, k, j] = ∂y[b]_k/∂x[b]_j (the module's output
    must have the shape of its input, as ε_θ does). The module's parameter gradients are
    accumulated by the backward passes and are meaningless afterwards; the module is put in
    training mode for the passes (it needs its caches) and back as it was.
    """
    rows = check_int(rows, "rows")
    B = len(x)
    D = int(np.prod(x.shape[1:]))
    per_chunk = max(1, rows // D)                   # samples whose D copies fit in `rows`
    y = np.empty_like(x)
    J = np.empty((B, D, D), x.dtype)
    eye = np.eye(D, dtype=x.dtype).reshape((D,) + x.shape[1:])
    was_training = module.training
    module.train()
    try:
        for s in range(0, B, per_chunk):
            e = min(B, s + per_chunk)
            n = e - s
            # 1. D copies of each sample: rows (b, k), k = the output whose gradient is e_k
            xs = np.repeat(x[s:e], D, axis=0)
            extra = [np.repeat(a[s:e], D, axis=0) for a in args]
            out = module(xs, *extra)
            y[s:e] = out[::D]
            # 2. one backward pass with the unit gradients e_k: the input gradient of row
            #    (b, k) is row k of sample b's Jacobian
            dx = module.backward(np.tile(eye, (n,) + (1,) * (x.ndim - 1)))
            J[s:e] = dx.reshape(n, D, D)
    finally:
        module.train(was_training)
    return y, J
