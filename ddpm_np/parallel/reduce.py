"""The one collective call of a data-parallel training step: the gradients, the loss and any
stop request of every process added up in a single all-reduce of one flat buffer."""
from __future__ import annotations

import signal
import time

import numpy as np


class GradientReducer:
    """`reduce_gradients(loss_share, stop_signal) -> (loss, stop)` for `params` on `world`.

    Each process has already scaled its gradients by its share of the batch (sharding.share),
    so the sum is the gradient of the global batch; `loss_share` is its weighted loss, and
    `stop_signal` a signal number it received (0: none). After the call every parameter's
    `grad` holds the sum, and every process returns the global loss and the same stop: SIGINT
    if any process received it, else SIGTERM if any received a signal, else 0 (every process
    then exits with the same status, whichever of them the launcher's signal reached first).
    Also keeps the time spent in the all-reduce, for the reports."""

    def __init__(self, world, params):
        self.world, self.params = world, list(params)
        self.flat = None                # gradients, loss, stop requests: Ctrl-C and others
        self.seconds, self.calls = 0.0, 0

    @property
    def gradient_bytes(self) -> int:
        """Bytes of gradients all-reduced per step."""
        return sum(p.grad.nbytes for p in self.params)

    def __call__(self, loss_share: float, stop_signal: int = 0) -> tuple[float, int]:
        if self.world.size == 1:        # one process: its gradients are the batch's
            return float(loss_share), int(stop_signal)
        if self.flat is None:
            self.flat = np.empty(sum(p.grad.size for p in self.params) + 3,
                                 self.params[0].grad.dtype)
        flat, start = self.flat, 0
        for p in self.params:
            flat[start:start + p.grad.size] = p.grad.ravel()
            start += p.grad.size
        flat[-3:] = (loss_share, stop_signal == signal.SIGINT,
                     stop_signal not in (0, signal.SIGINT))
        t0 = time.perf_counter()
        self.world.allreduce_sum(flat)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        start = 0
        for p in self.params:
            p.grad[...] = flat[start:start + p.grad.size].reshape(p.grad.shape)
            start += p.grad.size
        stop = signal.SIGINT if flat[-2] else signal.SIGTERM if flat[-1] else 0
        return float(flat[-3]), int(stop)
