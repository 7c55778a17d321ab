"""Processes a test starts, ended on every path: `started(...)` is a Popen that is killed and
reaped when the `with` block ends, however it ends (an assertion, a time-out), so that no child
outlives its test and no pipe is left for a later test's ResourceWarning.

Waits are for events (a file appears, the process ends), with budgets far above what a quiet
machine needs (WAIT seconds): a laptop doing other work is slow, not wrong."""
import contextlib
import subprocess
import time

WAIT = 600          # seconds: a budget for events that take a second or two on a quiet machine


@contextlib.contextmanager
def started(argv, **kwargs):
    """subprocess.Popen(argv, **kwargs), killed and reaped (pipes closed) when the block ends."""
    proc = subprocess.Popen(argv, **kwargs)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        try:
            proc.communicate(timeout=WAIT)
        except (ValueError, OSError):           # pipes already read and closed
            proc.wait(timeout=WAIT)


def wait_for(path, proc, timeout=WAIT):
    """Wait until `path` exists; fails at once (with the process's output) if it ends first."""
    t0 = time.monotonic()
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the process ended ({proc.returncode}) before {path} appeared:"
                                 f" {proc.communicate()}")
        assert time.monotonic() - t0 < timeout, f"{path} did not appear in {timeout} s"
        time.sleep(0.05)
