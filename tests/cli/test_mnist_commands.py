"""MNIST through the command line, on a tiny UNet (the real one trains for hours)."""
import json

import numpy as np
import pytest

from ddpm_np.cli import main

needs_mnist = pytest.mark.usefixtures("needs_mnist")


def test_sample_digit_with_guidance_and_grid(tiny_checkpoint, tmp_path, capsys):
    out, grid = tmp_path / "x.npy", tmp_path / "g.png"
    assert main(["sample", "--checkpoint", str(tiny_checkpoint), "--n", "3", "--digit", "7",
                 "--guidance", "2", "--sampler", "ddim", "--steps", "4", "--out", str(out),
                 "--grid", str(grid), "--no-progress"]) == 0
    x = np.load(out)
    assert x.shape == (3, 1, 28, 28) and x.dtype == np.float32
    assert np.abs(x).max() <= 1 and grid.exists()
    assert main(["sample", "--checkpoint", str(tiny_checkpoint), "--n", "2", "--digit", "12",
                 "--sampler", "ddim", "--steps", "2", "--out", str(tmp_path / "d.npy")]) == 2
    assert "0..9" in capsys.readouterr().err


@needs_mnist
def test_demo_and_evaluate_on_a_checkpoint(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "mnist", "--checkpoint", str(tiny_checkpoint), "--sample-steps", "3",
                 "--out", str(out), "--no-progress"]) == 0
    # steps the user chose are not called "the fewest that meet the quality bar"
    assert "quality bar" not in capsys.readouterr().out
    assert json.loads((out / "demo.json").read_text())["sampler"] == "DPM-Solver++(2M)-3"
    assert {"samples_grid.png", "reverse_strip.png", "forward_strip.png", "reverse.gif",
            "demo.json"} <= {p.name for p in out.iterdir()}
    mfile = tmp_path / "m.json"
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--n", "200", "--steps", "2",
                 "--bpd-images", "4", "--out", str(mfile), "--no-progress"]) == 0
    m = json.loads(mfile.read_text())
    for key in ("frechet_distance", "frechet_noise_floor", "kl_to_uniform", "mean_confidence",
                "share_as_requested", "test_bits_per_dim"):
        assert np.isfinite(m[key]), key
    assert len(m["class_histogram"]) == 10
    assert sum(m["test_bits_per_dim_parts"].values()) == pytest.approx(m["test_bits_per_dim"])


def test_missing_mnist_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DDPM_NP_OFFLINE", "1")
    assert main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path),
                 "--steps", "1", "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is missing from" in err
    assert "the --data-dir you gave" in err and "DDPM_NP_DATA" not in err   # the hint that fits


def test_demo_without_mnist_files_skips_only_the_forward_strip(tiny_checkpoint, tmp_path, capsys,
                                                               monkeypatch):
    monkeypatch.setenv("DDPM_NP_OFFLINE", "1")
    out = tmp_path / "demo"
    assert main(["demo", "mnist", "--checkpoint", str(tiny_checkpoint), "--sample-steps", "2",
                 "--data-dir", str(tmp_path), "--out", str(out), "--no-progress"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"samples_grid.png", "reverse_strip.png", "reverse.gif"} <= names
    assert "forward_strip.png" not in names
    assert "no forward-process strip" in capsys.readouterr().out


def test_inpaint_and_interpolate_write_their_figures(tiny_checkpoint, tmp_path, capsys):
    import matplotlib.pyplot as plt
    digit = np.zeros((28, 28))
    digit[5:23, 12:16] = 1
    plt.imsave(tmp_path / "one.png", digit, cmap="gray")
    grid, out = tmp_path / "fill.png", tmp_path / "fill.npy"
    assert main(["inpaint", "--checkpoint", str(tiny_checkpoint), "--image",
                 str(tmp_path / "one.png"), "--mask", "bottom", "--n", "3", "--steps", "4",
                 "--jump-length", "2", "--resample", "2", "--grid", str(grid), "--out",
                 str(out), "--no-progress"]) == 0
    done = np.load(out)
    assert grid.exists() and done.shape == (3, 1, 28, 28)
    np.testing.assert_array_equal(done[:, 0, :14], np.broadcast_to(digit[:14] * 2 - 1, (3, 14, 28)))
    row = tmp_path / "row.png"
    assert main(["interpolate", "--checkpoint", str(tiny_checkpoint), "--frames", "4",
                 "--steps", "3", "--grid", str(row), "--no-progress"]) == 0
    assert row.exists() and "wrote 4 frames" in capsys.readouterr().out


@needs_mnist
def test_evaluate_a_respaced_chain_with_sigma_theta_and_ddim_with_noise(tiny_checkpoint, tmp_path,
                                                                      capsys):
    """--sampler ddpm measures a learned-variance model's respaced chain with Σ_θ; --eta 1 the
    DDIM chain with β̃ (a fixed-variance model's respaced ancestral sampler)."""
    from ddpm_np.diffusion import NoiseSchedule
    from ddpm_np.tasks.mnist_eval import evaluate
    from ddpm_np.models import UNet
    model = UNet(base_channels=8, channel_mults=(1, 2), attention_resolutions=(), num_classes=10,
                 emb_dim=8, groups=2, learn_sigma=True, rng=np.random.default_rng(0)).eval()
    m = evaluate(model, NoiseSchedule.linear(1000), n=200, steps=3, bpd_images=0,
                 sampler="ddpm", progress=False)
    assert m["sampler"] == "DDPM-Σθ-3" and np.isfinite(m["frechet_distance"])
    mfile = tmp_path / "m.json"
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--n", "200", "--steps", "2",
                 "--eta", "1", "--bpd-images", "0", "--out", str(mfile), "--no-progress"]) == 0
    assert json.loads(mfile.read_text())["sampler"] == "DDIM-2, eta 1"
