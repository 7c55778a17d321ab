"""The exercises cannot drift from the code: every exercise's tests fail on its stub (with the
hint) and pass when the library's implementation is put back; the stubs keep the library's
signatures; the status table counts what a learner has done."""
import importlib
import inspect
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ddpm_np.cli import main
from ddpm_np.exercises import EXERCISES, status, status_table, write_workspace

ROOT = Path(__file__).resolve().parents[2]


def run_tests(folder, *args):
    """{test name: failure message or None} of the workspace's tests."""
    report = folder / "report.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", f"--junitxml={report}",
                    "-o", "junit_family=xunit1", *args], cwd=folder, capture_output=True,
                   timeout=600)
    results = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        bad = [c for c in case if c.tag in ("failure", "error", "skipped")]
        results[case.get("name")] = (bad[0].get("message", "") + (bad[0].text or "")) \
            if bad else None
    report.unlink()
    return results


def test_every_exercise_has_tests_that_fail_on_the_stub_with_its_hint(tmp_path):
    write_workspace(tmp_path)
    results = run_tests(tmp_path)
    for e in EXERCISES:
        mine = {k: v for k, v in results.items() if k.startswith(f"test_{e.id}_")}
        assert len(mine) >= 2, (e.id, mine)
        for name, message in mine.items():
            assert message is not None, f"{name} passes on the stub"
            assert f"NotImplementedError: {e.id}:" in message, (name, message[:300])


def test_every_exercise_passes_with_the_library_put_back(tmp_path):
    write_workspace(tmp_path, solved=True)
    rows = status(tmp_path)
    assert [(e.id, p == t and t > 0) for e, p, t, _ in rows] == [(e.id, True) for e in EXERCISES]
    assert status_table(rows).endswith("11 of 11 exercises done")


def test_the_status_counts_a_learners_progress_and_markers_select_one_exercise(tmp_path):
    write_workspace(tmp_path)
    ex03 = next(e for e in EXERCISES if e.id == "ex03")
    (tmp_path / f"{ex03.module}.py").write_text(ex03.solution_source())
    rows = {e.id: (p, t) for e, p, t, _ in status(tmp_path)}
    assert rows["ex03"][0] == rows["ex03"][1] > 0
    assert all(p == 0 for k, (p, t) in rows.items() if k != "ex03")
    selected = run_tests(tmp_path, "-m", "ex03")
    assert selected and all(k.startswith("test_ex03_") and v is None for k, v in selected.items())


def test_status_names_an_exercise_that_hangs_or_is_broken_and_checks_the_rest(tmp_path):
    """A stub that loops for ever is stopped and named, a file with a syntax error or a
    deleted one is reported as such, and the other exercises are still checked."""
    write_workspace(tmp_path, solved=True)
    ex = {e.id: e for e in EXERCISES}
    (tmp_path / f"{ex['ex01'].module}.py").write_text(
        "def q_sample(x0, t, eps, schedule):\n    while True:\n        pass\n")
    (tmp_path / f"{ex['ex02'].module}.py").write_text("def q_posterior(:\n")
    (tmp_path / f"{ex['ex04'].module}.py").unlink()
    table = status(tmp_path, timeout=2)
    rows = {e.id: (p, t, note) for e, p, t, note in table}
    assert rows["ex01"][2] == "stopped after 2 s of computing (an endless loop?)"
    assert "does not parse (SyntaxError at line 1" in rows["ex02"][2]
    assert rows["ex04"][2] == f"{ex['ex04'].module}.py is missing"
    assert rows["ex03"][0] == rows["ex03"][1] > 0 and not rows["ex03"][2]
    text = status_table(table)
    assert "8 of 11 exercises done" in text and "endless loop" in text


def test_a_test_file_that_does_not_parse_is_one_line(tmp_path, capsys):
    write_workspace(tmp_path)
    (tmp_path / "test_exercises.py").write_text("def test_(:\n")
    assert main(["exercises", str(tmp_path), "--status"]) == 2
    assert "test_exercises.py does not parse" in capsys.readouterr().err


