"""One vocabulary for the environment (environment.py): an empty value is unset, a switch is
1/0, true/false, yes/no or on/off and nothing else, a number is a number; each bad value is one
line before any work. And a φ⁴ study's own files are checked before use."""
import json

import numpy as np
import pytest

from ddpm_np import environment
from ddpm_np.cli import main
from ddpm_np.environment import EnvironmentValueError


@pytest.mark.parametrize("text,on", [("1", True), ("TRUE", True), (" yes ", True), ("on", True),
                                     ("0", False), ("False", False), ("no", False),
                                     ("OFF", False)])
def test_a_switch_reads_the_usual_words(text, on):
    assert environment.switch("DDPM_NP_DEBUG", environ={"DDPM_NP_DEBUG": text}) is on


@pytest.mark.parametrize("name", list(environment.SWITCHES) + list(environment.NUMBERS)
                         + list(environment.CHOICES) + list(environment.FOLDERS))
@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_value_counts_as_unset_for_every_variable(name, empty):
    assert environment.value(name, {name: empty}) is None
    environment.check_all({name: empty})


@pytest.mark.parametrize("name,bad,message", [
    ("DDPM_NP_CALIBRATE", "maybe", "DDPM_NP_CALIBRATE='maybe' is not a switch"),
    ("DDPM_NP_DEBUG", "2", "DDPM_NP_DEBUG='2' is not a switch"),
    ("DDPM_NP_OFFLINE", "sure", "DDPM_NP_OFFLINE='sure' is not a switch"),
    ("DDPM_NP_TUTORIAL_QUICK", "quick", "DDPM_NP_TUTORIAL_QUICK='quick' is not a switch"),
    ("DDPM_NP_THREADS", "two", "DDPM_NP_THREADS must be a positive integer, got 'two'"),
    ("DDPM_NP_MPI_TIMEOUT", "0", "DDPM_NP_MPI_TIMEOUT must be a positive integer, got '0'"),
    ("DDPM_NP_TIER", "gpu", "DDPM_NP_TIER must be one of fast, reference, got 'gpu'"),
])
def test_a_bad_value_is_one_line_before_any_work(capsys, monkeypatch, tmp_path, name, bad,
                                                 message):
    with pytest.raises(EnvironmentValueError, match="got|not a switch"):
        environment.check_all({name: bad})
    monkeypatch.setenv(name, bad)
    assert main(["demo", "gaussian", "--quick", "--no-progress", "--out",
                 str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("ddpm-np: error: ") and message in err, err
    assert not (tmp_path / "d").exists()


def test_debug_false_means_no_traceback(capsys, monkeypatch):
    monkeypatch.setenv("DDPM_NP_DEBUG", "false")
    assert main(["sample", "--checkpoint", "nowhere.npz", "--n", "2", "--out", "s.npy"]) == 2
    assert "Traceback" not in capsys.readouterr().err


QUICK = ["phi4", "--quick", "--L", "4", "--lam", "5.0", "--no-progress"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study") / "p"
    assert main(QUICK + ["--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("change,message", [
    (lambda s: dict(s, config=[1, 2]), "field config must be an object, got list"),
    (lambda s: dict(s, config=dict(s["config"], colour="red")), "config has fields no study"),
    (lambda s: dict(s, done="all"), "field done must list stages"),
    (lambda s: dict(s, seconds={"hmc": "long"}), "field seconds must map names to seconds"),
    (lambda s: [s], "a JSON object is expected, got list"),
])
def test_a_damaged_study_record_is_one_line(capsys, tmp_path, study, change, message):
    import shutil
    out = tmp_path / "p"
    shutil.copytree(study, out)
    state = json.loads((out / "study.json").read_text())
    (out / "study.json").write_text(json.dumps(change(state)))
    assert main(QUICK + ["--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "study.json is damaged" in err, err


def test_truncated_proposals_are_one_line(capsys, tmp_path, study):
    import shutil
    out = tmp_path / "p"
    shutil.copytree(study, out)
    whole = (out / "proposals.npz").read_bytes()
    (out / "proposals.npz").write_bytes(whole[:len(whole) // 2])
    assert main(QUICK + ["--out", str(out), "--stage", "report"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "proposals.npz" in err and "corrupt" in err, err
    np.savez(out / "proposals.npz", phi=np.zeros((2, 4, 4)))
    assert main(QUICK + ["--out", str(out), "--stage", "report"]) == 2
    assert "it lacks log_w" in capsys.readouterr().err
