"""`ddpm-np exercises DIR`: write a workspace of stubs and their tests; report which pass.

DIR gets one module per exercise (ex01_q_sample.py, …: the library's functions with their
bodies replaced by a NotImplementedError that gives the hint), test_exercises.py (the tests,
one pytest marker per exercise: `pytest DIR -m ex03`), pytest.ini and a README. `status(DIR)`
runs the tests and counts, per exercise, the tests that pass.
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from .catalog import EXERCISES

TESTS = "test_exercises.py"


class WorkspaceError(Exception):
    """The workspace cannot be written or read as asked (the message says why)."""


def workspace_files(solved: bool = False) -> dict:
    """{file name: text} of a workspace; `solved` puts the library's implementations back."""
    files = {f"{e.module}.py": e.solution_source() if solved else e.stub_source
             for e in EXERCISES}
    files[TESTS] = (Path(__file__).with_name("workspace_tests.py")).read_text()
    markers = "\n".join(f"    {e.id}: {e.title}" for e in EXERCISES)
    files["pytest.ini"] = ("[pytest]\nmarkers =\n" + markers + "\naddopts = -p no:cacheprovider"
                           "\n")
    rows = "\n".join(f"| `{e.id}` | `{e.module}.py` | {e.title} |" for e in EXERCISES)
    files["README.md"] = f"""# Exercises

Fill in the functions of each `exNN_*.py` file (each stub's message is a hint: the equation,
the shapes, where the library does it). Work in the tutorial's order:

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


def status(folder, timeout: float = 600) -> list:
    """Run the workspace's tests; one row per exercise: (exercise, passed, total)."""
    folder = Path(folder)
    if importlib.util.find_spec("pytest") is None:
        raise WorkspaceError('checking the exercises needs pytest: pip install pytest (or '
                             'pip install "ddpm_np[test]")')
    if not (folder / TESTS).is_file():
        raise WorkspaceError(f"{folder} holds no exercises ({TESTS} is missing); write them with "
                             f"`ddpm-np exercises {folder}`")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        f"--junitxml={report}", "-o", "junit_family=xunit1", TESTS],
                       cwd=folder, capture_output=True, text=True, timeout=timeout, env=env)
        if not report.exists():
            raise WorkspaceError(f"the tests in {folder} did not run (is pytest installed?)")
        cases = ET.parse(report).getroot().iter("testcase")
        results = {e.id: [0, 0] for e in EXERCISES}
        for case in cases:
            match = re.match(r"test_(ex\d\d)_", case.get("name", ""))
            if not match or match.group(1) not in results:
                continue
            failed = any(child.tag in ("failure", "error", "skipped") for child in case)
            results[match.group(1)][1] += 1
            results[match.group(1)][0] += 0 if failed else 1
    return [(e, *results[e.id]) for e in EXERCISES]


def status_table(rows) -> str:
    lines = [f"{'':4s} {'exercise':46s} {'tests':>7s}   state"]
    for e, passed, total in rows:
        state = ("done" if total and passed == total else "to do" if passed == 0 else
                 "partly")
        lines.append(f"{e.id:4s} {e.title:46s} {passed:>3d}/{total:<3d}   {state}")
    done = sum(1 for _, p, t in rows if t and p == t)
    lines.append(f"{done} of {len(rows)} exercises done")
    return "\n".join(lines)
