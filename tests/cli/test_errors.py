"""Every bad input a user can give, one row each: the exit status, a fragment of the one line
that must say what is wrong, no traceback, and nothing written or created."""
import os
import shlex

import numpy as np
import pytest

from ddpm_np.cli import main

# (argv with {toy} {img} {broken} {tmp} placeholders, exit status, fragment of the message)
CASES = [
    # values argparse can refuse
    ("sample --checkpoint {toy} --n 0", 2, "--n: expected a positive integer, got '0'"),
    ("sample --checkpoint {toy} --n 5 --seed -1", 2, "--seed: expected an integer ≥ 0"),
    ("sample --checkpoint {toy} --n 5 --sampler ddim --eta -1", 2, "--eta: expected a finite"),
    ("sample --checkpoint {toy} --n 5 --sampler ddim --eta nan", 2, "got 'nan'"),
    ("sample --checkpoint {toy} --n 5 --sampler ddim --eta 1.5", 2, "≥ 0 and ≤ 1, got '1.5'"),
    ("sample --checkpoint {img} --n 2 --guidance inf", 2, "--guidance: expected a finite"),
    ("sample --checkpoint {img} --n 2 --guidance -1", 2, "--guidance: expected a finite"),
    ("train --dataset moons --lr 0", 2, "--lr: expected a finite number > 0"),
    ("train --dataset moons --lr nan", 2, "--lr: expected a finite number > 0"),
    ("train --dataset moons --T 5", 2, "--T: expected an integer ≥ 21"),
    ("train --dataset moons --seed -3", 2, "--seed: expected an integer ≥ 0"),
    ("train --dataset moons --loss-weighting snr", 2, "invalid choice: 'snr'"),
    ("train --dataset moons --T 1000000000000 --out {tmp}/r", 2,
     "T must be an integer in 21..100000, got 1000000000000"),
    ("interpolate --frames 100000000 --grid {tmp}/g.png", 2,
     "frames must be an integer in 2..200, got 100000000"),
    ("inpaint --test-index 0 --mask bottom --n 100000 --grid {tmp}/g.png", 2,
     "n (completions) must be an integer in 1..200, got 100000"),
    ("inpaint --test-index 0 --mask nowhere --grid {tmp}/g.png", 2, "nowhere"),
    ("sample --n 3", 2, "nothing to write: give --out FILE.npy"),
    ("inpaint --test-index 0 --mask bottom", 2, "nothing to write: give --grid PICTURE.png"),
    ("sample --checkpoint {tmp}/loop.npz --n 2 --out {tmp}/s.npy", 2,
     "is a symbolic link that leads nowhere"),
    ("sample --checkpoint {toy} --n 2 --out {tmp}/loop.npz", 2,
     "--out {tmp}/loop.npz is a symbolic link that leads nowhere"),
    ("train --dataset moons --out ''", 2, 'the output folder is empty (--out "")'),
    ("demo spiral --quick --out ''", 2, 'the output folder is empty (--out "")'),
    ("phi4 --L 1 --out {tmp}/p", 2, "L must be an integer ≥ 2 (the lattice is L×L), got 1"),
    ("phi4 --L 12 --route flow --out {tmp}/p", 2,
     "L=12 is too large for the exact Jacobian (route flow)"),
    ("phi4 --L 66 --lam 4 --out {tmp}/p", 2, "L must be at most 64, got 66"),
    ("phi4 --route jacobian --out {tmp}/p", 2, "invalid choice: 'jacobian'"),
    ("phi4 --path-steps 1001 --route path --out {tmp}/p", 2,
     "path_steps must be an integer in 1..1000, got 1001"),
    ("phi4 --L 5 --lam 6 --out {tmp}/p", 2, "L must be even"),
    ("phi4 --L 14 --lam 5 --route flow --out {tmp}/p", 2, "too large for the exact Jacobian"),
    ("phi4 --L 18 --out {tmp}/p", 2, "no benchmark λ for L=18"),
    ("phi4 --L 6 --m2 -3 --out {tmp}/p", 2, "no benchmark λ for L=6, m2=-3.0"),
    ("phi4 --lam -1 --out {tmp}/p", 2, "lam (λ) must be ≥ 0, got -1.0"),
    ("phi4 --lam nan --out {tmp}/p", 2, "lam (λ) must be finite, got nan"),
    ("phi4 --m2 inf --lam 1 --out {tmp}/p", 2, "m2 must be finite, got inf"),
    ("phi4 --lam 0 --m2 -1 --out {tmp}/p", 2, "with λ = 0 the field is free and needs m2 > 0"),
    ("phi4 --steps 0 --out {tmp}/p", 2, "--steps: expected a positive integer"),
    ("phi4 --order 3 --out {tmp}/p", 2, "invalid choice: 3"),
    ("phi4 --quick --stage sample --out {tmp}/p", 2, "stage sample needs stage hmc first"),
    ("train --resume {shipped}", 2, "holds sampling weights only"),
    ("demo spiral --seed -1", 2, "--seed: expected an integer ≥ 0"),
    ("demo spiral --steps 0", 2, "--steps: expected a positive integer"),
    ("demo ring", 2, "invalid choice: 'ring'"),
    ("evaluate --bpd-images -5", 2, "--bpd-images: expected an integer ≥ 0"),
    ("bench unet --batch 0", 2, "--batch: expected a positive integer"),
    ("frobnicate", 2, "invalid choice: 'frobnicate'"),
    # values only the library can judge, judged before any work
    ("sample --checkpoint {img} --n 2 --digit 12 --sampler ddim --steps 2 --out {tmp}/s.npy", 2,
     "digit must lie in 0..9, got 12"),
    ("sample --checkpoint {toy} --n 2 --digit 1 --out {tmp}/s.npy", 2,
     "need a class-conditional model"),
    ("sample --checkpoint {toy} --n 2 --sampler ddpm --steps 5 --out {tmp}/s.npy", 2,
     "steps apply to the DDIM and DPM-Solver samplers"),
    ("sample --checkpoint {toy} --n 2 --sampler ddim --steps 51 --out {tmp}/s.npy", 2,
     "exceed the model's T = 50"),
    ("sample --checkpoint {toy} --n 2 --out {tmp}/pictures/", 2,
     "samples of points go to .npy or .csv/.tsv"),
    ("sample --checkpoint {toy} --n 1000000000000 --out {tmp}/s.npy", 2, "not enough memory"),
    ("sample --checkpoint {toy} --n 100000000 --out {tmp}/s.npy", 2,
     "sampling 100000000 samples of shape (2,) (the checkpoint's) needs about"),
    ("sample --checkpoint {img} --n 100000000 --out {tmp}/s.npy", 2,
     "sampling 100000000 samples of shape (1, 28, 28) (the checkpoint's) needs about 584"),
    ("train --dataset mnist --batch-size 100000 --out {tmp}/r", 2,
     "a batch of 100000 images needs about"),
    ("train --dataset moons --batch-size 1000000000000 --out {tmp}/r", 2, "not enough memory"),
    ("train --dataset mnist --hidden 64 --out {tmp}/r", 2, "--hidden apply to the 2-D datasets"),
    ("train --dataset moons --learn-sigma --out {tmp}/r", 2, "--learn-sigma apply to mnist"),
    ("train --dataset mnist --learn-sigma --parameterization v --out {tmp}/r", 2,
     "--learn-sigma trains the ε-network (--parameterization eps), not --parameterization v"),
    ("train --dataset spiral --schedule cosine --out {tmp}/r", 2, "--schedule apply to mnist"),
    ("train --dataset mnist --schedule quadratic --out {tmp}/r", 2,
     "invalid choice: 'quadratic'"),
    ("train --resume {toy} --learn-sigma", 2, "--learn-sigma does not apply to this moons run"),
    ("train --dataset mnist --timesteps importance --out {tmp}/r", 2,
     "--timesteps importance samples the terms of L_vlb"),
    ("train --dataset moons --timesteps importance --out {tmp}/r", 2,
     "--timesteps apply to mnist"),
    ("train --resume {toy} --timesteps importance", 2,
     "--timesteps importance samples the terms of L_vlb"),
    ("train --dataset mnist --vlb-weight 0.01 --out {tmp}/r", 2,
     "--vlb-weight 0.01 weighs L_vlb, which only a model that learns the variance"),
    ("train --dataset moons --vlb-weight 0.01 --out {tmp}/r", 2, "--vlb-weight apply to mnist"),
    ("train --resume {toy} --vlb-weight 0.01", 2, "--vlb-weight 0.01 weighs L_vlb"),
    ("train --dataset mnist --learn-sigma --vlb-weight 0 --out {tmp}/r", 2,
     "expected a finite number > 0, got '0'"),
    ("train --dataset mnist --learn-sigma --timesteps loss --out {tmp}/r", 2,
     "invalid choice: 'loss'"),
    ("train --dataset moons --preset short --out {tmp}/r", 2, "--preset apply to mnist"),
    ("train --resume {toy} --preset short", 2, "--preset applies to a new run"),
    ("train --dataset mnist --preset long --out {tmp}/r", 2, "invalid choice: 'long'"),
    ("train", 2, "give your data (--data PATH), a dataset (--dataset NAME)"),
    ("demo mnist --sample-steps 2000 --out {tmp}/d", 2, "2000 DDIM steps exceed the model's T"),
    ("demo mnist --checkpoint {toy} --out {tmp}/d", 2, "holds a mlp model for moons data"),
    ("demo mnist --checkpoint {tmp}/none.npz --out {tmp}/d", 2, "does not exist"),
    ("demo spiral --train --out {tmp}/d", 2, "--train apply to demo mnist only"),
    ("demo mnist --model linear --out {tmp}/d", 2, "--model applies to the 2-D demos"),
    ("exercises {tmp}/none --status", 2, "holds no exercises (test_exercises.py is missing)"),
    ("exercises {broken}/notes.json", 2, "is a file"),
    ("exercises {tmp}/ws --status --overwrite", 2, "--status reads a workspace; --overwrite"),
    ("demo spiral --model cubic", 2, "invalid choice: 'cubic'"),
    ("evaluate --checkpoint {toy} --n 200", 2, "not an MNIST UNet"),
    ("evaluate --bpd-images 100000 --n 200 --steps 2", 2,
     "bpd_images must be an integer in 0..10000"),
    ("evaluate --n 2 --steps 2", 2, "n = 2 samples are too few for the Fréchet distance"),
    ("evaluate --sampler ddpm --n 200 --steps 2", 2,
     "the ddpm sampler on a respaced chain needs a learned variance; this model's is fixed"),
    ("evaluate --sampler dpm++2m --eta 1 --n 200 --steps 2", 2,
     "eta applies to the DDIM sampler only"),
    ("evaluate --eta 1.5", 2, "--eta: expected"),
    ("evaluate --n 20000 --steps 2", 2, "n must be an integer in 1..12000"),
    ("inpaint --checkpoint {img} --test-index 3 --mask middle --grid {tmp}/f.png", 2,
     "mask must be one of bottom, top, left, right, center"),
    ("inpaint --checkpoint {img} --image {tmp}/none.png --mask bottom --grid {tmp}/f.png", 2,
     "image {tmp}/none.png does not exist"),
    ("inpaint --checkpoint {toy} --test-index 3 --mask bottom --grid {tmp}/f.png", 2,
     "not an MNIST UNet"),
    ("inpaint --checkpoint {img} --test-index 3 --mask bottom --digit 11 --grid {tmp}/f.png", 2,
     "--digit must lie in 0..9, got 11"),
    ("inpaint --checkpoint {img} --test-index 3 --mask bottom --guidance 2 --grid {tmp}/f.png",
     2, "--guidance applies with --digit"),
    ("inpaint --checkpoint {img} --mask bottom --grid {tmp}/f.png", 2,
     "one of the arguments --image --test-index is required"),
    ("inpaint --checkpoint {img} --test-index 3 --mask bottom --grid {tmp}/f.txt", 2,
     "the name must end in .png"),
    ("interpolate --checkpoint {img} --frames 1 --grid {tmp}/r.png", 2,
     "--frames: expected an integer ≥ 2"),
    ("interpolate --checkpoint {img} --steps 2000 --grid {tmp}/r.png", 2,
     "2000 DDIM steps exceed the model's T = 1000"),
    # files that are not what they should be
    ("sample --checkpoint {tmp}/none.npz --n 3 --out {tmp}/s.npy", 2, "does not exist"),
    ("sample --checkpoint {broken}/garbage.npz --n 3 --out {tmp}/s.npy", 2, "corrupt"),
    ("sample --checkpoint {broken}/other.npz --n 3 --out {tmp}/s.npy", 2,
     "not a ddpm_np checkpoint"),
    ("sample --checkpoint {broken}/nan.npz --n 3 --out {tmp}/s.npy", 2,
     "field ema/out.W holds NaN or Inf"),
    ("sample --checkpoint {broken}/noschedule.npz --n 3 --out {tmp}/s.npy", 2,
     "not a diffusion model's checkpoint"),
    ("train --resume {broken}/badmeta.npz --steps 40 --out {tmp}/r", 2,
     "field step must be a whole number ≥ 0, got 'twenty'"),
    ("train --resume {broken}/badconfig.npz --steps 40 --out {tmp}/r", 2,
     "steps must be a positive integer, got -5"),
    ("train --resume {broken}/other.npz", 2, "not a ddpm_np checkpoint"),
    ("train --resume {broken}", 2, "is a folder; give the checkpoint file"),
    ("sample --checkpoint {broken} --n 2 --out {tmp}/s.npy", 2, "is a folder; give the"),
    ("train --dataset mnist --data-dir {tmp}/nowhere --out {tmp}/r", 2,
     "--data-dir: {tmp}/nowhere is not a folder"),
    ("evaluate --data-dir {tmp}/nowhere", 2, "is not a folder"),
    # outputs checked before the work
    ("sample --checkpoint {toy} --n 3 --out {tmp}/s.txt", 2,
     "s.txt: samples of points go to .npy or .csv/.tsv"),
    ("sample --checkpoint {img} --n 3 --out {tmp}/s.txt", 2,
     "s.txt: samples of images go to .npy or a folder/"),
    ("sample --checkpoint {img} --n 2 --grid {tmp}/g.xyz --out {tmp}/s.npy", 2,
     "--grid {tmp}/g.xyz: the name must end in .png"),
    ("sample --checkpoint {toy} --n 3 --out {tmp}", 2, "samples of points go to .npy or"),
    ("sample --checkpoint {toy} --n 3 --out {broken}/notes.json/s.npy", 2, "is a file"),
    ("evaluate --n 200 --steps 2 --out {broken}/notes.json", 2,
     "notes.json exists; add --overwrite"),
    ("demo spiral --quick --out {broken}/notes.json/sub", 2, "is a file"),
    ("train-classifier --out {tmp}/c.npy", 2, "the name must end in .npz"),
    # the environment
]


