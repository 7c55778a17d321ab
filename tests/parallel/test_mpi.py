"""Training, resuming, interrupting and sampling under `mpiexec -n K`: results that do not
depend on K, one consistent checkpoint on a signal, and no hang when a process fails."""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ddpm_np.run.checkpoint import load_checkpoint

from ..processes import WAIT, started, wait_for
from .conftest import JOBS, MPIEXEC, cli, command, env, needs_mpi, popen, run

pytestmark = needs_mpi
TOY = ["--dataset", "moons", "--hidden", "16", "--blocks", "1", "--T", "50", "--no-progress"]


def weights(path):
    arrays, meta = load_checkpoint(path)
    return {k: v for k, v in arrays.items() if k.startswith(("model/", "ema/"))}, meta


def assert_same_weights(a, b, atol):
    (wa, ma), (wb, mb) = weights(a), weights(b)
    assert ma["step"] == mb["step"]
    assert wa.keys() == wb.keys()
    worst = max(np.abs(wa[k] - wb[k]).max() for k in wa)
    assert worst <= atol, worst


def ok(result):
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.mark.parametrize("job, k", [("train-mlp", 2), ("train-mlp", 3), ("train-unet", 2)])
def test_training_does_not_depend_on_the_number_of_processes(tmp_path, job, k):
    """Float64, 20 steps: K processes give the weights of one, up to summation order (the
    MLP's batch of 31 splits unevenly: 15 + 16, 10 + 10 + 11)."""
    ok(run([JOBS, job, tmp_path / "one.npz"], 1))
    ok(run([JOBS, job, tmp_path / "many.npz"], k))
    one, many = np.load(tmp_path / "one.npz"), np.load(tmp_path / "many.npz")
    for name in one.files:
        np.testing.assert_allclose(many[name], one[name], rtol=0, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("first, then", [(2, 1), (1, 2)])
def test_a_checkpoint_resumes_under_any_number_of_processes(tmp_path, first, then):
    straight = ok(cli(["train", *TOY, "--steps", "20", "--out", tmp_path / "straight"], 1))
    assert "all-reduce" not in straight.stdout
    split = ok(cli(["train", *TOY, "--steps", "20", "--stop-at", "10", "--out",
                    tmp_path / "split"], first))
    assert split.stdout.count("trained to step 10") == 1           # rank 0 alone prints
    ok(cli(["train", "--resume", tmp_path / "split" / "checkpoint.npz", "--no-progress"], then))
    assert_same_weights(tmp_path / "split" / "checkpoint.npz",
                        tmp_path / "straight" / "checkpoint.npz", atol=1e-5)


@contextlib.contextmanager
def _long_run(tmp_path, k=2):
    out = tmp_path / "run"
    with popen(["train", *TOY, "--steps", "1000000", "--checkpoint-every", "40", "--out", out],
               k) as process:
        wait_for(out / "checkpoint.npz", process)
        yield out, process


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_mpiexec_leaves_one_consistent_checkpoint(tmp_path, sig):
    with _long_run(tmp_path) as (out, process):
        time.sleep(0.5)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=WAIT)
    assert process.returncode == 128 + sig, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("ddpm-np")]
    assert len(lines) == 1 and f"interrupted ({sig.name})" in lines[0], stderr
    _, meta = weights(out / "checkpoint.npz")
    assert f"at step {meta['step']}/" in lines[0]
    assert not list(out.glob("*.tmp"))
    ok(cli(["train", "--resume", out / "checkpoint.npz", "--steps", str(meta["step"] + 5),
            "--no-progress"], 1))


def test_a_process_that_dies_takes_the_job_down(tmp_path):
    with _long_run(tmp_path) as (out, process):
        ranks = subprocess.run(["pgrep", "-f", f"ddpm_np train .*{out}"], capture_output=True,
                               text=True).stdout.split()
        ranks = [int(p) for p in ranks if int(p) != process.pid]
        assert len(ranks) >= 2, ranks
        os.kill(max(ranks), signal.SIGKILL)
        process.communicate(timeout=WAIT)                  # no hang: the job ends
    assert process.returncode != 0
    _, meta = weights(out / "checkpoint.npz")                # the last checkpoint is whole
    assert meta["step"] % 40 == 0


def test_a_process_that_fails_alone_stops_the_job_with_its_message():
    result = run([JOBS, "fail-alone"], 2, timeout=WAIT)
    assert result.returncode == 3
    assert "ddpm-np: process 1 of 2: rank 1 failed alone" in result.stderr


def test_under_mpiexec_one_process_measures_and_all_use_its_choices(tmp_path):
    environment = dict(env(), DDPM_NP_CALIBRATE="1", DDPM_NP_CACHE_DIR=str(tmp_path))
    reports = []
    for _ in range(2):                                  # measured, then from the cache
        result = subprocess.run(command([JOBS, "calibrate"], 2), capture_output=True, text=True,
                                env=environment, timeout=WAIT)
        ok(result)
        reports.append([json.loads(line) for line in result.stdout.splitlines()])
    first, second = reports
    assert [r["timings"] > 0 for r in first] == [True, False]
    assert [r["timings"] for r in second] == [0, 0]
    assert len(first[0]["choices"]) == 3                # the chunk size and two routes
    assert all(r["choices"] == first[0]["choices"] for r in first + second)


def test_processes_that_fail_together_exit_together():
    t0 = time.monotonic()
    result = run([JOBS, "fail-together"], 2, timeout=WAIT)
    assert result.returncode == 3 and "Abort" not in result.stderr
    assert time.monotonic() - t0 < 30


