"""The training loop: exact resume, NaN handling, atomic checkpoints, Ctrl-C."""
import json
import os
import signal
import threading

import numpy as np
import pytest

from ddpm_np.run.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ddpm_np.data import toy2d
from ddpm_np.tasks.toy import toy_schedule
from ddpm_np.models import MLP
from ddpm_np.data.batching import ArrayDataset
from ddpm_np.run.loading import load_for_sampling
from ddpm_np.train import TrainConfig, Trainer, TrainingDiverged, TrainingInterrupted


def make_trainer(out_dir, steps=30, seed=0, **cfg):
    rng = np.random.default_rng(seed)
    x = toy2d.sample("two-gaussians", 500, rng)
    model = MLP(hidden=16, num_blocks=2, emb_dim=8, fourier_features=4, rng=rng)
    config = TrainConfig(steps=steps, batch_size=32, checkpoint_every=10, warmup_steps=5,
                         seed=seed, **cfg)
    return Trainer(model, toy_schedule(50), ArrayDataset(x, description={"dataset": "x"}),
                   config, out_dir)


def test_resume_is_bit_identical(tmp_path):
    full = make_trainer(tmp_path / "full").run(progress=False)
    part = make_trainer(tmp_path / "part").run(progress=False, stop_at=17)  # "interrupted"
    resumed = Trainer.resume(tmp_path / "part" / "checkpoint.npz", part.data)
    assert resumed.step == 17
    resumed.run(progress=False)
    for (n, a), (_, b) in zip(full.model.named_parameters(), resumed.model.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=n)
    for a, b in zip(full.ema.shadow, resumed.ema.shadow):
        np.testing.assert_array_equal(a, b)
    assert full.log["loss"] == resumed.log["loss"]


def test_same_seed_same_run(tmp_path):
    a = make_trainer(None, steps=15).run(progress=False)
    b = make_trainer(None, steps=15).run(progress=False)
    assert a.log["loss"] == b.log["loss"]


def test_min_snr_weighting_reaches_the_loss_and_the_checkpoint(tmp_path):
    """The first step's loss is the mean of the weighted squared errors: with min-SNR weights
    (≤ 1 for ε) it is smaller than L_simple on the same draws, and the setting is saved."""
    from ddpm_np.diffusion import diffusion_loss, sample_training_batch
    plain = make_trainer(None, steps=1).run(progress=False)
    weighted = make_trainer(tmp_path, steps=1, loss_weighting="min_snr").run(progress=False)
    assert weighted.log["loss"][0] < plain.log["loss"][0]
    tr = make_trainer(None, steps=1, loss_weighting="min_snr")
    x0, _ = tr.data.batch(tr.rng, 32)
    t, eps, xt = sample_training_batch(x0, tr.schedule, tr.rng)
    want, _ = diffusion_loss(tr.model(xt, t), x0, eps, t, tr.schedule, weighting="min_snr")
    assert weighted.log["loss"][0] == pytest.approx(want, rel=1e-6)
    _, meta = load_checkpoint(tmp_path / "checkpoint.npz")
    assert meta["train_config"]["loss_weighting"] == "min_snr"
    with pytest.raises(ValueError, match="loss_weighting must be one of none, min_snr"):
        TrainConfig(loss_weighting="snr").validate()


def test_a_run_folder_has_one_writer_at_a_time(tmp_path):
    """A second trainer of the same folder is refused at once, naming the holder, and removes
    nothing of the first's; a lock whose process is gone is taken over; none is left after."""
    import socket
    from ddpm_np.run.lock import LOCK
    from ddpm_np.run.state import RunError
    lock = tmp_path / LOCK
    lock.write_text(f"{socket.gethostname()} {os.getpid()}")           # a live holder
    (tmp_path / "checkpoint.npz.abc123.tmp").write_bytes(b"its write in progress")
    with pytest.raises(RunError, match=f"being trained by process {os.getpid()} on"):
        make_trainer(tmp_path, steps=3).run(progress=False)
    assert (tmp_path / "checkpoint.npz.abc123.tmp").exists()
    lock.write_text(f"{socket.gethostname()} {2**22 + 12345}")         # no such process
    make_trainer(tmp_path, steps=3).run(progress=False)
    assert not lock.exists() and not (tmp_path / "checkpoint.npz.abc123.tmp").exists()


