"""MNIST evaluation: the metrics of `ddpm-np evaluate`.

Metrics (classifier = `ddpm_np/weights/mnist_classifier.npz`): Fréchet distance between the
classifier's penultimate features of the samples and of the 10,000 test images, beside its noise
floor (the same distance for as many real *training* images); the predicted-class histogram and
its KL to uniform; mean confidence; for conditional sampling the share classified as the
requested digit; and test-set bits/dim from the variational bound (discretized decoder).
"""
from __future__ import annotations

import time

import numpy as np

from ..data.mnist import load_mnist, to_model_range
from ..diffusion import bound_parts, guided_eps_model, nll_bits_per_dim
from ..diffusion.learned_variance import guided_with_variance, with_variance
from ..diffusion.guidance import MAX_GUIDANCE
from ..checks import check_float, check_int
from ..metrics import classifier_metrics, frechet_distance, load_classifier
from .mnist_sample import GUIDANCE, NonFiniteSamples, sample_images

MAX_N = 12_000
# The Fréchet distance compares 128-dimensional feature covariances: with fewer samples than
# dimensions they are singular and the distance (and its noise floor) mean nothing; 1,000 give
# figures that move by about ±15% between draws.
MIN_N = 200
SAMPLER_NAMES = {"ddim": "DDIM", "dpm++2m": "DPM-Solver++(2M)", "ddpm": "DDPM-Σθ"}


def reference_features(classifier, n_floor: int, rng, data_dir=None, repeats: int = 5):
    """(test features, Fréchet noise floor for n_floor real training images, its spread).

    The floor is the mean over `repeats` disjoint random training subsets: with 1,000 images in
    128 feature dimensions a single subset's distance varies by ±15%, too much for a ratio."""
    x_test, _ = load_mnist("test", data_dir=data_dir)
    _, test_feats = classifier.predict(to_model_range(x_test))
    xtr, _ = load_mnist("train", data_dir=data_dir)
    idx = rng.choice(len(xtr), n_floor * repeats, replace=False)
    _, train_feats = classifier.predict(to_model_range(xtr[idx]))
    floors = [frechet_distance(f, test_feats) for f in np.split(train_feats, repeats)]
    return test_feats, float(np.mean(floors)), float(np.std(floors))


