"""Stopping a long run cleanly: Ctrl-C (SIGINT), SIGTERM (what `timeout` and batch systems
send) or SIGHUP (a closed terminal, a dropped ssh session) is noted, and the loop stops at the
end of its current step; a second signal stops at once (KeyboardInterrupt)."""
from __future__ import annotations

import contextlib
import signal
import threading
import time

# the signals that ask a program to stop (SIGHUP where the platform has it)
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


_last_stop = [0.0]          # time.monotonic() of the last stop signal noted by a handler


def last_stop() -> float:
    """When (time.monotonic()) a `stop_requests()` block last noted a stop signal; 0: never.
    A process waiting for others (parallel/waiting.py) gives up some time after it."""
    return _last_stop[0]


class StopRequest:
    """The signal received while a `stop_requests()` block runs (`signum`, 0: none)."""

    def __init__(self):
        self.signum = 0

    def __bool__(self):
        return bool(self.signum)


@contextlib.contextmanager
def stop_requests():
    """Within the block, SIGINT, SIGTERM and SIGHUP set the yielded StopRequest instead of
    stopping the program; a second one raises KeyboardInterrupt. The previous handlers come
    back after the block. Off the main thread (where Python allows no handlers) nothing is
    installed."""
    request = StopRequest()
    old = {}

    def handler(signum, frame):
        if request.signum:
            raise KeyboardInterrupt
        request.signum = signum
        _last_stop[0] = time.monotonic()

    if threading.current_thread() is threading.main_thread():
        for sig in STOP_SIGNALS:
            old[sig] = signal.signal(sig, handler)
    try:
        yield request
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


class TrainingDiverged(RuntimeError):
    """The loss or the gradient became NaN/Inf."""


class TrainingInterrupted(RuntimeError):
    """Ctrl-C, SIGTERM or SIGHUP: a checkpoint was saved; the message says how to resume.
    `signum` is the signal that stopped the run."""

    def __init__(self, message, signum=signal.SIGINT):
        super().__init__(message)
        self.signum = int(signum)


def diverged(error, checkpoint, kept: bool, clipping: bool) -> TrainingDiverged:
    """`error` with what is left of the run and what to try."""
    where = (f"; the last good checkpoint of this run, {checkpoint}, is kept" if kept
             else "; no checkpoint was written")
    hint = "Lower the learning rate" + ("" if clipping else " or enable gradient clipping")
    return TrainingDiverged(f"{error}{where}. {hint}.")


def interrupted(signum, step: int, steps: int, saved) -> TrainingInterrupted:
    """The stop at `step` of `steps` by `signum`, with the resume command of the checkpoint
    `saved` (None: the run had no folder)."""
    import shlex
    how = (f"checkpoint saved to {saved}. Resume with: ddpm-np train --resume "
           f"{shlex.quote(str(saved))}" if saved else "no checkpoint folder was given")
    return TrainingInterrupted(f"interrupted ({signal.Signals(signum).name}) at step "
                               f"{step}/{steps}; {how}", signum)
