"""Parameter and Module: the containers of the autograd-free stack.

A `Module` owns `Parameter`s (found by walking its attributes, as in early tinygrad) and keeps the
cache of its last `forward` so that `backward(dout)` can *add* each parameter's gradient into
`p.grad` and return the gradient with respect to the input(s). There is no graph and no tape:
a composite module calls its children's `backward` by hand, in reverse order of `forward`.
"""
from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable array and its gradient (`data` and `grad`, same shape and dtype)."""

    def __init__(self, data: np.ndarray):
        self.data = np.array(data)  # own copy: callers may reuse their array
        if not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(f"Parameter data must be floating point, got {self.data.dtype}")
        self.grad = np.zeros_like(self.data)

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class: `forward` keeps a cache, `backward` consumes it.

    Subclasses implement `forward(*inputs)` and `backward(dout)`. Children are any attributes that
    are Modules, Parameters, or (nested) lists/tuples of Modules; their dotted names (`down.0.conv1.W`)
    follow attribute insertion order, so they are deterministic.
    """

    training: bool = True

    def __call__(self, *args, **kwargs):
        out = self.forward(*args, **kwargs)
        if not self.training:           # inference: nothing kept for a backward pass
            self.__dict__.pop("_cache", None)
        return out

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, dout):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- the cache -------------------------------------------------------------------------
    def _need_cache(self):
        cache = self.__dict__.get("_cache")
        if cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward called before forward: run forward first "
                "(backward needs the cache of the forward pass)")
        return cache

    # -- traversal ---------------------------------------------------------------------------
    def named_children(self):
        """(dotted name, Module) of each child; lists and tuples, nested too, by index
        (`down_blocks.0.1`). None entries (an optional layer left out) are skipped."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                yield from _named_modules(name, value)

    def modules(self):
        yield self
        for _, child in self.named_children():
            yield from child.modules()

    def named_parameters(self, prefix: str = ""):
        """Yield `(dotted_name, Parameter)` in deterministic order, each parameter once."""
        seen = set()
        for name, p in self._named_parameters(prefix):
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def _named_parameters(self, prefix):
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child._named_parameters(f"{prefix}{name}.")

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        return int(sum(p.data.size for p in self.parameters()))

    def zero_grad(self):
        for p in self.parameters():
            p.grad[...] = 0

    def train(self, mode: bool = True):
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        """Inference mode: forward passes keep no caches, so that each activation is freed as
        soon as the next layer has used it (backward then says it needs a forward pass first).
        `train()` turns caching back on."""
        return self.train(False)

    # -- state -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Copies of every parameter array, by dotted name."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict, strict: bool = True):
        """Copy arrays from `state` into the parameters (dtype of the parameter is kept).

        Raises KeyError for missing/unexpected names (when strict) and ValueError naming the
        parameter and both shapes on a shape mismatch. Nothing is written unless all checks pass.
        """
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"state_dict mismatch: missing {_some(missing)}, unexpected "
                           f"{_some(unexpected)}")
        for name, p in own.items():
            if name in state and np.shape(state[name]) != p.data.shape:
                raise ValueError(f"shape mismatch for parameter '{name}': model has "
                                 f"{p.data.shape}, state has {np.shape(state[name])}")
        for name, p in own.items():
            if name in state:
                p.data[...] = state[name]

    def save(self, path):
        """Write `state_dict()` to an `.npz` file (plain arrays, no pickle)."""
        np.savez(path, **self.state_dict())

    def load(self, path, strict: bool = True):
        """Load an `.npz` written by `save` (its members checked before any is read:
        inputs.read_npz)."""
        from ..inputs import read_npz
        self.load_state_dict(read_npz(path, "weights file"), strict=strict)


class Sequential(Module):
    """Chain of single-input modules; backward runs them in reverse order."""

    def __init__(self, *layers: Module):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        self._cache = True
        return x

    def backward(self, dout):
        self._need_cache()
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)


def _some(names, most: int = 4) -> str:
    """A few names of a long list, and how many there are ("none" for none)."""
    if not names:
        return "none"
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{len(names)} names ({shown}, …)"


def _named_modules(name, value):
    if isinstance(value, Module):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _named_modules(f"{name}.{i}", item)


def check_dtype(x: np.ndarray, dtype, who: str):
    """Refuse silent upcasts/downcasts: the input must have the layer's dtype."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{who}: expected a numpy array, got {type(x).__name__}")
    if x.dtype != dtype:
        raise TypeError(f"{who}: input dtype {x.dtype} differs from the parameters' dtype "
                        f"{np.dtype(dtype)}; cast it explicitly, e.g. x.astype(np.{np.dtype(dtype)})")
