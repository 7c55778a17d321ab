"""The command line: every demo with --quick, train/resume/sample, and one-line errors."""
import json
import subprocess
import sys

import numpy as np
import pytest

from ddpm_np.cli import main

DEMOS = ["gaussian", "two-gaussians", "spiral", "double-well"]


@pytest.mark.parametrize("name", DEMOS)
def test_quick_demo_writes_everything(tmp_path, name, capsys):
    out = tmp_path / name
    assert main(["demo", name, "--quick", "--out", str(out), "--no-progress"]) == 0
    expected = {"checkpoint.npz", "checkpoint.json", "samples.npy", "metrics.json",
                "samples.png", "forward.png", "reverse.png", "loss.png", "reverse.gif"}
    if name in ("gaussian", "two-gaussians"):
        expected.add("marginals.png")
    if name == "double-well":
        expected.add("energy.png")
    assert expected <= {p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text())
    numbers = [v for v in metrics.values() if isinstance(v, float)]
    assert numbers and all(np.isfinite(numbers))
    assert np.load(out / "samples.npy").shape == (500, 2)
    assert str(out) in capsys.readouterr().out


def test_train_resume_and_sample(tmp_path, capsys):
    out = tmp_path / "run"
    common = ["--no-progress", "--hidden", "16", "--blocks", "1", "--T", "50"]
    assert main(["train", "--dataset", "moons", "--steps", "20", "--out", str(out)] + common) == 0
    ckpt = out / "checkpoint.npz"
    assert main(["train", "--resume", str(ckpt), "--steps", "30", "--no-progress"]) == 0
    assert json.loads((out / "checkpoint.json").read_text())["step"] == 30
    for sampler in (["--sampler", "ddpm"], ["--sampler", "ddim", "--steps", "10"]):
        s = tmp_path / f"{sampler[1]}.npy"
        assert main(["sample", "--checkpoint", str(ckpt), "--n", "7", "--out", str(s),
                     "--no-progress", "--seed", "3"] + sampler) == 0
        assert np.load(s).shape == (7, 2)
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    for p in (a, b):
        main(["sample", "--checkpoint", str(ckpt), "--n", "5", "--out", str(p), "--no-progress"])
    np.testing.assert_array_equal(np.load(a), np.load(b))


def _err(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err       # one clear line, no traceback
    return err[0]


def test_error_paths_are_one_line(tmp_path, capsys):
    assert main(["sample", "--n", "3"]) == 2
    assert "nothing to write: give --out FILE.npy" in _err(capsys)
    assert not list(tmp_path.iterdir())
    assert main(["sample", "--checkpoint", str(tmp_path / "none.npz"), "--n", "3",
                 "--out", str(tmp_path / "s.npy")]) == 2
    assert "does not exist" in _err(capsys)
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    assert main(["sample", "--checkpoint", str(tmp_path / "bad.npz"), "--n", "3",
                 "--out", str(tmp_path / "s.npy")]) == 2
    assert "corrupt" in _err(capsys)
    np.savez(tmp_path / "other.npz", W=np.zeros(3))
    assert main(["sample", "--checkpoint", str(tmp_path / "other.npz"), "--n", "3",
                 "--out", str(tmp_path / "s.npy")]) == 2
    assert "not a ddpm_np checkpoint" in _err(capsys)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["demo", "gaussian", "--quick", "--out", str(blocker / "sub")]) == 2
    assert "cannot create output folder" in _err(capsys)
    assert main(["train"]) == 2
    assert "--dataset" in _err(capsys)


def test_foreign_model_checkpoint(tmp_path, capsys):
    from ddpm_np.run.checkpoint import save_checkpoint
    save_checkpoint(tmp_path / "c.npz", {"model/x": np.zeros(1)},
                    {"model": {"kind": "transformer", "config": {}},
                     "schedule": {"betas": [0.1]}, "train_config": {}})
    assert main(["sample", "--checkpoint", str(tmp_path / "c.npz"), "--n", "2",
                 "--out", str(tmp_path / "s.npy")]) == 2
    assert "transformer" in _err(capsys)


