"""`ddpm-np exercises DIR`: write a workspace of stubs and their tests; report which pass.

DIR gets one module per exercise (ex01_q_sample.py, …: the library's functions with their
bodies replaced by a NotImplementedError that gives the hint), test_exercises.py (the tests,
one pytest marker per exercise: `pytest DIR -m ex03`), pytest.ini and a README. `status(DIR)`
runs the tests and counts, per exercise, the tests that pass.
"""
from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from ..children import run
from .catalog import EXERCISES

TESTS = "test_exercises.py"
LIMIT_VAR = "DDPM_NP_EXERCISE_SECONDS"
WALL_LIMIT = 1800       # seconds of the clock for the whole run: only a test that waits hits it
# Each test of the workspace runs under a limit on its CPU time, so that a stub that loops for
# ever is stopped and named while the other exercises are still checked (SIGPROF: Unix;
# elsewhere the whole run has `status`'s overall limit).
CONFTEST = f'''"""A limit on each test's computing time: a solution that loops for ever fails
its own tests only. The limit counts the CPU time the test uses (ITIMER_PROF), not the clock's:
on a machine that is busy with other work a correct solution is slower, not stopped."""
import os
import signal

import pytest

LIMIT = float(os.environ.get("{LIMIT_VAR}", "30"))


class StoppedAfter(Exception):
    """The test computed past its time limit."""


@pytest.fixture(autouse=True)
def time_limit():
    if not hasattr(signal, "SIGPROF"):
        yield
        return

    def stop(signum, frame):
        raise StoppedAfter(f"stopped after {{LIMIT:g}} s of computing (an endless loop?)")
    old = signal.signal(signal.SIGPROF, stop)
    signal.setitimer(signal.ITIMER_PROF, LIMIT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)
'''


class WorkspaceError(Exception):
    """The workspace cannot be written or read as asked (the message says why)."""


def workspace_files(solved: bool = False) -> dict:
    """{file name: text} of a workspace; `solved` puts the library's implementations back."""
    files = {f"{e.module}.py": e.solution_source() if solved else e.stub_source
             for e in EXERCISES}
    files[TESTS] = (Path(__file__).with_name("workspace_tests.py")).read_text()
    files["conftest.py"] = CONFTEST
    markers = "\n".join(f"    {e.id}: {e.title}" for e in EXERCISES)
    files["pytest.ini"] = ("[pytest]\nmarkers =\n" + markers + "\naddopts = -p no:cacheprovider"
                           "\n")
    rows = "\n".join(f"| `{e.id}` | `{e.module}.py` | {e.title.replace('|', chr(92) + '|')} |"
                     for e in EXERCISES)     # a | inside a cell of a Markdown table is \|
    files["README.md"] = f"""# Exercises

Fill in the functions of each `exNN_*.py` file. Each stub's message is a first hint (the
equation, what to watch); `ddpm-np exercises --hint N` gives the second, nearly step by step.
Work in the tutorial's order:

| marker | file | exercise |
|---|---|---|
{rows}

Check one exercise with `python -m pytest -m ex03` (in this folder), all with
`python -m pytest`, and see the table of what passes with `ddpm-np exercises . --status`.
The tests compare your code with an independent route to the same answer: a closed form,
Bayes' rule on a grid, finite differences, naive loops.
"""
    return files


