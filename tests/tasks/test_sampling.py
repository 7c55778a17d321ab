"""Samples from a checkpoint from Python, the same function `ddpm-np sample` calls."""
import numpy as np
import pytest

from ddpm_np.tasks.runs import train_run
from ddpm_np.tasks.sampling import SamplingError, sample_checkpoint


@pytest.fixture(scope="module")
def toy_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    train_run("moons", out=out, steps=5, hidden=16, blocks=1, T=50, progress=False)
    return out / "checkpoint.npz"


def test_same_seed_same_samples(toy_checkpoint):
    a, info = sample_checkpoint(toy_checkpoint, 20, "ddim", steps=5, seed=3, progress=False)
    b, _ = sample_checkpoint(toy_checkpoint, 20, "ddim", steps=5, seed=3, progress=False)
    assert a.shape == (20, 2)
    meta = info.pop("meta")
    assert info == {"sampler": "ddim", "steps": 5, "guidance": 0.0, "image": False,
                    "sampler_name": "DDIM, 5 steps", "kind": "points", "labels": None}
    assert meta["model"]["kind"] == "mlp" and meta["data"]["shape"] == [2]
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kw,match", [
    (dict(sampler="euler"), r"sampler must be one of ddpm, ddim, dpm\+\+2m, got .euler."),
    (dict(sampler="ddpm", steps=10), "steps apply to the DDIM and DPM-Solver samplers"),
    (dict(sampler="dpm++2m", eta=0.5), "eta applies to the DDIM sampler only"),
    (dict(sampler="dpm++2m", spacing="karras"), "spacing must be one of logsnr"),
    (dict(sampler="ddim", steps=51), "steps 51 exceed the model's T = 50"),
    (dict(digit=3), "need a class-conditional model"),
    (dict(guidance=1.0), "need a class-conditional model"),
])
def test_bad_requests_say_what_is_allowed(toy_checkpoint, kw, match):
    with pytest.raises(SamplingError, match=match):
        sample_checkpoint(toy_checkpoint, 4, progress=False, **kw)


def test_dpm_solver_from_a_checkpoint(toy_checkpoint):
    x, info = sample_checkpoint(toy_checkpoint, 20, "dpm++2m", seed=3, progress=False)
    assert x.shape == (20, 2) and np.isfinite(x).all() and info["steps"] == 15