def evaluate(model, schedule, n=1000, guidance=GUIDANCE, steps=50, seed=0, bpd_images=200,
             bpd_timesteps=50, data_dir=None, progress=True, sampler="ddim", spacing="trailing",
             reference=None, eta=0.0) -> dict:
    """All MNIST metrics for `n` class-conditional samples (n/10 per digit) at `guidance`.

    sampler: "ddim" (`eta` its noise: 1 is the respaced chain with β̃), "dpm++2m", or "ddpm"
    for a learned-variance model (the respaced chain of `steps` with Σ_θ).
    n ≤ 12,000 (the noise floor compares 5 disjoint sets of n training images), bpd_images ≤
    10,000 (the test set); a non-finite sample raises NonFiniteSamples."""
    if check_int(n, "n", high=MAX_N) < MIN_N:
        raise ValueError(f"n = {n} samples are too few for the Fréchet distance of 128 features: "
                         f"give at least {MIN_N} (1,000 for figures that resolve ±15%)")
    check_int(bpd_images, "bpd_images", low=0, high=10_000)
    check_int(steps, f"steps (with T={schedule.T})", high=schedule.T)
    check_float(guidance, "guidance", low=0, high=MAX_GUIDANCE)
    if sampler not in SAMPLER_NAMES:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLER_NAMES)}, got {sampler!r}")
    if sampler == "ddpm" and not getattr(model, "learn_sigma", False):
        raise ValueError("the ddpm sampler on a respaced chain needs a learned variance; this "
                         "model's is fixed (ddim with eta 1 is its respaced chain with β̃)")
    eta = check_float(eta, "eta", low=0, high=1)
    if eta and sampler != "ddim":
        raise ValueError("eta applies to the DDIM sampler only")
    rng = np.random.default_rng(seed)
    # the data first: a missing file should fail in a second, not after minutes of sampling
    clf = load_classifier()
    test_feats, floor, floor_sd = reference or reference_features(clf, n, rng, data_dir)
    t0 = time.perf_counter()
    labels = np.repeat(np.arange(10), -(-n // 10))[:n]
    x = sample_images(model, schedule, n, rng, labels if model.num_classes else None, guidance,
                      sampler, steps, progress=progress, clip=False, spacing=spacing, eta=eta)
    t_sample = time.perf_counter() - t0
    if not np.all(np.isfinite(x)):
        raise NonFiniteSamples(f"{np.sum(~np.isfinite(x).all(axis=(1, 2, 3)))} of {n} samples "
                               "are not finite (NaN or Inf); no metrics")
    x = np.clip(x, -1, 1)
    m = classifier_metrics(x, clf, test_feats, labels if model.num_classes else None)
    m.update(frechet_noise_floor=floor, frechet_noise_floor_sd=floor_sd,
             frechet_ratio=m["frechet_distance"] / floor, n=n,
             guidance=guidance,
             sampler=f"{SAMPLER_NAMES[sampler]}-{steps}" + (f", eta {eta:g}" if eta else ""),
             sample_seconds=t_sample)
    if bpd_images:
        x_test, _ = load_mnist("test", data_dir=data_dir)
        x0 = to_model_range(x_test[rng.choice(len(x_test), bpd_images, replace=False)])
        learned = bool(getattr(model, "learn_sigma", False))   # the bound with Σ_θ
        if learned:
            eps_model = guided_with_variance(model, None) if model.num_classes else \
                with_variance(model)
        else:
            eps_model = guided_eps_model(model, None) if model.num_classes else model
        bpd, se, terms = nll_bits_per_dim(eps_model, x0, schedule, rng, decoder="discretized",
                                          num_timesteps=bpd_timesteps,
                                          sigma="learned" if learned else "beta_tilde")
        m.update(test_bits_per_dim=bpd, test_bits_per_dim_stderr=se,
                 test_bits_per_dim_parts=bound_parts(terms),
                 bits_per_dim_note=f"{bpd_images} test images, {bpd_timesteps} random t per "
                                   "image (unbiased estimate of the sum over t)")
    return m


def evaluate_checkpoint(checkpoint="mnist", out=None, overwrite=False, steps=50, guidance=None,
                        **options) -> dict:
    """`ddpm-np evaluate`: `evaluate` on a checkpoint's EMA model (or "mnist", the shipped one),
    split across the processes under mpiexec; the metrics also written as JSON to `out`. The
    output is checked before the work."""
    import json
    from pathlib import Path

    from ..run.checkpoint import atomic_write
    from ..run.folders import check_file
    from ..parallel import sharded, world
    from .mnist_sample import load_image_model
    if out:
        check_file(out, (".json",), overwrite, "--out")
    model, schedule, meta = load_image_model(checkpoint, steps)
    m = evaluate(sharded(model, world()), schedule, steps=steps,
                 guidance=GUIDANCE if guidance is None else guidance, **options)
    m["checkpoint_step"] = meta.get("step")
    if out:
        atomic_write(Path(out), lambda f: f.write(json.dumps(m, indent=1).encode("utf-8")))
    return m


def summary(m: dict) -> str:
    """The metrics of `evaluate` in one line."""
    line = (f"Fréchet distance {m['frechet_distance']:.2f} = {m['frechet_ratio']:.2f} × the noise "
            f"floor ({m['frechet_noise_floor']:.2f}); mean confidence {m['mean_confidence']:.3f}")
    if m.get("share_as_requested") is not None:
        line += f"; {m['share_as_requested']:.1%} classified as the requested digit"
    if m.get("test_bits_per_dim") is not None:
        line += (f"; bound {m['test_bits_per_dim']:.3f} ± {m['test_bits_per_dim_stderr']:.3f} "
                 "bits/dim")
        parts = m.get("test_bits_per_dim_parts")
        if parts:
            line += " (" + ", ".join(f"{k} {v:.3f}" for k, v in parts.items()) + ")"
    return line