@pytest.mark.parametrize("argv,match", [
    (["demo", "ring"], "invalid choice"),
    (["sample", "--checkpoint", "x.npz", "--n", "0"], "positive integer"),
    (["demo", "spiral", "--steps", "-3"], "positive integer"),
])
def test_argparse_errors(argv, match, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert match in capsys.readouterr().err


def test_module_entry_point_help():
    r = subprocess.run([sys.executable, "-m", "ddpm_np", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "demo" in r.stdout and "sample" in r.stdout


def test_stop_at_then_resume(tmp_path):
    out = tmp_path / "run"
    common = ["--no-progress", "--hidden", "16", "--blocks", "1", "--T", "50"]
    assert main(["train", "--dataset", "moons", "--steps", "20", "--stop-at", "8",
                 "--out", str(out)] + common) == 0
    assert json.loads((out / "checkpoint.json").read_text())["step"] == 8
    assert main(["train", "--resume", str(out / "checkpoint.npz"), "--no-progress"]) == 0
    assert json.loads((out / "checkpoint.json").read_text())["step"] == 20


@pytest.mark.parametrize("var,value,match", [
    ("DDPM_NP_TIER", "gpu", "DDPM_NP_TIER must be one of fast, reference, got 'gpu'"),
    ("DDPM_NP_THREADS", "two", "DDPM_NP_THREADS must be a positive integer, got 'two'"),
    ("DDPM_NP_THREADS", "0", "DDPM_NP_THREADS must be a positive integer, got '0'"),
])
def test_malformed_environment_is_one_line_before_any_work(tmp_path, monkeypatch, capsys, var,
                                                           value, match):
    monkeypatch.setenv(var, value)
    assert main(["demo", "gaussian", "--quick", "--out", str(tmp_path / "d")]) == 2
    assert match in _err(capsys)
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("argv, tier", [
    (["demo", "spiral"], "reference"), (["demo", "mnist"], "fast"),
    (["train", "--dataset", "moons"], "reference"), (["train", "--dataset", "mnist"], "fast"),
    (["sample", "--n", "2"], "fast"), (["phi4"], "fast"), (["bench", "unet"], "fast"),
    (["train-classifier"], "fast"), (["exercises", "--status"], "reference"),
    (["sample", "--n", "2", "--checkpoint", "{toy}"], "reference"),
    (["train", "--resume", "{toy}"], "reference"),
    (["evaluate", "--checkpoint", "{img}"], "fast"),
    (["sample", "--n", "2", "--checkpoint", "{tmp}/missing.npz"], "reference"),
])
def test_each_command_runs_the_tier_it_says(argv, tier, toy_run, tiny_checkpoint, tmp_path):
    """The fast tier where speed is the point (the convolutional models), the reference tier
    (what a learner reads) for the 2-D MLP and the exercises (cli/tiers.py)."""
    from ddpm_np.cli import build_parser
    from ddpm_np.cli.commands import COMMANDS
    from ddpm_np.cli.tiers import command_tier
    argv = [a.format(toy=toy_run, img=tiny_checkpoint, tmp=tmp_path) for a in argv]
    assert command_tier(build_parser(COMMANDS).parse_args(argv)) == tier


@pytest.mark.parametrize("environment, tier", [(None, "reference"), ("fast", "fast")])
def test_a_2d_demo_runs_the_reference_layers_unless_told(tmp_path, monkeypatch, environment,
                                                          tier):
    """What `ddpm-np demo spiral` runs is the code a learner reads; DDPM_NP_TIER=fast overrides."""
    import ddpm_np.models.mlp as mlp
    from ddpm_np.nn import layers
    seen = []
    monkeypatch.setattr(mlp, "layers", lambda t=None: seen.append(layers(t)) or seen[-1])
    if environment:
        monkeypatch.setenv("DDPM_NP_TIER", environment)
    else:
        monkeypatch.delenv("DDPM_NP_TIER", raising=False)
    assert main(["demo", "gaussian", "--quick", "--no-progress", "--out", str(tmp_path)]) == 0
    names = {namespace.__name__ for namespace in seen}
    assert names == {"ddpm_np.nn" if tier == "reference" else "ddpm_np.nn.fast"}, names


def test_version_and_one_vocabulary_of_flags(capsys):
    """--version; sampler steps are --sample-steps in every command (--steps kept where it
    meant them); every --seed says what it is."""
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("ddpm-np ")
    from ddpm_np.cli import build_parser
    from ddpm_np.cli.commands import COMMANDS
    sub = next(a for a in build_parser(COMMANDS)._actions if a.dest == "command").choices
    for name in ("sample", "inpaint", "interpolate", "evaluate", "demo"):
        options = {o for a in sub[name]._actions for o in a.option_strings}
        assert "--sample-steps" in options, name
    for name, p in sub.items():
        for a in p._actions:
            if "--seed" in a.option_strings:
                assert a.help and "seed" in a.help, name
