"""Optimizers, gradient clipping, learning-rate schedules and the EMA of weights.

Each optimizer updates `p.data` in place from `p.grad`; `zero_grad()` clears the grads. Their
`state_dict()`/`load_state_dict()` hold plain arrays and numbers, so a checkpoint can resume
training exactly. The learning rate is the attribute `lr`, set per step by a schedule.
"""
from __future__ import annotations

import math

import numpy as np


class Optimizer:
    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        if not lr > 0:
            raise ValueError(f"learning rate must be > 0, got {lr}")
        self.lr = float(lr)
        self.step_count = 0

    def zero_grad(self):
        for p in self.params:
            p.grad[...] = 0

    def _buffers(self) -> dict:
        return {}

    def state_dict(self) -> dict:
        state = {"step_count": np.array(self.step_count), "lr": np.array(self.lr)}
        for name, bufs in self._buffers().items():
            for i, b in enumerate(bufs):
                state[f"{name}.{i}"] = b.copy()
        return state

    def load_state_dict(self, state: dict):
        for name, bufs in self._buffers().items():
            for i, b in enumerate(bufs):
                key = f"{name}.{i}"
                if key not in state or np.shape(state[key]) != b.shape:
                    raise ValueError(f"optimizer state '{key}' is missing or has the wrong shape")
        for name, bufs in self._buffers().items():
            for i, b in enumerate(bufs):
                b[...] = state[f"{name}.{i}"]
        self.step_count = int(state["step_count"])
        self.lr = float(state["lr"])


class SGD(Optimizer):
    """SGD with momentum μ and L2 weight decay λ (PyTorch's convention):
    g ← ∇ + λθ;  v ← μ·v + g;  θ ← θ − lr·v."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        if not 0 <= momentum < 1 or weight_decay < 0:
            raise ValueError(f"SGD: need 0 ≤ momentum < 1 and weight_decay ≥ 0, "
                             f"got {momentum}, {weight_decay}")
        self.momentum, self.weight_decay = momentum, weight_decay
        self.velocity = [np.zeros_like(p.data) for p in self.params]

    def _buffers(self):
        return {"velocity": self.velocity}

    def step(self):
        self.step_count += 1
        for p, v in zip(self.params, self.velocity):
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            if self.momentum:
                v *= self.momentum
                v += g
                g = v
            p.data -= (self.lr * g).astype(p.data.dtype, copy=False)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction; `weight_decay` adds λθ to the gradient (L2).

    m ← b1·m + (1−b1)·g;  v ← b2·v + (1−b2)·g²;  m̂ = m/(1−b1^k);  v̂ = v/(1−b2^k);
    θ ← θ − lr·m̂/(√v̂ + adam_eps).
    """

    decoupled = False

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, adam_eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        if not (0 <= b1 < 1 and 0 <= b2 < 1 and adam_eps > 0 and weight_decay >= 0):
            raise ValueError(f"{type(self).__name__}: need 0 ≤ b1, b2 < 1, adam_eps > 0, "
                             f"weight_decay ≥ 0; got {b1}, {b2}, {adam_eps}, {weight_decay}")
        self.b1, self.b2, self.adam_eps, self.weight_decay = b1, b2, adam_eps, weight_decay
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]

    def _buffers(self):
        return {"m": self.m, "v": self.v}

    def step(self):
        self.step_count += 1
        k = self.step_count
        c1, c2 = 1 - self.b1 ** k, 1 - self.b2 ** k
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad
            if self.weight_decay and not self.decoupled:
                g = g + self.weight_decay * p.data
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * (g * g)
            if self.weight_decay and self.decoupled:
                p.data *= 1 - self.lr * self.weight_decay
            p.data -= (self.lr / c1) * m / (np.sqrt(v / c2) + self.adam_eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): θ ← θ·(1 − lr·λ) before the
    Adam update."""

    decoupled = True

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, adam_eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr, b1, b2, adam_eps, weight_decay)


def clip_grad_norm(params, max_norm: float) -> float:
    """Scale all gradients by min(1, max_norm/‖g‖) with ‖g‖ the global L2 norm; return ‖g‖."""
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm: max_norm must be > 0, got {max_norm}")
    params = list(params)
    total = math.sqrt(sum(float(np.sum(np.square(p.grad, dtype=np.float64))) for p in params))
    if total > max_norm:
        factor = max_norm / (total + 1e-12)
        for p in params:
            p.grad *= p.grad.dtype.type(factor)
    return total


def warmup_cosine_lr(step: int, base_lr: float, warmup_steps: int = 0,
                     total_steps: int | None = None, min_lr: float = 0.0) -> float:
    """Learning rate at optimizer step `step` (1-based): linear warm-up from base_lr/warmup_steps
    to base_lr over `warmup_steps`, then cosine decay to `min_lr` at `total_steps` (constant
    base_lr when total_steps is None)."""
    if step < 1:
        raise ValueError(f"step must be ≥ 1, got {step}")
    if warmup_steps and step <= warmup_steps:
        return base_lr * step / warmup_steps
    if total_steps is None or total_steps <= warmup_steps:
        return base_lr
    frac = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * frac))


class EMA:
    """Exponential moving average of parameters: θ̄ ← d·θ̄ + (1 − d)·θ after each step.

    With `warmup` the k-th update uses d_k = min(decay, (1 + k)/(10 + k)), so that early in a run
    the average is not dominated by the initial weights (with d = 0.999 they would still weigh
    5% after 3,000 steps). Sample with the averaged weights by `swap(params)` (twice to swap
    back) or `copy_to(params)`.
    """

    def __init__(self, params, decay: float = 0.999, warmup: bool = True):
        if not 0 <= decay < 1:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.params = list(params)
        self.decay = float(decay)
        self.warmup = warmup
        self.num_updates = 0
        self.shadow = [p.data.copy() for p in self.params]

    def current_decay(self) -> float:
        k = self.num_updates
        return min(self.decay, (1 + k) / (10 + k)) if self.warmup else self.decay

    def update(self):
        d = self.current_decay()
        self.num_updates += 1
        for s, p in zip(self.shadow, self.params):
            s *= d
            s += (1 - d) * p.data

    def copy_to(self, params=None):
        for s, p in zip(self.shadow, params if params is not None else self.params):
            p.data[...] = s

    def swap(self, params=None):
        """Exchange the live and averaged weights (call again to undo)."""
        for i, p in enumerate(params if params is not None else self.params):
            p.data, self.shadow[i] = self.shadow[i], p.data

    def state_dict(self) -> dict:
        state = {f"shadow.{i}": s.copy() for i, s in enumerate(self.shadow)}
        state["num_updates"] = np.array(self.num_updates)
        return state

    def load_state_dict(self, state: dict):
        self.num_updates = int(state.get("num_updates", self.num_updates))
        for i, s in enumerate(self.shadow):
            key = f"shadow.{i}"
            if key not in state or np.shape(state[key]) != s.shape:
                raise ValueError(f"EMA state '{key}' is missing or has the wrong shape")
            s[...] = state[key]