def _fill(text, toy_run, tiny_checkpoint, broken, tmp_path):
    from ddpm_np.tasks.mnist_sample import resolve_checkpoint
    return shlex.split(text.format(toy=toy_run, img=tiny_checkpoint, broken=broken, tmp=tmp_path,
                                   shipped=resolve_checkpoint("mnist")))


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("argv,status,fragment", CASES, ids=[c[0][:60] for c in CASES])
def test_bad_input_is_one_line(argv, status, fragment, toy_run, tiny_checkpoint, broken,
                               tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loop.npz").symlink_to(tmp_path / "loop.npz")
    before = _files(tmp_path), _files(broken)
    try:
        code = main(_fill(argv, toy_run, tiny_checkpoint, broken, tmp_path) + ["--no-progress"]
                    if not argv.startswith(("bench", "frobnicate", "demo ring", "exercises")) else
                    _fill(argv, toy_run, tiny_checkpoint, broken, tmp_path))
    except SystemExit as e:                      # argparse
        code = e.code
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, lines
    assert code == status, lines
    assert fragment.format(tmp=tmp_path) in lines[0]
    assert (_files(tmp_path), _files(broken)) == before        # nothing written or created


@pytest.mark.parametrize("argv,status,fragment", [
    ("sample --checkpoint {broken}/huge.npz --n 4 --out {tmp}/s.npy", 1,
     "samples are not finite (NaN or Inf)"),
    ("sample --checkpoint {tmp}/huge_unet.npz --n 2 --sampler ddim --steps 3 "
     "--out {tmp}/s.npy", 1, "2 of 2 samples are not finite"),
])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")     # the overflow that makes them
def test_results_that_are_not_finite_are_not_written(argv, status, fragment, toy_run,
                                                     tiny_checkpoint, broken, tmp_path, capsys):
    from ddpm_np.run.checkpoint import load_checkpoint, save_checkpoint
    arrays, meta = load_checkpoint(tiny_checkpoint)         # an image model that overflows
    W = arrays["ema/conv_out.W"]
    arrays["ema/conv_out.W"] = np.where(np.arange(W.size).reshape(W.shape) % 2, 3e38,
                                        -3e38).astype(W.dtype)      # ±∞ in a sum: NaN
    save_checkpoint(tmp_path / "huge_unet.npz", arrays, meta)
    code = main(_fill(argv, toy_run, tiny_checkpoint, broken, tmp_path) + ["--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == status and len(err) == 1 and fragment in err[0], err
    assert not (tmp_path / "s.npy").exists()


def test_debug_shows_the_traceback(tmp_path, toy_run, capsys):
    argv = ["sample", "--checkpoint", str(tmp_path / "none.npz"), "--n", "2", "--out",
            str(tmp_path / "s.npy")]
    from ddpm_np.run.checkpoint import CheckpointError
    for args in (["--debug"] + argv, argv + ["--debug"]):
        with pytest.raises(CheckpointError):                      # the library's own error
            main(args)
    os.environ["DDPM_NP_DEBUG"] = "1"
    try:
        with pytest.raises(CheckpointError):
            main(argv)
    finally:
        del os.environ["DDPM_NP_DEBUG"]


def test_an_internal_error_is_one_line_with_the_way_to_the_traceback(tmp_path, capsys,
                                                                     monkeypatch):
    from ddpm_np.tasks import toy
    monkeypatch.setattr(toy, "run_toy_demo", lambda *a, **k: {}["boom"])
    assert main(["demo", "spiral", "--quick", "--out", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "internal error: KeyError" in err[0] and "--debug" in err[0]


def test_a_full_disk_names_the_file_and_leaves_nothing(tmp_path, tiny_checkpoint, capsys,
                                                        monkeypatch):
    """The error raised deep inside a writer (here matplotlib's PDF backend) names no file: the
    message names the grid, and no partial file is left to block a rerun."""
    import errno

    from matplotlib.figure import Figure

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(Figure, "savefig", full)
    grid = tmp_path / "g.pdf"
    code = main(["sample", "--checkpoint", str(tiny_checkpoint), "--n", "2", "--sampler", "ddim",
                 "--steps", "2", "--grid", str(grid), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and f"{grid}: No space left on device" in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_one_line(tmp_path, toy_run, capsys, monkeypatch):
    import errno

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "s.npy"))
    monkeypatch.setattr(np, "save", full)
    code = main(["sample", "--checkpoint", str(toy_run), "--n", "2", "--out",
                 str(tmp_path / "s.npy"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "No space left on device" in err[0], err
    assert list(tmp_path.iterdir()) == []                   # no half-written file, no temporary
