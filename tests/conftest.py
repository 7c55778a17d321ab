import os
from pathlib import Path

import numpy as np
import pytest

# Tests read datasets from ../shared/data unless the caller points elsewhere.
_shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not os.environ.get("DDPM_NP_DATA") and _shared.is_dir():
    os.environ["DDPM_NP_DATA"] = str(_shared)
# The fast tier's choices follow its rules, not this machine's measurements (nn/fast/tuning.py),
# here and in every process a test starts: the same numbers on every machine. The tests of the
# calibration itself turn it on.
os.environ["DDPM_NP_CALIBRATE"] = "0"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(params=["reference", "fast"])
def L(request):
    """The layers of each tier in turn (`ddpm_np.nn` and `ddpm_np.nn.fast`)."""
    from ddpm_np.nn import layers
    return layers(request.param)


def _mnist(split):
    from ddpm_np.data.mnist import DatasetError, load_mnist
    try:
        return load_mnist(split, download=False)
    except DatasetError:
        pytest.skip("MNIST files not available (set DDPM_NP_DATA)")


@pytest.fixture(scope="session")
def mnist_test():
    """The MNIST test split (images, labels); skips the test when the files are not on this
    machine (CI and the project's machines have them in ../shared/data; a clone elsewhere may
    not)."""
    x, y = _mnist("test")
    x.flags.writeable = y.flags.writeable = False     # shared by the tests of a session
    return x, y


@pytest.fixture(scope="session")
def needs_mnist():
    """Skips a test that reads MNIST (to train, or through the command line) when its files are
    not on this machine."""
    _mnist("train")
    _mnist("test")


@pytest.fixture
def fast_tier(monkeypatch):
    """The tier the `ddpm-np` command runs for the convolutional models (cli/tiers.py), for
    tests that call its back-ends from Python."""
    from ddpm_np.nn.tiers import set_program_tier
    monkeypatch.delenv("DDPM_NP_TIER", raising=False)
    set_program_tier("fast")
    yield
    set_program_tier(None)
