"""A busy machine: each workload timed quiet, then with two busy-looping processes beside it
(`ddpm-np bench busy`), as on a laptop that is doing other things.

Workloads, each in a fresh process (so that no thread pool of one run warms the next):
- the 2-D demo (`ddpm-np demo spiral`, or `--quick`'s small run);
- a tutorial chapter (tutorial/03_linear_model.py, where the source tree is at hand);
- a training step of the default UNet at batch 64 (median of a few, startup excluded).

Target (issue: a newcomer's second hour): busy ≤ 2.5 × quiet for each. The busy loops are two
Python processes spinning on a core each (LOOP), ended when the measurement ends, whatever
happens: killed at the end of the block, killed by the kernel if this process dies (Linux),
and ending by themselves once their parent is gone (elsewhere). The workloads' folder is
removed at the end, or by the next run if this one was killed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..children import popen, run

# a busy loop that checks, every few milliseconds, that its parent is still there
LOOP = ("import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n"
        "    for _ in range(100000): pass\n")
FOLDER_PREFIX = "ddpm-np-busy-"             # ddpm-np-busy-<pid>-<random>: whose folder it is

TUTORIAL = Path(__file__).resolve().parents[2] / "tutorial" / "03_linear_model.py"
STEP_SCRIPT = """
import numpy as np
from ddpm_np.benchmarks.tools import median_time, unet_training_step
from ddpm_np.nn.fast import keep_freed_memory
keep_freed_memory()
model, step = unet_training_step({batch}, np.random.default_rng(0))
step()
print(median_time(step, {repeats}))
"""


def workloads(quick: bool, folder: Path) -> list:
    """(name, argv, extra environment, how to read the seconds: "wall" or "stdout")."""
    env = {"MPLBACKEND": "Agg"}
    rows = [("2-D demo (demo spiral" + (" --quick)" if quick else ")"),
             [sys.executable, "-m", "ddpm_np", "demo", "spiral", "--out", str(folder / "demo"),
              "--overwrite", "--no-progress"] + (["--quick"] if quick else []), env, "wall")]
    if TUTORIAL.exists():
        rows.append(("tutorial chapter 3" + (" (quick)" if quick else ""),
                     [sys.executable, str(TUTORIAL)],
                     dict(env, DDPM_NP_TUTORIAL_OUT=str(folder / "tutorial"),
                          DDPM_NP_TUTORIAL_QUICK="1" if quick else "0"), "wall"))
    batch, repeats = (8, 2) if quick else (64, 5)
    rows.append((f"UNet training step, batch {batch}",
                 [sys.executable, "-c", STEP_SCRIPT.format(batch=batch, repeats=repeats)], env,
                 "stdout"))
    return rows


def run_once(argv, env, read, timeout: float) -> float:
    t0 = time.perf_counter()
    done = run(argv, env=dict(os.environ, **env), stdout=subprocess.PIPE,
               stderr=subprocess.PIPE, text=True, timeout=timeout)
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv[:4])} … failed: {done.stderr.strip()[-300:]}")
    return float(done.stdout.strip().splitlines()[-1]) if read == "stdout" else seconds


class BusyLoops:
    """`n` processes that spin on a core each, for the length of a `with` block."""

    def __init__(self, n: int = 2):
        self.n, self.procs = n, []

    def __enter__(self):
        self.procs = [popen([sys.executable, "-c", LOOP]) for _ in range(self.n)]
        time.sleep(0.5)                             # let them take their cores
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait(timeout=10)


def bench_busy(quick: bool = False, out=print, timeout: float = 1800) -> list[dict]:
    """Time each workload quiet, then beside two busy loops; print and return the rows."""
    rows = []
    out(f"{'workload':<36}{'quiet s':>9}{'busy s':>9}{'busy/quiet':>12}  target ≤ 2.5")
    remove_orphaned_folders()
    with tempfile.TemporaryDirectory(prefix=f"{FOLDER_PREFIX}{os.getpid()}-") as tmp:
        for name, argv, env, read in workloads(quick, Path(tmp)):
            quiet = run_once(argv, env, read, timeout)
            with BusyLoops(2):
                busy = run_once(argv, env, read, timeout)
            row = dict(workload=name, quiet_s=quiet, busy_s=busy, ratio=busy / quiet)
            rows.append(row)
            out(f"{name:<36}{quiet:>9.2f}{busy:>9.2f}{busy / quiet:>12.2f}  "
                f"{'met' if busy / quiet <= 2.5 else 'NOT met'}")
    return rows


def remove_orphaned_folders(base=None) -> list:
    """Remove the workload folders of `bench busy` runs whose process is gone (killed before
    it could clean up); returns those removed."""
    removed = []
    for folder in Path(base or tempfile.gettempdir()).glob(FOLDER_PREFIX + "*"):
        try:
            pid = int(folder.name[len(FOLDER_PREFIX):].split("-")[0])
            os.kill(pid, 0)
        except ValueError:
            continue
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        except PermissionError:
            pass
    return removed


def beside_busy_loops(argv, n: int = 2) -> tuple[int, float]:
    """Run the command `argv` beside `n` busy loops; (its exit status, its seconds)."""
    with BusyLoops(n):
        t0 = time.perf_counter()
        status = run(argv).returncode
        return status, time.perf_counter() - t0


if __name__ == "__main__":
    # python -m ddpm_np.benchmarks.busy COMMAND ...: the command beside two busy loops (how the
    # test suite is checked on a busy machine, docs/reliability.md)
    if len(sys.argv) < 2:
        sys.exit("usage: python -m ddpm_np.benchmarks.busy COMMAND [ARG ...]")
    status, seconds = beside_busy_loops(sys.argv[1:])
    print(f"{' '.join(sys.argv[1:])}: exit status {status} in {seconds:.0f} s beside two busy "
          "loops", file=sys.stderr)
    sys.exit(status)
