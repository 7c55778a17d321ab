"""Finite-difference gradient checks — public, because learners use them too.

- `numerical_gradient(f, x)`: central differences (f(x+h·e_i) − f(x−h·e_i))/2h, element by element.
- `rel_error(a, b)`: max |a−b| / max(|a|+|b|, tiny), a scale-free error.
- `check_module(module, inputs, rng)`: every input and parameter gradient of a Module against
  central differences of L = Σ dout ⊙ module(*inputs) (use float64 and small shapes).
- `random_direction_check(module, inputs, rng)`: for big modules, one random direction v per
  argument: ⟨dout, J·v⟩ from finite differences vs ⟨Jᵀ·dout, v⟩ from backward.
"""
from __future__ import annotations

import numpy as np


def rel_error(a, b) -> float:
    """max|a − b| / max(max(|a| + |b|), 1e-300)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), 1e-300))


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6, indices=None) -> np.ndarray:
    """Central-difference gradient of the scalar f() with respect to the array x (perturbed in
    place and restored). `indices`: optional iterable of flat indices to check (others stay 0)."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient needs a contiguous array to perturb in place")
    for i in (range(flat.size) if indices is None else indices):
        old = flat[i]
        flat[i] = old + h
        fp = f()
        flat[i] = old - h
        fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * h)
    return grad


def _as_tuple(v):
    return v if isinstance(v, tuple) else (v,)


def _analytic_and_loss(module, inputs, rng):
    """Backward of a random cotangent dout (filling the parameters' grads) and the scalar
    L = Σ dout ⊙ module(*inputs) whose gradient that is. Returns (input gradients, L as a
    function of the current inputs and parameters)."""
    out = module(*inputs)
    dout = rng.standard_normal(out.shape).astype(out.dtype)
    module.zero_grad()
    dxs = _as_tuple(module.backward(dout))

    def loss():
        return float(np.sum(module(*inputs) * dout, dtype=np.float64))
    return dxs, loss


def check_module(module, inputs, rng: np.random.Generator, h: float = 1e-6,
                 max_per_param: int | None = None, input_grads=True) -> dict:
    """Compare analytic and numerical gradients of Σ dout ⊙ module(*inputs).

    inputs: an array or a tuple of arrays (float64 for meaningful errors; they are perturbed in
    place and restored). `max_per_param` limits each check to that many random elements.
    `input_grads` False skips inputs (e.g. integer timesteps). Returns {name: rel_error}, names
    `input0`, `input1`, ... and the parameters' dotted names.
    """
    inputs = _as_tuple(inputs)
    dxs, loss = _analytic_and_loss(module, inputs, rng)

    def pick(a):
        if max_per_param is None or a.size <= max_per_param:
            return None
        return rng.choice(a.size, size=max_per_param, replace=False)

    errors = {}
    if input_grads:
        for i, (x, dx) in enumerate(zip(inputs, dxs)):
            idx = pick(x)
            num = numerical_gradient(loss, x, h, idx)
            ana = dx if idx is None else dx.reshape(-1)[idx]
            num = num if idx is None else num.reshape(-1)[idx]
            errors[f"input{i}"] = rel_error(ana, num)
    for name, p in module.named_parameters():
        idx = pick(p.data)
        num = numerical_gradient(loss, p.data, h, idx)
        ana = p.grad if idx is None else p.grad.reshape(-1)[idx]
        num = num if idx is None else num.reshape(-1)[idx]
        errors[name] = rel_error(ana, num)
    return errors


def random_direction_check(module, inputs, rng: np.random.Generator, h: float = 1e-5,
                           input_grads=True) -> dict:
    """Directional-derivative check for big modules, one random direction per argument.

    For each input and each parameter θ with a random direction v:
        ⟨dout, (f(θ+h·v) − f(θ−h·v))/2h⟩  vs  ⟨∂L/∂θ, v⟩,  L = Σ dout ⊙ f.
    Returns {name: rel_error} (same names as check_module) and {"all_params": …} for a single
    simultaneous direction over every parameter.
    """
    inputs = _as_tuple(inputs)
    dxs, loss = _analytic_and_loss(module, inputs, rng)

    def directional(arrays, vs):
        for a, v in zip(arrays, vs):
            a += h * v
        fp = loss()
        for a, v in zip(arrays, vs):
            a -= 2 * h * v
        fm = loss()
        for a, v in zip(arrays, vs):
            a += h * v
        return (fp - fm) / (2 * h)

    def unit(shape):
        # unit-norm directions keep the finite-difference step h small in every case, so the
        # truncation error stays O(h²) even for a direction over a million parameters
        v = rng.standard_normal(shape)
        return v / np.linalg.norm(v)

    errors = {}
    if input_grads:
        for i, (x, dx) in enumerate(zip(inputs, dxs)):
            v = unit(x.shape)
            errors[f"input{i}"] = rel_error(directional([x], [v]), np.sum(dx * v))
    params = list(module.named_parameters())
    total = sum(p.data.size for _, p in params)
    vs = [unit(p.data.shape) * np.sqrt(p.data.size / total) for _, p in params]
    for (name, p), v in zip(params, vs):
        v = v / np.linalg.norm(v)
        errors[name] = rel_error(directional([p.data], [v]), np.sum(p.grad * v))
    errors["all_params"] = rel_error(directional([p.data for _, p in params], vs),
                                     sum(np.sum(p.grad * v) for (_, p), v in zip(params, vs)))
    return errors
