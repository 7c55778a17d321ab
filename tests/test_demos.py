"""The scripts in demos/: each reads top to bottom in at most 120 lines and runs the same thing
as its `ddpm-np demo` command."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .processes import WAIT

DEMOS = Path(__file__).parents[1] / "demos"


def run_script(name, *args, cwd):
    done = subprocess.run([sys.executable, str(DEMOS / name), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("script", sorted(p.name for p in DEMOS.glob("*.py")))
def test_a_demo_script_is_short(script):
    assert len((DEMOS / script).read_text().splitlines()) <= 120


@pytest.mark.parametrize("name", ["spiral", "two-gaussians"])
def test_the_2d_script_draws_the_samples_of_the_demo_command(tmp_path, name):
    """Its explicit loop (Algorithm 1) and the Trainer take the same steps on the same random
    streams: the samples agree to the last bit."""
    from ddpm_np.tasks.demos import run_demo
    run_script("toy2d.py", name, "--quick", "--out", str(tmp_path / "script"), cwd=tmp_path)
    run_demo(name, tmp_path / "cli", quick=True, progress=False, log=lambda *a: None)
    np.testing.assert_array_equal(np.load(tmp_path / "script" / "samples.npy"),
                                  np.load(tmp_path / "cli" / "samples.npy"))
    assert (tmp_path / "script" / "samples.png").stat().st_size > 10_000


def test_the_mnist_script_draws_digits_the_classifier_reads(tmp_path):
    text = run_script("mnist.py", "--out", str(tmp_path), cwd=tmp_path)
    share = float(text.split("% read as the requested digit")[0].split()[-1])
    assert share >= 95, text
    assert (tmp_path / "samples_grid.png").exists()
