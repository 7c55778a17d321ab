"""Locks before deletes, and locks that cannot be left broken: --overwrite never removes the
files of a run that is being trained; a lock is written whole or not at all; a stale lock says
so and how to take it over; SIGHUP stops training like SIGTERM; a φ⁴ study holds a lock, and a
killed stage leaves the seconds of the work it kept."""
import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from ddpm_np.cli import main
from ddpm_np.tasks.runs import train_run
from ddpm_np.run.lock import LOCK, RunLock
from ddpm_np.run.state import RunError

from ..processes import WAIT, started, wait_for

TOY = ["--dataset", "moons", "--hidden", "8", "--blocks", "1", "--T", "30", "--no-progress"]


def _err(capsys):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def trained(tmp_path):
    """A run folder with a checkpoint, held (as if being trained) by a live process: this one."""
    out = tmp_path / "run"
    train_run("moons", out=out, steps=3, hidden=8, blocks=1, T=30, progress=False,
              log=lambda *a: None)
    (out / LOCK).write_text(f"{socket.gethostname()} {os.getpid()}\n")
    return out


@pytest.mark.parametrize("argv", [
    "train {toy} --steps 5 --out {out} --overwrite",
    "train --resume {out}/checkpoint.npz --steps 9 --overwrite",
    "demo moons --quick --out {out} --overwrite",
    "demo mnist --train --steps 2 --out {out} --overwrite",
])
def test_overwrite_never_deletes_the_files_of_a_run_being_trained(capsys, trained, argv):
    before = {p.name: p.read_bytes() for p in trained.iterdir()}
    args = argv.format(toy=" ".join(TOY), out=trained).split()
    assert main(args) == 2
    assert f"{trained} is being trained by process {os.getpid()}" in _err(capsys)
    assert {p.name: p.read_bytes() for p in trained.iterdir()} == before


def test_a_lock_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    def full_disk(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        RunLock(tmp_path).acquire()
    assert list(tmp_path.iterdir()) == []                  # no empty lock, no temporary
    monkeypatch.undo()
    lock = RunLock(tmp_path)
    lock.acquire()
    assert (tmp_path / LOCK).read_text().split() == [socket.gethostname(), str(os.getpid())]
    lock.release()
    assert list(tmp_path.iterdir()) == []


def test_a_lock_on_a_file_system_without_hard_links(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(os, "link", no_links)
    with RunLock(tmp_path):
        assert (tmp_path / LOCK).read_text().split()[1] == str(os.getpid())
        with pytest.raises(RunError, match="is being trained by process"):
            RunLock(tmp_path).acquire()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text,message", [
    ("", "the lock is stale (the lock file is unreadable or empty): delete"),
    ("garbage", "the lock file is unreadable or empty"),
    ("elsewhere.example 123\n", "the lock is stale (it was taken on another host, "
                                "elsewhere.example): delete"),
])
def test_a_lock_that_may_be_stale_says_so_and_how_to_take_it_over(tmp_path, text, message):
    (tmp_path / LOCK).write_text(text)
    with pytest.raises(RunError, match="If no such process runs") as e:
        RunLock(tmp_path).acquire()
    assert message in str(e.value) and str(tmp_path / LOCK) in str(e.value)


def test_a_lock_whose_process_is_gone_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (tmp_path / LOCK).write_text(f"{socket.gethostname()} {dead}\n")
    with RunLock(tmp_path):
        assert (tmp_path / LOCK).read_text().split()[1] == str(os.getpid())
    assert not (tmp_path / LOCK).exists()


def test_sighup_saves_and_says_how_to_resume(tmp_path):
    out = tmp_path / "a run"                                # a space: the command is quoted
    env = dict(os.environ, DDPM_NP_THREADS="1")
    with started([sys.executable, "-m", "ddpm_np", "train", *TOY, "--steps", "100000",
                  "--checkpoint-every", "50", "--out", str(out)], stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, text=True, env=env) as proc:
        wait_for(out / "checkpoint.json", proc)
        proc.send_signal(signal.SIGHUP)
        _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 128 + signal.SIGHUP, err
    line = err.strip().splitlines()[-1]
    assert "interrupted (SIGHUP)" in line and not (out / LOCK).exists()
    resume = line.split("Resume with: ")[1]
    assert resume == f"ddpm-np train --resume '{out / 'checkpoint.npz'}'"
    import shlex
    assert main(shlex.split(resume)[1:] + ["--steps", str(json.loads(
        (out / "checkpoint.json").read_text())["step"] + 2), "--no-progress"]) == 0


QUICK = ["phi4", "--quick", "--L", "4", "--lam", "5.0", "--no-progress"]


def test_two_studies_in_one_folder_are_refused(capsys, tmp_path):
    out = tmp_path / "p"
    out.mkdir()
    (out / "study.lock").write_text(f"{socket.gethostname()} {os.getpid()}\n")
    assert main(QUICK + ["--out", str(out)]) == 2
    assert f"{out} is being studied by process {os.getpid()}" in _err(capsys)
    assert sorted(p.name for p in out.iterdir()) == ["study.lock"]   # nothing was run


KILLED_AFTER_FIRST_CHECKPOINT = """
import os, sys
from ddpm_np.studies.phi4 import study as phi4
lap = phi4.Phi4Study._lap
def lap_then_die(self, key, since, save=True):
    now = lap(self, key, since, save)
    if key == "monitor":
        os._exit(9)                 # as SIGKILL: nothing after this runs
    return now
phi4.Phi4Study._lap = lap_then_die
phi4.run_phi4(4, lam=5.0, out=sys.argv[1], quick=True, progress=False, log=lambda *a: None)
"""


def test_a_killed_study_keeps_the_seconds_of_the_work_it_kept(tmp_path):
    out = tmp_path / "p"
    done = subprocess.run([sys.executable, "-c", KILLED_AFTER_FIRST_CHECKPOINT, str(out)],
                          capture_output=True, text=True, timeout=WAIT,
                          env=dict(os.environ, DDPM_NP_THREADS="1"))
    assert done.returncode == 9, done.stderr
    state = json.loads((out / "study.json").read_text())
    assert state["done"] == ["hmc"] and state["seconds"]["train"] > 0     # the kept steps'
    assert (out / "model" / "checkpoint.npz").exists()
    assert main(QUICK + ["--out", str(out)]) == 0                         # resumes, reports
    final = json.loads((out / "study.json").read_text())
    assert final["seconds"]["train"] > state["seconds"]["train"]
    report = json.loads((out / "report.json").read_text())
    assert report["seconds"]["train"] == final["seconds"]["train"]
