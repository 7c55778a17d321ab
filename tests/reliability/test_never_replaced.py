"""Nothing existing is replaced without --overwrite, for every file every command writes: each
command is run where one of its files already holds someone else's work, and is refused in one
line before any work, leaving that file as it was; with --overwrite it goes ahead."""
import numpy as np
import pytest

from ddpm_np.cli import main
from ddpm_np.tasks.mnist_sample import DEMO_FILES as MNIST_DEMO_FILES
from ddpm_np.studies.phi4.state import STUDY_FILES
from ddpm_np.tasks.toy import DEMO_FILES as TOY_DEMO_FILES

OTHER_WORK = b"someone else's work"


def _plant(folder, name):
    """`name` (a file or a folder) in `folder`, holding other work; returns what to compare."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name.replace("*", "000100")
    if "." in name:
        path.write_bytes(OTHER_WORK)
    else:
        path.mkdir()
        (path / "notes.txt").write_bytes(OTHER_WORK)
    return path


def _refused(capsys, argv, planted):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and ("--overwrite" in err or "another --out" in err), err
    target = planted if planted.is_file() else planted / "notes.txt"
    assert target.read_bytes() == OTHER_WORK
    return err


@pytest.mark.parametrize("name", TOY_DEMO_FILES)
def test_a_2d_demo_replaces_none_of_its_files(capsys, tmp_path, name):
    planted = _plant(tmp_path / "d", name)
    argv = ["demo", "gaussian", "--quick", "--no-progress", "--out", str(tmp_path / "d")]
    err = _refused(capsys, argv, planted)
    assert planted.name in err or "already holds a run" in err


@pytest.mark.parametrize("name", MNIST_DEMO_FILES + ("grid_step*.png",))
def test_the_mnist_demo_replaces_none_of_its_files(capsys, tmp_path, name):
    planted = _plant(tmp_path / "m", name)
    _refused(capsys, ["demo", "mnist", "--train", "--steps", "2", "--no-progress", "--out",
                      str(tmp_path / "m")], planted)


def test_a_new_mnist_run_replaces_no_sample_grid(capsys, tmp_path):
    planted = _plant(tmp_path / "r", "grid_step*.png")
    _refused(capsys, ["train", "--dataset", "mnist", "--steps", "2", "--no-progress", "--out",
                      str(tmp_path / "r")], planted)


@pytest.mark.parametrize("name", [n for n in STUDY_FILES if n != "study.json"])
def test_a_study_replaces_nothing_in_a_folder_that_is_not_a_study(capsys, tmp_path, name):
    planted = _plant(tmp_path / "p", name)
    err = _refused(capsys, ["phi4", "--quick", "--L", "4", "--lam", "5", "--no-progress",
                            "--out", str(tmp_path / "p")], planted)
    assert "but no study.json" in err


@pytest.mark.parametrize("argv,flag", [
    ("bench scaling --figure {file}.png", "--figure"),
    ("train-classifier --out {file}.npz --epochs 1", "--out"),
    ("sample --checkpoint {tiny} --n 2 --out {file}.npy", "--out"),
    ("sample --checkpoint {tiny} --n 2 --grid {file}.png", "--grid"),
    ("inpaint --checkpoint {tiny} --test-index 0 --mask bottom --grid {file}.png", "--grid"),
    ("inpaint --checkpoint {tiny} --test-index 0 --mask bottom --out {file}.npy", "--out"),
    ("interpolate --checkpoint {tiny} --grid {file}.png", "--grid"),
    ("evaluate --checkpoint {tiny} --n 10 --out {file}.json", "--out"),
])
def test_a_file_named_by_a_flag_is_not_replaced(capsys, tmp_path, argv, flag, tiny_checkpoint):
    file = tmp_path / "existing"
    argv = argv.format(file=file, tiny=tiny_checkpoint).split()
    planted = _plant(tmp_path, argv[argv.index(flag) + 1].rsplit("/", 1)[1])
    err = _refused(capsys, argv, planted)
    assert f"{flag} {planted} exists; add --overwrite" in err


def test_train_classifier_writes_into_the_run_folder_not_the_package(capsys, tmp_path,
                                                                      monkeypatch):
    """Without --out the weights go to runs/mnist_classifier.npz, never over the shipped ones
    inside the installed package."""
    monkeypatch.chdir(tmp_path)
    planted = _plant(tmp_path / "runs", "mnist_classifier.npz")
    err = _refused(capsys, ["train-classifier", "--epochs", "1", "--no-progress"], planted)
    assert "runs/mnist_classifier.npz exists" in err


def test_overwrite_goes_ahead(capsys, tmp_path):
    planted = _plant(tmp_path / "d", "loss.png")
    assert main(["demo", "gaussian", "--quick", "--no-progress", "--overwrite", "--out",
                 str(tmp_path / "d")]) == 0
    assert planted.read_bytes() != OTHER_WORK and np.load(tmp_path / "d" / "samples.npy").size
