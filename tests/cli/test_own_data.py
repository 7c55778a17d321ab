"""`ddpm-np train --data`: every bad input is one line and exit status 2 before any work, and
nothing is left behind; the three kinds train, sample and resume from the command line."""
import re

import numpy as np
import pytest

from ddpm_np.cli import main
from tests.data.test_own import _bad_cases

# flags that do not fit the data, judged before any work
FLAG_CASES = [
    ("--data {tmp}/pts.npy --blocks 2 --kind images", "images are"),
    ("--data {tmp}/pts.npy --z2", "--z2 applies to lattice fields"),
    ("--data {tmp}/pts.npy --key a", "--key applies to .npz archives"),
    ("--data {tmp}/pts.npy --dataset moons", "not both"),
    ("--data {tmp}/pts.npy --preset short", "--preset applies to --dataset mnist"),
    ("--data {tmp}/pts.npy --learn-sigma", "--learn-sigma does not apply to points"),
    ("--data {tmp}/pts.npy --batch-size 500", "fewer than a batch of 500: give --batch-size"),
    ("--data {tmp}/pts.npy --image-size 16", "--image-size: an option for images"),
    ("--data {tmp}/img.npy --hidden 8", "--hidden does not apply to images"),
    ("--data {tmp}/pts.npy --val-fraction 0.9", "--val-fraction: expected a finite number"),
    ("--data {tmp}/img.npy --range 1,0", "--range: expected LOW,HIGH with LOW < HIGH"),
    ("--dataset moons --kind points", "apply to your own data (--data PATH)"),
]


def _run(argv, capsys):
    try:
        code = main(argv + ["--no-progress"])
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    return code, err.splitlines()


def test_every_bad_data_file_is_one_line_and_leaves_nothing(tmp_path, rng, capsys):
    (tmp_path / "data").mkdir()
    for what, path, options, fragment in _bad_cases(tmp_path / "data", rng):
        argv = ["train", "--data", str(path), "--out", str(tmp_path / "run")]
        for k, v in options.items():
            argv += [f"--{k.replace('_', '-')}", str(v)]
        code, lines = _run(argv, capsys)
        assert code == 2 and len(lines) == 1, (what, lines)
        assert not (tmp_path / "run").exists(), what
        assert re.search(fragment, lines[0]), (what, lines[0])


@pytest.mark.parametrize("args,fragment", FLAG_CASES, ids=[c[0] for c in FLAG_CASES])
def test_flags_that_do_not_fit_the_data(tmp_path, rng, capsys, args, fragment):
    np.save(tmp_path / "pts.npy", rng.standard_normal((100, 2)))
    np.save(tmp_path / "img.npy", rng.integers(0, 256, (10, 8, 8)).astype(np.uint8))
    code, lines = _run(["train", *args.format(tmp=tmp_path).split(), "--out",
                        str(tmp_path / "run")], capsys)
    assert code == 2 and len(lines) == 1, lines
    assert fragment in lines[0]
    assert not (tmp_path / "run").exists()


def test_points_from_the_command_line(tmp_path, rng, capsys):
    np.savetxt(tmp_path / "p.csv", rng.normal(5, 2, (300, 2)), delimiter=",")
    assert main(["train", "--data", str(tmp_path / "p.csv"), "--out", str(tmp_path / "r"),
                 "--steps", "10", "--hidden", "16", "--blocks", "1", "--T", "30",
                 "--batch-size", "32", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "points, 300 examples of shape (2,)" in out and "energy distance" in out
    assert main(["sample", "--checkpoint", str(tmp_path / "r" / "checkpoint.npz"), "--n", "5",
                 "--out", str(tmp_path / "s.csv"), "--grid", str(tmp_path / "s.png"),
                 "--no-progress"]) == 0
    assert np.loadtxt(tmp_path / "s.csv", delimiter=",").shape == (5, 2)
    assert main(["train", "--resume", str(tmp_path / "r" / "checkpoint.npz"), "--steps", "12",
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(tmp_path / "r" / "checkpoint.npz"),
                 "--no-progress"]) == 0
    assert '"energy_noise_floor"' in capsys.readouterr().out
    code, lines = _run(["evaluate", "--checkpoint", str(tmp_path / "r" / "checkpoint.npz"),
                        "--n", "10"], capsys)
    assert code == 2 and "--n: an MNIST option" in lines[0]
    code, lines = _run(["sample", "--checkpoint", str(tmp_path / "r" / "checkpoint.npz"),
                        "--n", "2", "--out", str(tmp_path / "imgs/")], capsys)
    assert code == 2 and "samples of points go to .npy or .csv/.tsv" in lines[0]


def test_any_checkpoint_samples_and_draws_from_the_command_line(tmp_path, rng, toy_run):
    """A UNet on 32×32 colour images trained through Trainer (no sample_shape given), and the
    2-D demo's run: both sample at their own shape and draw a picture (a grid, a scatter)."""
    from ddpm_np.data.batching import ArrayDataset
    from ddpm_np.diffusion import NoiseSchedule
    from ddpm_np.models import UNet
    from ddpm_np.train import TrainConfig, Trainer
    net = UNet(in_channels=3, base_channels=4, channel_mults=(1, 2), image_size=32, emb_dim=8,
               groups=2, rng=rng)
    assert net.config()["attention_resolutions"] == [16]     # the default follows the size
    x = rng.uniform(-1, 1, (8, 3, 32, 32)).astype(np.float32)
    Trainer(net, NoiseSchedule.linear(1000), ArrayDataset(x), TrainConfig(steps=1, batch_size=2),
            tmp_path / "u").run(progress=False)
    ckpt = str(tmp_path / "u" / "checkpoint.npz")
    assert main(["sample", "--checkpoint", ckpt, "--n", "2", "--sample-steps", "2", "--out",
                 str(tmp_path / "u.npy"), "--grid", str(tmp_path / "u.png"),
                 "--no-progress"]) == 0
    assert np.load(tmp_path / "u.npy").shape == (2, 3, 32, 32)
    assert main(["sample", "--checkpoint", str(toy_run), "--n", "50", "--grid",
                 str(tmp_path / "toy.png"), "--out", str(tmp_path / "toy.csv"),
                 "--no-progress"]) == 0
    assert np.loadtxt(tmp_path / "toy.csv", delimiter=",").shape == (50, 2)