def test_a_batch_smaller_than_the_processes_is_refused_before_work():
    from ddpm_np.parallel import Serial

    class ThreeRanks(Serial):
        size = 3
    with pytest.raises(ValueError, match="batch size 2 is smaller than the 3 processes"):
        Trainer(MLP(hidden=8, num_blocks=1, rng=np.random.default_rng(0)), toy_schedule(50),
                ArrayDataset(np.zeros((4, 2), np.float32)), TrainConfig(batch_size=2),
                world=ThreeRanks())


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    tr = make_trainer(tmp_path, steps=30)
    tr.config.steps = 10
    tr.run(progress=False)
    good = (tmp_path / "checkpoint.npz").read_bytes()
    tr.config.steps = 30
    tr.data.x = tr.data.x.copy()
    tr.data.x[:] = np.nan
    with pytest.raises(TrainingDiverged, match=r"step 11.*last good checkpoint"):
        tr.run(progress=False)
    assert (tmp_path / "checkpoint.npz").read_bytes() == good


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"log/a": np.arange(3)}, {"step": 3})
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"log/a": np.arange(5)}, {"step": 5})
    assert path.read_bytes() == before                     # the old file is intact
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    arrays, meta = load_checkpoint(path)
    assert meta["step"] == 3 and list(arrays["log/a"]) == [0, 1, 2]


def test_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(tmp_path / "junk.npz")
    np.savez(tmp_path / "plain.npz", a=np.zeros(2))
    with pytest.raises(CheckpointError, match="not a ddpm_np checkpoint"):
        load_checkpoint(tmp_path / "plain.npz")


def test_checkpoint_contents_and_sampling_load(tmp_path):
    tr = make_trainer(tmp_path, steps=10).run(progress=False)
    meta = json.loads((tmp_path / "checkpoint.json").read_text())
    assert meta["step"] == 10 and meta["model"]["kind"] == "mlp"
    model, schedule, _ = load_for_sampling(tmp_path / "checkpoint.npz")
    assert schedule.T == 50
    for a, b in zip(model.parameters(), tr.ema.shadow):
        np.testing.assert_array_equal(a.data, b)
    np.testing.assert_array_equal(model.B, tr.model.B)


def test_ctrl_c_saves_and_says_how_to_resume(tmp_path):
    tr = make_trainer(tmp_path, steps=10_000)
    orig = tr.train_step
    calls = []

    def step_then_interrupt(*args):
        loss = orig(*args)
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return loss
    tr.train_step = step_then_interrupt
    assert threading.current_thread() is threading.main_thread()
    with pytest.raises(TrainingInterrupted, match=r"step 3/10000.*--resume"):
        tr.run(progress=False)
    _, meta = load_checkpoint(tmp_path / "checkpoint.npz")
    assert meta["step"] == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_bad_config():
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0).validate()
    with pytest.raises(ValueError, match="parameterization"):
        TrainConfig(parameterization="score").validate()


def test_the_same_trainer_fits_a_classifier(tmp_path):
    """Any objective: softmax cross-entropy on two separable blobs, and the loss falls."""
    from ddpm_np.nn import Linear
    from ddpm_np.tasks.classifier import ClassificationObjective
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    x = (rng.standard_normal((400, 2)) + 3 * y[:, None] - 1.5).astype(np.float32)
    data = ArrayDataset(x, y, {"dataset": "blobs"})

    def make(out):
        model = Linear(2, 2, rng=np.random.default_rng(1))
        model.config = lambda: {}
        return Trainer(model, None, data, TrainConfig(steps=60, batch_size=32, lr=0.05,
                                                      checkpoint_every=20), out,
                       objective=ClassificationObjective())

    trainer = make(None).run(progress=False)
    assert np.mean(trainer.log["loss"][-10:]) < 0.5 * trainer.log["loss"][0]
    assert np.mean((x @ trainer.model.W.data + trainer.model.b.data).argmax(1) == y) > 0.9
    with pytest.raises(ValueError, match="noise schedule"):
        Trainer(Linear(2, 2, rng=rng), None, data, TrainConfig())


def test_a_classifier_run_checkpoints_without_a_schedule_and_resumes_exactly(tmp_path):
    from ddpm_np.models import Classifier
    from ddpm_np.tasks.classifier import ClassificationObjective
    rng = np.random.default_rng(0)
    data = ArrayDataset(rng.uniform(-1, 1, (16, 1, 28, 28)).astype(np.float32),
                        rng.integers(0, 10, 16), {"dataset": "noise"})
    cfg = dict(steps=4, batch_size=4, lr=1e-3, checkpoint_every=2)

    def make(out):
        return Trainer(Classifier(rng=np.random.default_rng(1)), None, data, TrainConfig(**cfg),
                       out, objective=ClassificationObjective())

    full = make(tmp_path / "full").run(progress=False)
    make(tmp_path / "part").run(progress=False, stop_at=2)
    _, meta = load_checkpoint(tmp_path / "part" / "checkpoint.npz")
    assert meta["schedule"] is None and meta["model"]["kind"] == "classifier"
    resumed = Trainer.resume(tmp_path / "part" / "checkpoint.npz", data,
                             objective=ClassificationObjective()).run(progress=False)
    for a, b in zip(full.model.parameters(), resumed.model.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
