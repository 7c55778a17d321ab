"""Training runs by name from Python, the same function the command line calls."""
import numpy as np
import pytest

from ddpm_np.run.checkpoint import save_checkpoint
from ddpm_np.tasks.runs import train_run
from ddpm_np.run.state import RunError


def test_a_toy_run_from_python_and_its_resume(tmp_path):
    logs = []
    kw = dict(hidden=16, blocks=1, T=50, batch_size=32, checkpoint_every=5, progress=False)
    t = train_run("spiral", out=tmp_path / "run", steps=10, stop_at=5, **kw)
    assert t.step == 5 and t.checkpoint_path().exists()
    t = train_run(resume=t.checkpoint_path(), progress=False, log=logs.append)
    assert t.step == 10 and logs == [f"resuming {tmp_path / 'run' / 'checkpoint.npz'} at step 5/10"]
    straight = train_run("spiral", out=tmp_path / "straight", steps=10, **kw)
    for a, b in zip(straight.model.parameters(), t.model.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_run_errors_say_what_is_allowed(tmp_path):
    with pytest.raises(RunError, match=r"a dataset \(--dataset NAME\)"):
        train_run()
    with pytest.raises(RunError, match="unknown dataset 'circles'; choose one of"):
        train_run("circles", out=tmp_path)
    path = tmp_path / "foreign.npz"
    save_checkpoint(path, {}, {"data": {"dataset": "cifar"}})
    with pytest.raises(RunError, match="dataset 'cifar' is none of gaussian"):
        train_run(resume=path)


def test_a_run_removes_the_temporaries_a_killed_write_left(tmp_path):
    kw = dict(hidden=16, blocks=1, T=50, batch_size=32, progress=False)
    t = train_run("spiral", out=tmp_path, steps=4, stop_at=2, **kw)
    stale = [tmp_path / "checkpoint.npz.abc123.tmp", tmp_path / "checkpoint.json.x.tmp"]
    for p in stale:
        p.write_bytes(b"half")
    keep = tmp_path / "notes.tmp"                 # not ours: left alone
    keep.write_text("mine")
    train_run(resume=t.checkpoint_path(), progress=False, log=lambda *a: None)
    assert not any(p.exists() for p in stale) and keep.exists()


def test_the_short_preset_sets_its_recipe_and_options_beside_it_win(tmp_path, needs_mnist,
                                                                   fast_tier):
    """One step of each: the preset's steps, weighting and learned variance reach the run, and
    a schedule given beside it is kept (MNIST from ../shared/data)."""
    from ddpm_np.tasks.mnist_train import PRESETS
    t = train_run("mnist", out=tmp_path / "short", preset="short", stop_at=1, progress=False,
                  batch_size=4)
    assert t.step == 1 and t.config.steps == PRESETS["short"]["steps"]
    assert t.config.loss_weighting == "min_snr" and not t.model.learn_sigma
    assert t.config.batch_size == 4
    t = train_run("mnist", out=tmp_path / "cosine", preset="short", steps=1, progress=False,
                  batch_size=4, schedule="cosine", loss_weighting="none", learn_sigma=True,
                  vlb_weight=0.01)
    assert t.config.steps == 1 and t.schedule.name == "cosine" and t.model.learn_sigma
    assert t.config.loss_weighting == "none" and t.objective.vlb_weight == 0.01
    t = train_run(resume=tmp_path / "cosine" / "checkpoint.npz", steps=2, progress=False,
                  vlb_weight=0.02, log=lambda line: None)
    assert t.step == 2 and t.objective.vlb_weight == 0.02 == t.config.vlb_weight
    with pytest.raises(RunError, match="unknown preset 'long'"):
        train_run("mnist", out=tmp_path / "x", preset="long")


def test_an_mnist_run_predicting_v_samples_through_its_eps(tmp_path, needs_mnist, fast_tier):
    """--parameterization reaches the MNIST UNet's objective, the checkpoint keeps it, and the
    image loader hands the samplers an ε-network; with the learned variance it is refused."""
    from ddpm_np.diffusion.param import EpsNetwork
    from ddpm_np.tasks.mnist_sample import load_image_model, sample_images
    t = train_run("mnist", out=tmp_path / "v", steps=1, progress=False, batch_size=4,
                  parameterization="v", checkpoint_every=1)
    assert t.config.parameterization == "v"
    model, schedule, _ = load_image_model(t.checkpoint_path())
    assert isinstance(model, EpsNetwork) and model.parameterization == "v"
    x = sample_images(model, schedule, 2, np.random.default_rng(0), np.array([3, 4]), 0.5,
                      "ddim", 2, progress=False)
    assert x.shape == (2, 1, 28, 28) and np.all(np.isfinite(x))
    from ddpm_np.tasks.sampling import sample_checkpoint
    y, _ = sample_checkpoint(t.checkpoint_path(), 2, seed=0, sampler="ddim", steps=2, digit=3,
                             progress=False)
    direct = sample_images(model, schedule, 2, np.random.default_rng(0), np.array([3, 3]), 0.5,
                           "ddim", 2, progress=False, clip=False)
    np.testing.assert_allclose(y, direct)
    with pytest.raises(RunError, match="--learn-sigma trains the ε-network"):
        train_run("mnist", out=tmp_path / "x", learn_sigma=True, parameterization="x0")