def _plain(fn):
    """Parameter names, kinds and defaults (annotations aside)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_a_stub_keeps_the_library_signature_and_names_a_real_file(exercise):
    """The stubs are modules of the package (ddpm_np/exercises/stubs/), imported as such."""
    namespace = vars(importlib.import_module(f"ddpm_np.exercises.stubs.{exercise.module}"))
    library = importlib.import_module(exercise.library)
    for name in exercise.functions:
        assert _plain(namespace[name]) == _plain(getattr(library, name)), name
        with pytest.raises(NotImplementedError, match=f"^{exercise.id}: "):
            namespace[name](*[None] * len(inspect.signature(namespace[name]).parameters))
    for path in re.findall(r"(ddpm_np/[\w/]+\.py)", exercise.stub_source):
        assert (ROOT / path).is_file(), path


def test_the_command_writes_a_workspace_and_prints_the_table(tmp_path, capsys):
    assert main(["exercises", str(tmp_path / "ws")]) == 0
    assert "start with ex01_q_sample.py" in capsys.readouterr().out
    assert main(["exercises", str(tmp_path / "ws"), "--status"]) == 0
    out = capsys.readouterr().out
    assert "0 of 11 exercises done" in out and out.count("to do") == 11


def test_status_without_pytest_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pytest" else real(name, *a))
    write_workspace(tmp_path)
    assert main(["exercises", str(tmp_path), "--status"]) == 2
    assert "needs pytest: pip install pytest" in capsys.readouterr().err


def test_the_edges_a_student_gets_wrong_are_caught(tmp_path):
    """Two plausible wrong answers: a posterior that is NaN at t = 1, and a DDPM step that adds
    noise at t = 1 as well (hidden with σ² = β̃, since β̃_1 = 0)."""
    write_workspace(tmp_path, solved=True)
    (tmp_path / "ex02_posterior.py").write_text(
        "import numpy as np\n"
        "from ddpm_np.diffusion import q_posterior as right\n\n\n"
        "def q_posterior(x0, xt, t, schedule):\n"
        "    mean, var = right(x0, xt, t, schedule)\n"
        "    bad = (np.asarray(t) == 1).reshape(np.shape(t) + (1,) * (np.ndim(x0) - 1))\n"
        "    return np.where(bad, np.nan, mean), var\n")
    (tmp_path / "ex04_ddpm_step.py").write_text(
        "import numpy as np\n"
        "from ddpm_np.diffusion import ddpm_step as right\n\n\n"
        "def ddpm_step(eps_theta, xt, t, schedule, z=None, sigma='beta_tilde', clip_x0=None):\n"
        "    x_prev, x0_hat = right(eps_theta, xt, t, schedule, z, sigma, clip_x0)\n"
        "    if np.all(np.asarray(t) == 1) and z is not None:\n"
        "        x_prev = x_prev + schedule.sigmas(sigma)[1] * z\n"
        "    return x_prev, x0_hat\n")
    rows = {e.id: (p, t) for e, p, t, _ in status(tmp_path)}
    assert rows["ex02"][0] < rows["ex02"][1] and rows["ex04"][0] < rows["ex04"][1]
    assert all(p == t for k, (p, t) in rows.items() if k not in ("ex02", "ex04"))


def test_hints_come_in_two_levels(capsys):
    """The stub's message points the way (and says where the second level is); --hint N gives
    the worked hint. A bad N is one line."""
    assert main(["exercises", "--hint", "3"]) == 0
    assert "dL/dε_θ = 2 (ε_θ − ε) / n" in capsys.readouterr().out
    assert main(["exercises", "--hint", "ex10"]) == 0
    assert "null label" in capsys.readouterr().out
    for e in EXERCISES:
        assert f"--hint {int(e.id[2:])}" in e.stub_source and e.hint not in e.stub_source
    assert main(["exercises", "--hint", "12"]) == 2
    assert "give an exercise 1..11" in capsys.readouterr().err
    assert main(["exercises"]) == 2
    assert "give the workspace folder" in capsys.readouterr().err


def test_the_workspace_readme_table_and_the_help_count_every_exercise(tmp_path, capsys):
    """Each row of the workspace's table has its three cells (a | in a title is escaped), and
    --help's range of N is the catalogue's."""
    import re

    from ddpm_np.cli import main
    from ddpm_np.exercises.catalog import EXERCISES
    assert main(["exercises", str(tmp_path / "w")]) == 0
    rows = [r for r in (tmp_path / "w" / "README.md").read_text().splitlines()
            if r.startswith("| `ex")]
    assert len(rows) == len(EXERCISES)
    assert all(len(re.split(r"(?<!\\)\|", r)) == 5 for r in rows), rows
    with pytest.raises(SystemExit):
        main(["exercises", "--help"])
    assert f"1..{len(EXERCISES)}" in " ".join(capsys.readouterr().out.split())