@pytest.fixture(scope="module")
def toy_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("toy")
    ok(cli(["train", *TOY, "--steps", "20", "--out", out], 1))
    return out / "checkpoint.npz"


@pytest.mark.parametrize("checkpoint, extra", [
    ("toy", ["--n", "101"]),
    ("toy", ["--n", "7", "--sampler", "ddim", "--steps", "10", "--eta", "1"]),
    ("mnist", ["--n", "5", "--sampler", "dpm++2m", "--steps", "3"]),
])
def test_sampling_does_not_depend_on_the_number_of_processes(tmp_path, toy_checkpoint,
                                                             checkpoint, extra):
    checkpoint = toy_checkpoint if checkpoint == "toy" else checkpoint
    for k in (1, 2):
        result = ok(cli(["sample", "--checkpoint", checkpoint, *extra, "--out",
                         tmp_path / f"k{k}.npy", "--no-progress"], k))
        assert result.stdout.count("wrote") == 1
    # the same up to float32 rounding: a BLAS may round a row differently in a batch of another
    # size (OpenBLAS 0.3.31's sgemm does on an AMD EPYC), and a sampler carries that on
    np.testing.assert_allclose(np.load(tmp_path / "k2.npy"), np.load(tmp_path / "k1.npy"),
                               rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("args", [["demo", "spiral", "--quick"], ["bench", "conv"]])
def test_commands_of_one_process_refuse_several(tmp_path, args):
    result = cli(args, 2, cwd=tmp_path)
    assert result.returncode == 2
    what = " ".join(args[:2]) if args[0] == "bench" else args[0]
    assert result.stderr.strip().splitlines() == [
        f"ddpm-np: error: {what} runs on one process; under mpiexec run train, sample, "
        "evaluate or bench train"]
    assert not list(tmp_path.iterdir())


def test_a_bad_argument_is_one_line_from_rank_0(tmp_path):
    result = cli(["train", *TOY, "--steps", "-3"], 2, cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_bench_train_on_two_processes_reports_the_all_reduce(tmp_path):
    result = ok(cli(["bench", "train", "--batch", "4", "--repeats", "1"], 2, cwd=tmp_path))
    assert "2 processes × 1 thread each" in result.stdout
    assert result.stdout.count("all-reduce of 4.52 MiB of gradients") == 1


@pytest.mark.usefixtures("needs_mnist")
def test_evaluation_does_not_depend_on_the_number_of_processes(tmp_path):
    args = ["evaluate", "--checkpoint", "mnist", "--n", "200", "--bpd-images", "4", "--steps",
            "3", "--sampler", "dpm++2m", "--no-progress"]
    metrics = []
    for k in (1, 2):
        ok(cli([*args, "--out", tmp_path / f"k{k}.json"], k))
        m = json.loads((tmp_path / f"k{k}.json").read_text())
        metrics.append(flat({key: v for key, v in m.items() if not key.endswith("seconds")}))
    assert metrics[0].keys() == metrics[1].keys()
    for key, one in metrics[0].items():           # the same up to float32 rounding, as sampling
        expected = one if isinstance(one, str) else pytest.approx(one, rel=1e-5)
        assert metrics[1][key] == expected, key


def flat(d, prefix=""):
    """{"a": {"b": 1}, "c": [2, 3]} → {"a/b": 1, "c/0": 2, "c/1": 3}."""
    items = d.items() if isinstance(d, dict) else enumerate(d)
    out = {}
    for key, v in items:
        if isinstance(v, (dict, list)):
            out.update(flat(v, f"{prefix}{key}/"))
        else:
            out[f"{prefix}{key}"] = v
    return out


def test_a_collective_that_the_others_never_reach_ends_the_job_with_one_line():
    with started(command([JOBS, "stuck"], 2), env=dict(env(), DDPM_NP_MPI_TIMEOUT="3"),
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        _, stderr = process.communicate(timeout=WAIT)
    assert process.returncode != 0
    assert "process 0 of 2: waited 3 s for the other processes in an all-reduce" in stderr


def test_sigterm_ends_a_job_that_is_waiting_in_mpi():
    with started(command([JOBS, "stuck"], 2), env=env(), stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, text=True) as process:
        seen = ""                   # the two ranks' lines may interleave on the shared pipe
        while not all(f"rank {r} waiting" in seen for r in (0, 1)) and seen.count("\n") < 4:
            seen += process.stdout.readline()
        assert all(f"rank {r} waiting" in seen for r in (0, 1)), seen
        time.sleep(0.5)                                     # rank 0 is in the all-reduce
        t0 = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=WAIT)
    assert process.returncode != 0 and time.monotonic() - t0 < 60


def test_processes_started_with_different_commands_stop_before_any_work(tmp_path):
    train = [sys.executable, "-m", "ddpm_np", "train", *TOY, "--steps", "5", "--out",
             str(tmp_path / "r")]
    sample = [sys.executable, "-m", "ddpm_np", "sample", "--checkpoint", "mnist", "--n", "2",
              "--out", str(tmp_path / "s.npy")]
    argv = [MPIEXEC, "-n", "1", *train, ":", "-n", "1", *sample]
    done = subprocess.run(argv, capture_output=True, text=True, env=env(), timeout=WAIT)
    assert done.returncode == 2, done.stderr
    assert "the processes were started with different commands" in done.stderr
    assert not (tmp_path / "r").exists() and not (tmp_path / "s.npy").exists()
