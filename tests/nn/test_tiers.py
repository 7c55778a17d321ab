"""Choosing a tier: names, the environment variable, errors."""
import numpy as np
import pytest

import ddpm_np.nn as nn
from ddpm_np.nn import fast, layers


def test_layers_by_name(monkeypatch):
    monkeypatch.delenv("DDPM_NP_TIER", raising=False)
    assert layers("reference") is nn and layers("fast") is fast
    assert layers() is fast
    monkeypatch.setenv("DDPM_NP_TIER", "reference")
    assert layers() is nn and nn.default_tier() == "reference"


@pytest.mark.parametrize("bad", ["Fast", "", "gpu"])
def test_bad_tier_is_a_clear_error(monkeypatch, bad):
    with pytest.raises(ValueError, match="tier must be one of fast, reference"):
        layers(bad)
    monkeypatch.setenv("DDPM_NP_TIER", bad)
    with pytest.raises(ValueError, match=f"DDPM_NP_TIER must be one of fast, reference, got {bad!r}"):
        layers()


def test_reference_model_pass_does_nothing():
    with nn.model_pass():
        pass


def test_the_shipped_weights_draw_the_same_digits_on_both_tiers():
    """Guided DDIM from the shipped UNet on the fast tier (Winograd, phases, low-resolution
    up-sampling, channels-last memory) and on the reference tier: the same samples within
    float32 rounding, accumulated over the steps (measured 5e-5; one 8-bit level is 8e-3)."""
    from ddpm_np.checkpoint import load_checkpoint
    from ddpm_np.diffusion import NoiseSchedule
    from ddpm_np.experiments.mnist_sample import resolve_checkpoint, sample_images
    from ddpm_np.loading import model_from_checkpoint
    arrays, meta = load_checkpoint(resolve_checkpoint("mnist"))
    schedule = NoiseSchedule.from_dict(meta["schedule"])
    samples = []
    for tier in ("fast", "reference"):
        model = model_from_checkpoint(arrays, meta, "ema")
        if tier == "reference":
            model = type(model)(**model.config(), rng=np.random.default_rng(0), tier=tier)
            model.load_state_dict(model_from_checkpoint(arrays, meta, "ema").state_dict())
        samples.append(sample_images(model.eval(), schedule, 4, np.random.default_rng(3),
                                     np.array([0, 3, 7, 9]), 0.5, "ddim", 10, progress=False,
                                     clip=False))
    assert np.abs(samples[0] - samples[1]).max() < 5e-4, np.abs(samples[0] - samples[1]).max()
