"""Running commands under `mpiexec -n K` from pytest, with a time-out; skipped with the reason
where the mpi extra is not installed."""
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..processes import started

MPIEXEC = (shutil.which("mpiexec", path=str(Path(sys.executable).parent))
           or shutil.which("mpiexec"))
HAVE_MPI = MPIEXEC is not None and importlib.util.find_spec("mpi4py") is not None
needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason='needs the mpi extra (pip install ".[mpi]": '
                                                    'mpi4py and mpiexec)')
JOBS = str(Path(__file__).with_name("jobs.py"))
TIMEOUT = 600       # far above a quiet machine's needs: a busy one is slow, not wrong


def command(args, k: int) -> list:
    """`python ARGS` on one process, `mpiexec -n K python ARGS` on K."""
    return ([MPIEXEC, "-n", str(k)] if k > 1 else []) + [sys.executable, *map(str, args)]


def env():
    return dict(os.environ, PYTHONWARNINGS="ignore", DDPM_NP_THREADS="1")


def run(args, k: int, cwd=None, timeout=TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(command(args, k), capture_output=True, text=True, cwd=cwd, env=env(),
                          timeout=timeout)


def cli(args, k: int, cwd=None) -> subprocess.CompletedProcess:
    return run(["-m", "ddpm_np", *args], k, cwd=cwd)


def popen(args, k: int, cwd=None):
    """A `with` block around the started command, which is ended when the block ends."""
    return started(command(["-m", "ddpm_np", *args], k), cwd=cwd, env=env(),
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
