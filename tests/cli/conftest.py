"""Checkpoints the command-line tests share: a tiny 2-D run, a tiny MNIST-shaped UNet, and
broken ones."""
import json

import numpy as np
import pytest

from ddpm_np.run.checkpoint import load_checkpoint, save_checkpoint
from ddpm_np.diffusion import NoiseSchedule
from ddpm_np.tasks.runs import train_run
from ddpm_np.models import UNet
from ddpm_np.data.batching import ArrayDataset
from ddpm_np.run.loading import export_for_sampling
from ddpm_np.train import TrainConfig, Trainer


@pytest.fixture(scope="session")
def toy_run(tmp_path_factory):
    """A finished 20-step moons run (hidden 16, 1 block, T = 50)."""
    out = tmp_path_factory.mktemp("toy") / "run"
    train_run("moons", out=out, steps=20, hidden=16, blocks=1, T=50, checkpoint_every=10,
              progress=False, log=lambda *a: None)
    return out / "checkpoint.npz"


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A sampling-only checkpoint of a tiny class-conditional UNet on 28×28 images."""
    out = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    model = UNet(base_channels=4, channel_mults=(1, 2), attention_resolutions=(), num_classes=10,
                 emb_dim=8, groups=2, rng=rng)
    x = rng.uniform(-1, 1, (32, 1, 28, 28)).astype(np.float32)
    data = ArrayDataset(x, rng.integers(0, 10, 32), {"dataset": "tiny"})
    Trainer(model, NoiseSchedule.linear(1000), data, TrainConfig(steps=3, batch_size=4), out,
            meta={"sample_shape": [1, 28, 28]}).run(progress=False)
    return export_for_sampling(out / "checkpoint.npz", out / "tiny.npz")


@pytest.fixture(scope="session")
def broken(tmp_path_factory, toy_run):
    """Checkpoints damaged in the ways a user meets: NaN weights, weights that overflow to Inf
    in sampling, hand-edited metadata, a file that is not a checkpoint."""
    folder = tmp_path_factory.mktemp("broken")
    arrays, meta = load_checkpoint(toy_run)
    nan = dict(arrays)
    nan["ema/out.W"] = np.full_like(arrays["ema/out.W"], np.nan)
    save_checkpoint(folder / "nan.npz", nan, meta)
    huge = dict(arrays)
    huge["ema/out.b"] = np.full_like(arrays["ema/out.b"], 3e38)
    save_checkpoint(folder / "huge.npz", huge, meta)
    save_checkpoint(folder / "badmeta.npz", arrays, dict(meta, step="twenty"))
    save_checkpoint(folder / "badconfig.npz", arrays,
                    dict(meta, train_config=dict(meta["train_config"], steps=-5)))
    save_checkpoint(folder / "noschedule.npz", arrays, {k: v for k, v in meta.items()
                                                        if k != "schedule"})
    np.savez(folder / "other.npz", W=np.zeros(3))
    (folder / "garbage.npz").write_bytes(b"garbage")
    (folder / "notes.json").write_text(json.dumps({}))
    return folder