def write_workspace(folder, overwrite: bool = False, solved: bool = False) -> list:
    """Write the workspace into `folder` (created if needed). Files of an earlier workspace are
    kept (they hold your work) unless `overwrite`. Returns the paths written."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise WorkspaceError(f"{folder} is a file; give a folder for the exercises")
    files = workspace_files(solved)
    existing = [name for name in files if (folder / name).exists()]
    if existing and not overwrite:
        raise WorkspaceError(f"{folder} already holds a workspace ({', '.join(existing[:3])}"
                             f"{', …' if len(existing) > 3 else ''}); see how it stands with "
                             f"`ddpm-np exercises {folder} --status`, or add --overwrite to "
                             "start again (your solutions there are replaced)")
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return [folder / name for name in files]


def status(folder, timeout: float = 30) -> list:
    """Run the workspace's tests; one row per exercise: (exercise, passed, total, note).

    `note` says what stopped an exercise from being checked: its file is missing or does not
    parse, or a test computed for longer than `timeout` seconds of CPU time (an endless loop,
    most likely; a busy machine slows a test's clock, not its CPU time); the other exercises
    are still checked. A test file that does not parse is a WorkspaceError."""
    folder = Path(folder)
    if importlib.util.find_spec("pytest") is None:
        raise WorkspaceError('checking the exercises needs pytest: pip install pytest (or '
                             'pip install "ddpm_np[test]")')
    if not (folder / TESTS).is_file():
        raise WorkspaceError(f"{folder} holds no exercises ({TESTS} is missing); write them with "
                             f"`ddpm-np exercises {folder}`")
    problem = _does_not_parse(folder / TESTS)
    if problem:
        raise WorkspaceError(f"{folder / TESTS} {problem}: the tests cannot run; copy your "
                             f"solutions aside and write the workspace again with "
                             f"`ddpm-np exercises {folder} --overwrite`")
    notes = {e.id: _file_problem(folder / f"{e.module}.py") for e in EXERCISES}
    results, stopped = _run_tests(folder, timeout)
    for ex_id in stopped:
        notes[ex_id] = notes[ex_id] or f"stopped after {timeout:g} s of computing (an endless " \
                                       "loop?)"
    return [(e, *results.get(e.id, (0, 0)), notes[e.id]) for e in EXERCISES]


def _does_not_parse(path: Path) -> str:
    try:
        ast.parse(path.read_text(), str(path))
    except SyntaxError as e:
        return f"does not parse (SyntaxError at line {e.lineno}: {e.msg})"
    return ""


def _file_problem(path: Path) -> str:
    if not path.is_file():
        return f"{path.name} is missing"
    problem = _does_not_parse(path)
    return f"{path.name} {problem}" if problem else ""


def _run_tests(folder: Path, timeout: float) -> tuple[dict, set]:
    """({exercise id: (passed, total)}, {ids of exercises with a test stopped by the time
    limit}) of one pytest run of the workspace."""
    conftest = folder / "conftest.py"               # the library's file, not the learner's:
    if not conftest.is_file() or conftest.read_text() != CONFTEST:     # today's limit
        conftest.write_text(CONFTEST)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        # one thread: the CPU-time limit then reads like seconds of one core
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", DDPM_NP_THREADS="1",
                   OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", **{LIMIT_VAR: str(timeout)})
        wall = max(WALL_LIMIT, timeout * (len(EXERCISES) + 2))   # a test that waits, not loops
        try:
            run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                 f"--junitxml={report}", "-o", "junit_family=xunit1", TESTS], cwd=folder,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=wall)
        except subprocess.TimeoutExpired:
            raise WorkspaceError(f"the tests in {folder} did not finish in {wall:g} s") \
                from None
        if not report.exists():
            raise WorkspaceError(f"the tests in {folder} did not run (is pytest installed?)")
        results, stopped = {}, set()
        for case in ET.parse(report).getroot().iter("testcase"):
            match = re.match(r"test_(ex\d\d)_", case.get("name", ""))
            if not match:
                continue
            ex_id = match.group(1)
            bad = [c for c in case if c.tag in ("failure", "error", "skipped")]
            if any("StoppedAfter" in (c.get("message", "") + (c.text or "")) for c in bad):
                stopped.add(ex_id)
            passed, total = results.get(ex_id, (0, 0))
            results[ex_id] = (passed + (not bad), total + 1)
    return results, stopped


def status_table(rows) -> str:
    lines = [f"{'':4s} {'exercise':46s} {'tests':>7s}   state"]
    for e, passed, total, note in rows:
        state = note or ("done" if total and passed == total else "to do" if passed == 0 else
                         "partly")
        lines.append(f"{e.id:4s} {e.title:46s} {passed:>3d}/{total:<3d}   {state}")
    done = sum(1 for _, p, t, note in rows if t and p == t and not note)
    lines.append(f"{done} of {len(rows)} exercises done")
    return "\n".join(lines)
