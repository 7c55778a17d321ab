"""Runs on your own data (tasks/own_train.py, own_resume.py, own_report.py): each kind trains,
writes a checkpoint that knows its data, metrics.json and a figure, samples in the data's units,
and resumes on its data (and only on other data when told)."""
import json

import numpy as np
import pytest
from PIL import Image

from ddpm_np.data.own import load
from ddpm_np.run.checkpoint import load_checkpoint, read_meta
from ddpm_np.run.state import RunError
from ddpm_np.tasks.own_train import model_for, train_on
from ddpm_np.tasks.runs import train_run
from ddpm_np.tasks.sampling import sample_checkpoint, sample_to_files

QUIET = dict(progress=False, log=lambda *a: None)
TINY_POINTS = dict(hidden=16, blocks=1, T=30, batch_size=32, checkpoint_every=10)


def _points(tmp_path, rng, n=400):
    x = rng.normal([100.0, -3.0, 7.0], [10.0, 0.5, 2.0], (n, 3))
    np.savetxt(tmp_path / "p.csv", x, delimiter=",", header="a,b,c", comments="")
    return tmp_path / "p.csv", x


def test_points_run_knows_its_data_and_samples_in_its_units(tmp_path, rng):
    path, x = _points(tmp_path, rng)
    run = train_on(load(path), tmp_path / "run", steps=20, **TINY_POINTS, **QUIET)
    meta = read_meta(run.checkpoint_path())
    d = meta["data"]
    assert d["kind"] == "points" and d["shape"] == [3] and meta["sample_shape"] == [3]
    assert d["source"]["path"] == str(path.resolve()) and len(d["source"]["sha256"]) == 64
    np.testing.assert_allclose(d["scaling"]["mean"], x.mean(0))
    assert d["n_train"] + d["n_val"] == len(x) and d["val_fraction"] == 0.05
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for key in ("held_out_loss", "bound_bits_per_dim", "energy_distance",
                "energy_noise_floor"):
        assert np.isfinite(m[key]), key
    assert (tmp_path / "run" / "samples.png").stat().st_size > 1000
    model_units, _ = sample_checkpoint(run.checkpoint_path(), 8, "ddim", steps=5, seed=1,
                                       progress=False)
    sample_to_files(run.checkpoint_path(), 8, out=tmp_path / "s.csv", sampler="ddim", steps=5,
                    seed=1, progress=False)
    written = np.loadtxt(tmp_path / "s.csv", delimiter=",")
    np.testing.assert_allclose(written, model_units * np.asarray(d["scaling"]["std"])
                               + np.asarray(d["scaling"]["mean"]), rtol=1e-6)


def test_model_follows_the_data(tmp_path, rng):
    np.save(tmp_path / "wide.npy", rng.standard_normal((10, 12)))
    assert model_for(load(tmp_path / "wide.npy")).config()["dim"] == 12
    np.save(tmp_path / "img.npy", rng.integers(0, 256, (4, 3, 32, 32)).astype(np.uint8))
    unet = model_for(load(tmp_path / "img.npy"))
    c = unet.config()
    assert (c["in_channels"], c["image_size"], c["attention_resolutions"]) == (3, 32, [8])
    np.save(tmp_path / "small.npy", rng.integers(0, 256, (4, 10, 10)).astype(np.uint8))
    assert model_for(load(tmp_path / "small.npy")).config()["channel_mults"] == [1, 2]


def test_resume_is_exact_and_refuses_changed_data(tmp_path, rng):
    path, _ = _points(tmp_path, rng)
    whole = train_run(data=path, out=tmp_path / "whole", steps=20, **TINY_POINTS, **QUIET)
    train_run(data=path, out=tmp_path / "part", steps=20, stop_at=10, **TINY_POINTS, **QUIET)
    resumed = train_run(resume=tmp_path / "part" / "checkpoint.npz", **QUIET)
    assert resumed.step == 20
    a, _ = load_checkpoint(whole.checkpoint_path())
    b, _ = load_checkpoint(resumed.checkpoint_path())
    for k in a:
        if k.startswith("model/"):
            np.testing.assert_array_equal(a[k], b[k])
    x2 = np.loadtxt(path, delimiter=",", skiprows=1)
    np.savetxt(path, x2 * 1.01, delimiter=",", header="a,b,c", comments="")
    with pytest.raises(RunError, match="changed since the run began .*say --data"):
        train_run(resume=whole.checkpoint_path(), steps=30, **QUIET)
    said = []
    train_run(resume=whole.checkpoint_path(), steps=30, data=path, progress=False,
              log=said.append)
    assert any("not the data the run began on" in s for s in said)
    with pytest.raises(RunError, match="--hidden cannot change when resuming"):
        train_run(resume=whole.checkpoint_path(), steps=40, hidden=8, **QUIET)


