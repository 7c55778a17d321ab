"""Choosing a tier: names, the environment variable, errors."""
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
