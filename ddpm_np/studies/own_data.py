"""Your own data, measured: each target of docs/results.md ("Your own data") as the files a user
would bring, trained with the default `ddpm-np train --data` run and judged by a stated test.

    python -m ddpm_np.studies.own_data ring|mixture|shapes|lattice [--out runs/own]

- ring: 5,000 noisy points on a circle (radius 3, noise 0.3, centred at (10, −5)) in a CSV;
  the energy distance of 2,000 samples to 2,000 fresh points against its noise floor.
- mixture: 20,000 points of a 3-component Gaussian mixture in 8 dimensions (.npy); samples
  assigned to components by the true posterior; each component's mean and covariance against
  the truth in standard errors of the samples' own estimates, and the weights.
- shapes: a folder of 28×28 PNGs in three class folders (discs, squares, crosses of random size
  and place); class-conditional samples judged by the fill of their bounding box (the same
  test read on the training images first, to show it works).
- lattice: `ddpm-np phi4`'s own HMC training set saved to .npy, trained with `--kind lattice
  --z2`, and raw samples' observables against the study's own model's raw proposals.
Each target writes its data, its run and a JSON of its figures under `out`.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from ..run.checkpoint import atomic_write

WEIGHTS = np.array([0.5, 0.3, 0.2])
FILL = (0.68, 0.9)       # bounding-box fill: cross < 0.68 ≤ disc < 0.9 ≤ square
SHAPES = ("cross", "disc", "square")


def _train(data, out, *flags):
    """`ddpm-np train --data DATA --out OUT [flags]`, the default command (its tier, its
    defaults); (metrics.json, seconds)."""
    from ..cli import main
    t0 = time.perf_counter()
    if main(["train", "--data", str(data), "--out", str(out), "--overwrite", "--no-progress",
             *flags]) != 0:
        raise SystemExit(f"training on {data} failed")
    seconds = time.perf_counter() - t0
    return json.loads((Path(out) / "metrics.json").read_text()), seconds


def _sample(out, n, *flags):
    """`ddpm-np sample --checkpoint OUT/checkpoint.npz --n N --out OUT/samples.npy [flags]`:
    the samples in the data's units."""
    from ..cli import main
    path = Path(out) / "samples.npy"
    if main(["sample", "--checkpoint", str(Path(out) / "checkpoint.npz"), "--n", str(n),
             "--out", str(path), "--overwrite", "--no-progress", *flags]) != 0:
        raise SystemExit(f"sampling {out} failed")
    return np.load(path)


def ring_points(n, rng):
    th = rng.uniform(0, 2 * np.pi, n)
    r = 3 + 0.3 * rng.standard_normal(n)
    return np.c_[10 + r * np.cos(th), -5 + r * np.sin(th)]


def ring(out: Path, log=print) -> dict:
    """The ring target (see the top of this file)."""
    from ..metrics import energy_distance
    rng = np.random.default_rng(0)
    np.savetxt(out / "ring.csv", ring_points(5000, rng), delimiter=",", header="x,y",
               comments="")
    metrics, seconds = _train(out / "ring.csv", out / "ring")
    x = _sample(out / "ring", 2000)
    fresh = [ring_points(2000, np.random.default_rng(k)) for k in (1, 2, 3, 4)]
    ed = energy_distance(x, fresh[0])
    floor = float(np.mean([energy_distance(fresh[k], fresh[k + 1]) for k in (0, 2)]))
    return {"energy_distance": ed, "noise_floor": floor, "ratio": ed / floor,
            "train_seconds": seconds, "sampler": "DDIM, 200 steps", "held_out": metrics}


def mixture_params(D=8):
    rng = np.random.default_rng(8)
    means = rng.normal(0, 4, (3, D))
    covs = []
    for _ in range(3):
        a = rng.normal(0, 1, (D, D)) / np.sqrt(D)
        covs.append(a @ a.T + 0.2 * np.eye(D))
    return means, np.array(covs)


def mixture_points(n, rng):
    means, covs = mixture_params()
    k = rng.choice(3, size=n, p=WEIGHTS)
    z = rng.standard_normal((n, means.shape[1]))
    chol = np.linalg.cholesky(covs)
    return means[k] + np.einsum("nij,nj->ni", chol[k], z), k


def responsibilities(x):
    from scipy.stats import multivariate_normal
    means, covs = mixture_params()
    logp = np.stack([np.log(w) + multivariate_normal(m, c).logpdf(x)
                     for w, m, c in zip(WEIGHTS, means, covs)], 1)
    return np.argmax(logp, 1)


def mixture(out: Path, log=print) -> dict:
    x, _ = mixture_points(20000, np.random.default_rng(0))
    np.save(out / "mixture.npy", x)
    metrics, seconds = _train(out / "mixture.npy", out / "mixture")
    result = {"train_seconds": seconds, "held_out": metrics, "samplers": {}}
    for name, flags in (("DDIM, 200 steps (the default)", ()),
                        ("DDPM, 200 steps (σ² = β̃)", ("--sampler", "ddpm")),
                        ("DPM-Solver++(2M), 15 steps", ("--sampler", "dpm++2m"))):
        result["samplers"][name] = components(_sample(out / "mixture", 4000, *flags))
    return result


