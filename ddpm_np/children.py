"""Child processes that do not outlive the command that started them, whatever ends it.

On Linux a child asks the kernel for SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG, set
between fork and exec); elsewhere nothing is set, and long-lived children of the library check
their parent themselves (see benchmarks/busy.py's loops).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1


def _die_with_parent():             # runs in the child, between fork and exec
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def popen(argv, **kwargs) -> subprocess.Popen:
    """subprocess.Popen(argv, **kwargs), killed by the kernel if this process dies (Linux)."""
    if sys.platform.startswith("linux"):
        kwargs.setdefault("preexec_fn", _die_with_parent)
    return subprocess.Popen(argv, **kwargs)


def run(argv, timeout=None, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run with the same guarantee: the child is killed if this process dies, and
    killed (then reaped) when `timeout` passes."""
    with popen(argv, **kwargs) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException:
            proc.kill()
            proc.communicate()
            raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