def test_image_folder_run_is_class_conditional_by_name(tmp_path, rng):
    for k, name in enumerate(("disc", "square")):
        (tmp_path / "img" / name).mkdir(parents=True)
        for i in range(4):
            a = np.full((8, 8), 60 * k, np.uint8) + rng.integers(0, 20, (8, 8)).astype(np.uint8)
            Image.fromarray(a).save(tmp_path / "img" / name / f"{i}.png")
    run = train_on(load(tmp_path / "img"), tmp_path / "run", steps=2, batch_size=4,
                   base_channels=4, checkpoint_every=2, **QUIET)
    assert (tmp_path / "run" / "data.npz").exists()
    meta = read_meta(run.checkpoint_path())
    assert meta["data"]["classes"] == ["disc", "square"] and meta["sample_shape"] == [1, 8, 8]
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0 <= m["memorised_share"] <= 1
    sample_to_files(run.checkpoint_path(), 3, out=tmp_path / "out/", grid=tmp_path / "g.png",
                    sampler="ddim", steps=2, digit="square", progress=False)
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == [f"sample_0000{i}_square.png" for i in range(3)]
    with Image.open(tmp_path / "out" / files[0]) as im:
        assert im.size == (8, 8)
    x, _ = sample_to_files(run.checkpoint_path(), 2, out=tmp_path / "x.npy", sampler="ddim",
                           steps=2, progress=False)
    saved = np.load(tmp_path / "x.npy")
    assert saved.dtype == np.uint8 and saved.shape == (2, 8, 8)
    resumed = train_run(resume=run.checkpoint_path(), steps=3, **QUIET)   # from the cache
    assert resumed.step == 3
    # editing and evaluation work on any image checkpoint
    from ddpm_np.tasks.editing import EditError, inpaint_to_files, interpolate_to_file
    from ddpm_np.tasks.own_resume import evaluate_run
    done = inpaint_to_files(tmp_path / "in.png", run.checkpoint_path(),
                            image=tmp_path / "img" / "disc" / "0.png", mask="center", n=2,
                            steps=2, resample=1, progress=False)
    assert done.shape == (2, 1, 8, 8)
    interpolate_to_file(tmp_path / "interp.png", run.checkpoint_path(), frames=3, steps=2,
                        progress=False)
    with pytest.raises(EditError, match="--test-index reads the MNIST test set"):
        interpolate_to_file(tmp_path / "i2.png", run.checkpoint_path(), test_index=[0, 1],
                            progress=False)
    m = evaluate_run(run.checkpoint_path(), log=lambda *a: None)
    assert m["kind"] == "images" and np.isfinite(m["held_out_loss"])


def test_lattice_run_with_z2_is_odd_and_samples_fields(tmp_path, rng):
    np.save(tmp_path / "phi.npy", 1.5 * rng.standard_normal((40, 4, 4)))
    run = train_run(data=tmp_path / "phi.npy", kind="lattice", z2=True, out=tmp_path / "run",
                    steps=2, batch_size=8, checkpoint_every=2, **QUIET)
    meta = read_meta(run.checkpoint_path())
    assert meta["model"]["config"]["odd"] is True and meta["data"]["mirrored"] is True
    assert len(run.data.x) == 2 * meta["data"]["n_train"]
    sample_to_files(run.checkpoint_path(), 3, out=tmp_path / "f.npy", sampler="ddim", steps=2,
                    progress=False)
    assert np.load(tmp_path / "f.npy").shape == (3, 4, 4)
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(m["observables"]) == {"samples", "held_out"}


def test_a_trainer_made_run_says_how_to_resume(tmp_path, rng):
    from ddpm_np.data.batching import ArrayDataset
    from ddpm_np.models import MLP
    from ddpm_np.tasks.toy import toy_schedule
    from ddpm_np.train import TrainConfig, Trainer
    Trainer(MLP(dim=2, hidden=8, num_blocks=1, rng=rng), toy_schedule(30),
            ArrayDataset(rng.standard_normal((20, 2)).astype(np.float32)),
            TrainConfig(steps=2, batch_size=4), tmp_path / "t").run(progress=False)
    with pytest.raises(RunError, match="does not say what data it was trained on"):
        train_run(resume=tmp_path / "t" / "checkpoint.npz", steps=4, **QUIET)



def test_a_small_data_set_trains_with_the_whole_split_as_its_batch(tmp_path, rng):
    np.save(tmp_path / "few.npy", rng.standard_normal((40, 2)))
    said = []
    run = train_on(load(tmp_path / "few.npy"), tmp_path / "run", steps=2, hidden=8, blocks=1,
                   T=30, progress=False, log=said.append)
    assert run.config.batch_size == 38 and any("batch size 38" in s for s in said)
    with pytest.raises(RunError, match="fewer than a batch of 64: give --batch-size 38 or less"):
        train_on(load(tmp_path / "few.npy"), tmp_path / "r2", steps=2, batch_size=64, **QUIET)
