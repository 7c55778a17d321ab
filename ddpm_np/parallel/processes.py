"""The processes of a run: one (the default) or K started by `mpiexec -n K`, through mpi4py.

MPI moves the bytes; the project decides what is reduced and when (reduce.py: one all-reduce
of the flat gradient per step, called by train.py; sharding.py: model calls split by rows).
Everything else about several processes is here:

- `world()` is this process's view, made once: `Serial` when the program was started on its
  own (or by `mpiexec -n 1`), `MPIWorld` when a launcher started several. mpi4py is imported
  (and MPI initialised) only then, so that a plain run never needs it; started by a launcher
  without it, the run stops with the line that says how to install it.
- Each of the K processes on one machine gets cores/K threads for the fast tier and the BLAS
  (unless DDPM_NP_THREADS says otherwise): K processes × all cores would oversubscribe them.
  They all use rank 0's calibrated choices for the fast tier (nn/fast/tuning.py).
- Side effects belong to rank 0 (writing files, printing). `root_does(f)` runs f there and
  hands every process its result, or its exception: a failure on rank 0 stops every process
  the same way, instead of leaving the others waiting in the next collective call.
- `settle(status)` is called by a process that is about to exit with an error: if every
  process reaches it (the same bad input everywhere), they exit together; if one process
  fails alone, it takes the job down (MPI_Abort) after a few seconds instead of leaving the
  others to hang.
"""
from __future__ import annotations

import functools
import os
import pickle
import time

from . import waiting
from .waiting import read_out

# The launchers' variables that give the number of processes (MPICH/Hydra and Intel MPI; Open
# MPI; PMIx-based launchers such as Slurm's srun with PMIx)
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE")
INSTALL_HINT = 'pip install "ddpm_np[mpi]" (mpi4py and an MPI from the package index)'

_world = None


class ParallelError(RuntimeError):
    """Several processes were asked for but cannot run (the message says why and what to do)."""


def launched_size(environ=os.environ) -> int:
    """How many processes the launcher started, from its environment (1 without one)."""
    for name in SIZE_VARIABLES:
        value = environ.get(name)
        if value:
            try:
                return max(1, int(value))
            except ValueError:
                raise ParallelError(f"{name}={value!r} is not a number of processes") from None
    return 1


class Serial:
    """One process: every collective call is the identity."""
    rank, size, is_root = 0, 1, True

    def part(self, n: int) -> slice:
        return slice(0, n)

    def allreduce_sum(self, buffer):
        return buffer

    def allgather(self, obj) -> list:
        return [obj]

    def root_does(self, fn):
        return fn()

    def bcast(self, obj):
        return obj

    def settle(self, status: int, message: str = "") -> int:
        return status

    def describe(self) -> str:
        return "1 process"


class MPIWorld(Serial):
    """K processes under MPI (COMM_WORLD). Rank 0 is the root."""

    def __init__(self, threads_from_env: bool = True):
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise ParallelError(f"started as {launched_size()} processes, but mpi4py cannot be "
                                f"imported ({e}): {INSTALL_HINT}") from None
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.is_root = self.rank == 0
        self._inside_root = False
        self._errors = self.comm.Dup()         # a second channel, only for settle()
        node = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
        self.local_size = node.Get_size()
        node.Free()
        if threads_from_env:
            self._share_cores()
            self._share_choices()

    def _share_cores(self):
        """cores/K threads per process on a machine running K of them, for the fast tier's chunks
        (DDPM_NP_THREADS, unless the user set it) and for the BLAS."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        share = max(1, cores // self.local_size)
        os.environ.setdefault("DDPM_NP_THREADS", str(share))
        from threadpoolctl import threadpool_limits
        self._blas_limit = threadpool_limits(limits=share)   # kept for the life of the process

    def _share_choices(self):
        """Every process takes rank 0's choices for the fast tier (nn/fast/tuning.py) and
        measures nothing itself: the same routes everywhere. Rank 0 first measures the default
        models' shapes at this run's share of a batch of 64 if its cache lacks them (once per
        machine), while the others wait."""
        from ..nn.fast import tuning
        if not tuning.enabled():
            return

        def measured():
            from ..benchmarks.calibrate import calibrate
            calibrate(max(1, 64 // self.size), again=False, progress=False)
            return tuning.table()

        tuning.install(self.root_does(measured))

    def part(self, n: int) -> slice:
        """This process's rows of n: consecutive, sizes differing by at most one."""
        return slice(n * self.rank // self.size, n * (self.rank + 1) // self.size)

    def allreduce_sum(self, buffer):
        """Sum a contiguous NumPy buffer over the processes, in place; returns it."""
        return waiting.allreduce_sum(self.comm, self.MPI, buffer)

    def allgather(self, obj) -> list:
        return waiting.allgather(self.comm, self.MPI, obj)

    def bcast(self, obj):
        return waiting.bcast(self.comm, obj)

    def root_does(self, fn):
        """fn() on rank 0; every process returns its result or raises its exception. Inside
        fn, rank 0 alone runs: a nested root_does there is a plain call."""
        if self._inside_root:
            return fn()
        outcome = None
        if self.is_root:
            self._inside_root = True
            try:
                outcome = ("ok", fn())
            except BaseException as e:          # noqa: BLE001 (handed to every process)
                outcome = ("error", _portable(e))
            finally:
                self._inside_root = False
        kind, value = waiting.bcast(self.comm, outcome, "a result of process 0")
        if kind == "error":
            raise value
        return value

    def settle(self, status: int, message: str = "", wait: float = 5.0) -> int:
        """A process exits with `status`: together with the others if they all reach this
        point within `wait` seconds; otherwise it says which process failed and aborts the job
        (the others may be waiting for it in a collective call)."""
        request = self._errors.Ibarrier()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if request.Test():
                return status
            time.sleep(0.01)
        if message and not self.is_root:
            os.write(2, f"ddpm-np: process {self.rank} of {self.size}: {message}\n".encode())
            read_out(2)
        self.comm.Abort(status or 1)
        return status                           # not reached

    def describe(self) -> str:
        return f"{self.size} processes"


def _portable(exc: BaseException) -> BaseException:
    """The exception itself if it survives pickling, else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:                               # noqa: BLE001
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def on_root(fn):
    """Decorator: the function has side effects (files) and runs on rank 0 only; every process
    gets its result or its exception (see root_does)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return world().root_does(lambda: fn(*args, **kwargs))
    return wrapper


def world():
    """This process's world, made on first use (see the top of this file)."""
    global _world
    if _world is None:
        _world = MPIWorld() if launched_size() > 1 else Serial()
    return _world
