"""Real signals on a real `ddpm-np train` process: Ctrl-C and SIGTERM save and say how to resume
(and the resumed run is the uninterrupted one, bit for bit); SIGKILL in the middle of checkpoint
writes never leaves a checkpoint that does not load, and the temporary files it leaves are gone
once the run continues."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ddpm_np.run.checkpoint import load_checkpoint
from ddpm_np.tasks.runs import train_run

from ..processes import WAIT, started, wait_for

ARGS = ["--dataset", "moons", "--hidden", "16", "--blocks", "1", "--T", "50", "--no-progress"]


def _start(out, *extra):
    env = dict(os.environ, DDPM_NP_THREADS="1")
    return started([sys.executable, "-m", "ddpm_np", "train", *ARGS, "--out", str(out), *extra],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.parametrize("sig,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_saves_and_resumes_bit_identically(tmp_path, sig, status):
    out, steps = tmp_path / "run", 3000
    with _start(out, "--steps", str(steps), "--checkpoint-every", "100") as proc:
        wait_for(out / "checkpoint.json", proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"interrupted ({sig.name}) at step" in lines[0], lines
    step = json.loads((out / "checkpoint.json").read_text())["step"]
    assert f"step {step}/{steps}" in lines[0] and f"--resume {out / 'checkpoint.npz'}" in lines[0]
    assert 0 < step < steps
    assert not list(out.glob("*.tmp"))
    resumed = train_run(resume=out / "checkpoint.npz", progress=False, log=lambda *a: None)
    straight = train_run("moons", out=tmp_path / "straight", steps=steps, hidden=16, blocks=1,
                         T=50, checkpoint_every=100, progress=False)
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_sigkill_during_checkpoint_writes_never_breaks_the_checkpoint(tmp_path):
    out = tmp_path / "run"
    rng = np.random.default_rng(0)
    last_step = 0
    for attempt in range(5):
        ckpt = out / "checkpoint.npz"
        extra = (["--resume", str(ckpt)] if ckpt.exists() else ["--out", str(out)])
        with started(
                [sys.executable, "-m", "ddpm_np", "train", *(ARGS if not ckpt.exists() else
                                                             ["--no-progress"]),
                 "--steps", "1000000", "--checkpoint-every", "1", *extra],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                env=dict(os.environ, DDPM_NP_THREADS="1")) as proc:
            wait_for(out / "checkpoint.json", proc)
            time.sleep(rng.uniform(0.05, 0.5))      # somewhere in a stream of writes
            proc.kill()
        arrays, meta = load_checkpoint(ckpt)        # always a whole checkpoint
        assert meta["step"] >= last_step and json.loads(
            (out / "checkpoint.json").read_text())["step"] >= last_step - 1
        last_step = meta["step"]
    resumed = train_run(resume=out / "checkpoint.npz", stop_at=last_step + 2, steps=1000000,
                        progress=False, log=lambda *a: None)
    assert resumed.step == last_step + 2
    assert not list(out.glob("*.tmp"))


def test_an_interrupted_demo_says_how_to_run_it_again_and_that_works(tmp_path):
    """A demo does not resume: the message gives the demo command with --overwrite, not a
    `train --resume` after which the demo would refuse its own folder."""
    out = tmp_path / "demo"
    env = dict(os.environ, DDPM_NP_THREADS="1", MPLBACKEND="Agg")
    with started([sys.executable, "-m", "ddpm_np", "demo", "moons", "--steps", "3000", "--out",
                  str(out), "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                 text=True, env=env) as proc:
        wait_for(out / "checkpoint.json", proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 143, err
    line = err.strip().splitlines()[-1]
    again = f"ddpm-np demo moons --out {out} --overwrite"
    assert "a demo does not resume" in line and again in line and "train --resume" not in line
    from ddpm_np.cli import main
    assert main(again.split()[1:] + ["--quick", "--no-progress"]) == 0