def components(s) -> dict:
    """Each component's weight, and the largest deviation of its mean and of its covariance's
    entries from the truth in standard errors of the samples' own estimates
    (Var ŝ_ij = (σ_ii σ_jj + σ_ij²)/n for Gaussian data); the variances' mean ratio."""
    means, covs = mixture_params()
    k = responsibilities(s)
    rows = []
    for j in range(3):
        sj = s[k == j]
        n = len(sj)
        m, c = sj.mean(0), np.cov(sj.T)
        d = np.diag(covs[j])
        se_c = np.sqrt((np.outer(d, d) + covs[j] ** 2) / n)
        rows.append({"weight": n / len(s), "true_weight": float(WEIGHTS[j]), "n": n,
                     "mean_max_se": float(np.max(np.abs(m - means[j]) / np.sqrt(d / n))),
                     "cov_max_se": float(np.max(np.abs(c - covs[j]) / se_c)),
                     "variance_ratio": float(np.mean(np.diag(c) / d))})
    return {"components": rows,
            "weights_max_error": float(max(abs(r["weight"] - r["true_weight"]) for r in rows))}


def shape_image(kind, rng, S=28):
    yy, xx = np.mgrid[0:S, 0:S]
    r = rng.uniform(5, 9)
    cx, cy = rng.uniform(r + 1, S - r - 1, 2)
    if kind == "disc":
        m = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    elif kind == "square":
        m = (np.abs(xx - cx) <= 0.8 * r) & (np.abs(yy - cy) <= 0.8 * r)
    else:
        w = max(1.5, r / 3)
        m = ((np.abs(xx - cx) <= w) & (np.abs(yy - cy) <= r)) | \
            ((np.abs(yy - cy) <= w) & (np.abs(xx - cx) <= r))
    return (m * 255).astype(np.uint8)


def shape_of(img) -> str:
    """The stated shape test: pixels above half brightness, the share of their bounding box they
    fill: a cross fills about 0.56, a disc π/4 ≈ 0.79, a square 1 (thresholds FILL)."""
    on = np.asarray(img) > 127
    if on.sum() < 4:
        return "none"
    rows, cols = np.flatnonzero(on.any(1)), np.flatnonzero(on.any(0))
    box = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)
    fill = on.sum() / box
    return "cross" if fill < FILL[0] else "disc" if fill < FILL[1] else "square"


def shapes(out: Path, log=print, per_class=1000) -> dict:
    from PIL import Image
    rng = np.random.default_rng(0)
    truth = []
    for kind in SHAPES:
        (out / "shapes" / kind).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            a = shape_image(kind, rng)
            truth.append(shape_of(a) == kind)
            Image.fromarray(a).save(out / "shapes" / kind / f"{i:04d}.png")
    metrics, seconds = _train(out / "shapes", out / "shapes-run")
    result = {"test_on_training_images": float(np.mean(truth)), "train_seconds": seconds,
              "held_out": metrics, "per_class": {}, "sampler": "DPM-Solver++(2M), 15 steps, "
              "guidance 0.5"}
    for k, kind in enumerate(SHAPES):
        x = _sample(out / "shapes-run", 100, "--class", kind, "--seed", str(k + 1))
        result["per_class"][kind] = float(np.mean([shape_of(im) == kind for im in x]))
    result["share_as_requested"] = float(np.mean(list(result["per_class"].values())))
    return result


def lattice(out: Path, log=print, L=6) -> dict:
    """Needs `ddpm-np phi4 --L 6 --out OUT/phi4-L6` first (its HMC training set and its
    model's raw proposals)."""
    from ..inputs import read_npz
    from ..tasks.own_report import observables
    study = out / f"phi4-L{L}"
    if not (study / "proposals.npz").exists():
        raise SystemExit(f"run `ddpm-np phi4 --L {L} --out {study}` first")
    train = read_npz(study / "hmc.npz", only=("train",))["train"]
    np.save(out / f"phi4-L{L}-train.npy", train)
    metrics, seconds = _train(out / f"phi4-L{L}-train.npy", out / "lattice",
                              "--kind", "lattice", "--z2")
    x = _sample(out / "lattice", 1024, "--sampler", "dpm++2m", "--sample-steps", "12")
    own = read_npz(study / "proposals.npz", only=("phi",))["phi"]
    return {"train_seconds": seconds, "sampler": "DPM-Solver++(2M), 12 steps",
            "through --data": observables(x), "ddpm-np phi4 (raw)": observables(own),
            "held_out": metrics}


TARGETS = {"ring": ring, "mixture": mixture, "shapes": shapes, "lattice": lattice}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    name = argv[0] if argv else ""
    if name not in TARGETS:
        raise SystemExit(f"usage: python -m ddpm_np.studies.own_data {'|'.join(TARGETS)} "
                         "[--out FOLDER]")
    out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else Path("runs/own")
    out.mkdir(parents=True, exist_ok=True)
    result = TARGETS[name](out)
    text = json.dumps(result, indent=1, default=float)
    atomic_write(out / f"{name}.json", lambda f: f.write(text.encode()))
    print(text)


if __name__ == "__main__":
    main()
