"""No process outlives the command that started it: `bench busy` killed with SIGKILL takes its
busy loops with it, and the folder it could not remove goes at the next run."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ddpm_np.benchmarks import busy
from ddpm_np.children import popen, run

from ..processes import WAIT, started

needs_proc = pytest.mark.skipif(not Path("/proc/self/cmdline").exists(),
                                reason="reads processes from /proc (Linux)")


def _loops() -> list[int]:
    """Process ids of bench busy's loops on this machine."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and busy.LOOP.encode() in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            pass
    return pids


@needs_proc
def test_bench_busy_killed_with_sigkill_takes_its_loops_with_it():
    before = set(_loops())
    with started([sys.executable, "-m", "ddpm_np", "bench", "busy", "--quick"],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                 env=dict(os.environ, DDPM_NP_THREADS="1")) as proc:
        t0 = time.monotonic()
        while len(set(_loops()) - before) < 2:
            assert proc.poll() is None, "bench busy ended before its loops started"
            assert time.monotonic() - t0 < WAIT
            time.sleep(0.05)
        mine = set(_loops()) - before
        proc.kill()
    t0 = time.monotonic()
    while mine & set(_loops()):
        assert time.monotonic() - t0 < 60, f"busy loops {mine & set(_loops())} outlived bench busy"
        time.sleep(0.1)


@needs_proc
def test_a_child_dies_with_its_parent():
    code = ("import sys, time\nfrom ddpm_np.children import popen\n"
            "p = popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
            "print(p.pid, flush=True)\ntime.sleep(600)\n")
    with started([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as parent:
        child = int(parent.stdout.readline())
        parent.kill()
    t0 = time.monotonic()
    while Path(f"/proc/{child}").exists() and \
            Path(f"/proc/{child}/stat").read_text().split()[2] != "Z":
        assert time.monotonic() - t0 < 60, "the child outlived its parent"
        time.sleep(0.05)


def test_run_kills_and_reaps_its_child_on_a_time_out():
    with pytest.raises(subprocess.TimeoutExpired):
        run([sys.executable, "-c", "import time; time.sleep(600)"], timeout=0.5)
    proc = popen([sys.executable, "-c", "pass"])
    assert proc.wait(timeout=WAIT) == 0


def test_the_folder_of_a_killed_bench_busy_is_removed_by_the_next(tmp_path):
    dead = run([sys.executable, "-c", "import os; print(os.getpid())"],
               stdout=subprocess.PIPE, text=True).stdout.strip()
    gone = tmp_path / f"{busy.FOLDER_PREFIX}{dead}-abc"
    alive = tmp_path / f"{busy.FOLDER_PREFIX}{os.getpid()}-def"
    for folder in (gone, alive):
        (folder / "demo").mkdir(parents=True)
    assert busy.remove_orphaned_folders(tmp_path) == [gone]
    assert not gone.exists() and alive.exists()
