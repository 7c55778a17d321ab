"""Collective calls with a way out. Each collective the project makes is started non-blocking
and waited for here, in Python, so that a process never spins for ever in MPI:

- a signal handler runs while it waits (SIGTERM outside training ends the command at once);
- a stop signal noted during training (run/stopping.py) that the other processes do not answer
  within STOP_GRACE seconds ends the job;
- a collective that the others do not reach within the time limit (DDPM_NP_MPI_TIMEOUT
  seconds, default TIMEOUT: far above any wait of a healthy run, such as rank 0 calibrating or
  writing a checkpoint) ends the job: one process is elsewhere (the processes diverged) or
  stuck.

Ending the job is one line on standard error naming the process and the call, then MPI_Abort.
Objects (bcast, allgather) travel as pickled bytes in two non-blocking calls: sizes, then data.
"""
from __future__ import annotations

import os
import pickle
import stat
import struct
import time

import numpy as np

from .. import environment
from ..run.stopping import last_stop

TIMEOUT = 1800.0        # seconds
STOP_GRACE = 60.0       # seconds after a stop signal
SPIN = 1.0              # seconds of testing without a pause (as a blocking MPI call spins)


def time_limit() -> float:
    """DDPM_NP_MPI_TIMEOUT's seconds, else TIMEOUT (a bad value is the command line's to report,
    in its check of the environment; a collective made before it waits TIMEOUT)."""
    try:
        n = environment.number("DDPM_NP_MPI_TIMEOUT")
    except environment.EnvironmentValueError:
        n = None
    return TIMEOUT if n is None else float(n)


def wait(request, comm, what: str, limit: float | None = None):
    """Wait for `request` (an MPI request of `comm`); end the job if it cannot complete."""
    if request.Test():
        return
    start = time.monotonic()
    limit = time_limit() if limit is None else limit
    while not request.Test():           # MPI progresses the call while it is tested
        now = time.monotonic()
        stopped = last_stop()
        if stopped > start and now - stopped > STOP_GRACE:
            _abort(comm, f"stopped by a signal while waiting {now - start:.0f} s for the other "
                         f"processes in {what}; they did not answer")
        if now - start > limit:
            _abort(comm, f"waited {limit:g} s for the other processes in {what}: they "
                         "diverged (one runs other work) or one is stuck; ending the job "
                         "(DDPM_NP_MPI_TIMEOUT sets the limit)")
        if now - start > SPIN:          # a long wait: test every millisecond, not every μs
            time.sleep(0.001)


def _abort(comm, text):
    os.write(2, f"ddpm-np: error: process {comm.Get_rank()} of {comm.Get_size()}: {text}\n"
                .encode())
    read_out(2)
    comm.Abort(1)


def allreduce_sum(comm, MPI, buffer, what="an all-reduce"):
    wait(comm.Iallreduce(MPI.IN_PLACE, buffer, op=MPI.SUM), comm, what)
    return buffer


def bcast(comm, obj, what="a broadcast from process 0"):
    data = pickle.dumps(obj) if comm.Get_rank() == 0 else b""
    size = np.array([len(data)], np.int64)
    wait(comm.Ibcast(size, root=0), comm, what)
    buf = bytearray(data) if comm.Get_rank() == 0 else bytearray(int(size[0]))
    wait(comm.Ibcast(buf, root=0), comm, what)
    return pickle.loads(bytes(buf))


def allgather(comm, MPI, obj, what="an all-gather"):
    data = pickle.dumps(obj)
    sizes = np.zeros(comm.Get_size(), np.int64)
    wait(comm.Iallgather(np.array([len(data)], np.int64), sizes), comm, what)
    out = bytearray(int(sizes.sum()))
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    wait(comm.Iallgatherv(bytearray(data), [out, (sizes.tolist(), offsets.tolist()), MPI.BYTE]),
         comm, what)
    return [pickle.loads(bytes(out[o:o + n])) for o, n in zip(offsets.tolist(), sizes.tolist())]


def read_out(fd: int, seconds: float = 10.0) -> bool:
    """Wait until the reader of the pipe `fd` (the launcher's output relay) has read everything
    written to it, for at most `seconds`; True once it is empty. An abort kills the relay
    with the job, and what it has not read by then never reaches the user. Not a pipe (a
    terminal, a file): nothing to wait for."""
    try:
        import fcntl                            # POSIX only, like the launchers that pipe
        import termios
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return True
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            unread = fcntl.ioctl(fd, termios.FIONREAD, struct.pack("i", 0))
            if struct.unpack("i", unread)[0] == 0:
                return True
            time.sleep(0.01)
    except (ImportError, OSError):
        return True
    return False
