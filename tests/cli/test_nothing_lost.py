"""Nothing existing is replaced without --overwrite, resume does what it says, and the messages
around runs are true."""
import json

import numpy as np
import pytest

from ddpm_np.run.checkpoint import load_checkpoint
from ddpm_np.cli import main

SMALL = ["--hidden", "16", "--blocks", "1", "--T", "50", "--no-progress"]


def _err(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def _step(folder):
    return json.loads((folder / "checkpoint.json").read_text())["step"]


def test_a_folder_holding_a_run_is_not_replaced(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--dataset", "moons", "--steps", "10", "--out", str(out)] + SMALL
    assert main(argv) == 0
    capsys.readouterr()
    before = (out / "checkpoint.npz").read_bytes()
    assert main(argv) == 2                               # the same command twice
    msg = _err(capsys)
    assert "already holds a run (step 10 of 10, moons)" in msg
    assert f"--resume {out / 'checkpoint.npz'}" in msg and "--overwrite" in msg
    assert main(["train", "--dataset", "spiral", "--seed", "5", "--out", str(out)] + SMALL) == 2
    assert (out / "checkpoint.npz").read_bytes() == before
    assert main(argv[:4] + ["5"] + argv[5:] + ["--overwrite"]) == 0
    assert _step(out) == 5


def test_resume_applies_what_may_change_and_refuses_the_rest(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "moons", "--steps", "10", "--out", str(out)] + SMALL) == 0
    ckpt = str(out / "checkpoint.npz")
    capsys.readouterr()
    assert main(["train", "--resume", ckpt, "--steps", "10", "--no-progress"]) == 2
    assert "has reached step 10 of its 10; --steps 10 would not train further: give --steps above 10" in _err(capsys)
    for flag, value, fragment in (("--hidden", "64", "the run has hidden = 16"),
                                  ("--T", "100", "the run has T = 50"),
                                  ("--dataset", "spiral", "is a run on moons"),
                                  ("--parameterization", "v", "parameterization = 'eps'"),
                                  ("--batch-size", "8", "batch_size = 256"),
                                  ("--seed", "5", "seed = 0")):
        assert main(["train", "--resume", ckpt, "--steps", "20", flag, value,
                     "--no-progress"]) == 2
        msg = _err(capsys)
        assert "cannot change when resuming" in msg and fragment in msg, msg
    assert _step(out) == 10
    # flags that keep their value are fine; steps, lr and cadence change and are reported
    assert main(["train", "--resume", ckpt, "--steps", "20", "--lr", "5e-4", "--hidden", "16",
                 "--checkpoint-every", "3", "--no-progress"]) == 0
    out_text = capsys.readouterr().out
    assert "resuming" in out_text and "steps 10 → 20" in out_text and "lr 0.002 → 0.0005" in \
        out_text and "checkpoint every 1000 → 3 steps" in out_text
    _, meta = load_checkpoint(ckpt)
    assert meta["step"] == 20 and meta["train_config"]["lr"] == 5e-4
    assert meta["train_config"]["checkpoint_every"] == 3


def test_resume_from_a_copied_checkpoint_continues_it(tmp_path, capsys):
    """A checkpoint under another name resumes from its own step, never from 0, and does not
    replace the run beside it."""
    out = tmp_path / "run"
    assert main(["train", "--dataset", "moons", "--steps", "20", "--stop-at", "6",
                 "--out", str(out)] + SMALL) == 0
    copy = out / "step6.npz"
    copy.write_bytes((out / "checkpoint.npz").read_bytes())
    assert main(["train", "--resume", str(out / "checkpoint.npz"), "--stop-at", "12",
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(copy), "--no-progress"]) == 2
    assert "holds another run" in _err(capsys)
    assert main(["train", "--resume", str(copy), "--out", str(tmp_path / "branch"),
                 "--no-progress"]) == 0
    assert "at step 6/20" in capsys.readouterr().out
    assert _step(tmp_path / "branch") == 20 and _step(out) == 12


def test_samples_and_metrics_files_are_not_replaced(tmp_path, capsys, toy_run):
    out = tmp_path / "s.npy"
    argv = ["sample", "--checkpoint", str(toy_run), "--n", "4", "--out", str(out),
            "--no-progress"]
    assert main(argv) == 0
    first = np.load(out)
    capsys.readouterr()
    assert main(argv + ["--seed", "1"]) == 2
    assert "s.npy exists; add --overwrite" in _err(capsys)
    np.testing.assert_array_equal(np.load(out), first)
    assert main(argv + ["--seed", "1", "--overwrite"]) == 0
    assert f"to {out}" in capsys.readouterr().out          # the file that was written
    assert not np.array_equal(np.load(out), first)


def test_a_demo_is_not_run_over_an_earlier_one(tmp_path, capsys):
    out = tmp_path / "d"
    argv = ["demo", "gaussian", "--quick", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 2
    assert "holds files this command writes" in _err(capsys)
    assert main(argv + ["--overwrite"]) == 0


def test_divergence_says_what_is_true(tmp_path, capsys):
    """A diverging run: the hint does not ask for clipping that is on, and no checkpoint of
    another run is called this run's."""
    from ddpm_np.tasks.runs import train_run
    from ddpm_np.train import TrainingDiverged
    out = tmp_path / "run"
    (out).mkdir()
    with pytest.raises(TrainingDiverged) as e:
        with np.errstate(all="ignore"):
            train_run("moons", out=out, steps=200, lr=1e30, hidden=16, blocks=1, T=50,
                      progress=False)
    msg = str(e.value)
    assert "no checkpoint was written" in msg and "Lower the learning rate." in msg
    assert "clipping" not in msg


def test_stop_at_that_is_behind_the_run_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "moons", "--steps", "20", "--stop-at", "8",
                 "--out", str(out)] + SMALL) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(out / "checkpoint.npz"), "--stop-at", "5",
                 "--no-progress"]) == 2
    assert "stop_at 5 is not beyond the step the run" in _err(capsys) and _step(out) == 8


def test_a_run_folder_that_takes_no_files_is_refused_before_training(tmp_path, toy_run, capsys,
                                                                    monkeypatch):
    """Probed before any work, on resume as on a new run (as root a read-only folder still
    takes files, so the probe's failure is simulated)."""
    import ddpm_np.run.folders as outputs

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(outputs.tempfile, "mkstemp", refuse)
    trained = []
    from ddpm_np import train
    monkeypatch.setattr(train.Trainer, "train_step", lambda *a: trained.append(1))
    for argv in (["train", "--resume", str(toy_run), "--steps", "100000"],
                 ["train", "--dataset", "moons", "--out", str(tmp_path / "new")]):
        assert main(argv + ["--no-progress"]) == 2
        err = capsys.readouterr().err
        assert "cannot write into run folder" in err and "Permission denied" in err, err
    assert trained == []
