"""Quality measures for generated samples."""
from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist


def energy_distance(x, y) -> float:
    """Energy distance √(2E‖X−Y‖ − E‖X−X'‖ − E‖Y−Y'‖) between two samples (n, D), (m, D),
    V-statistic form (pairs with themselves included), as in Székely & Rizzo. It is 0 only for equal
    distributions, but two finite samples of one distribution give a positive value: compare with
    `energy_noise_floor`."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"energy_distance needs (n, D) and (m, D) arrays, got {x.shape}, {y.shape}")
    xy = cdist(x, y).mean()
    xx = cdist(x, x).mean()
    yy = cdist(y, y).mean()
    return float(np.sqrt(max(2 * xy - xx - yy, 0.0)))


def energy_noise_floor(sample_fn, n: int, rng: np.random.Generator, repeats: int = 5):
    """Mean and spread of the energy distance between two independent true samples of size n
    (`sample_fn(n, rng)`): what a perfect model would score. Returns (mean, std)."""
    d = [energy_distance(sample_fn(n, rng), sample_fn(n, rng)) for _ in range(repeats)]
    return float(np.mean(d)), float(np.std(d, ddof=1)) if repeats > 1 else 0.0


def moment_errors(x, mean, cov) -> dict:
    """‖mean(x) − mean‖ and the Frobenius norm ‖cov(x) − cov‖ (relative to ‖cov‖)."""
    x = np.asarray(x, np.float64)
    m_err = float(np.linalg.norm(x.mean(0) - mean))
    c_err = float(np.linalg.norm(np.cov(x.T) - cov) / np.linalg.norm(cov))
    return {"mean_error": m_err, "cov_rel_error": c_err,
            "sample_mean": x.mean(0).tolist(), "sample_cov": np.cov(x.T).tolist()}


def mixture_weights(x, means) -> np.ndarray:
    """Share of points nearest to each mean (a fair assignment for well-separated components)."""
    x, means = np.asarray(x, np.float64), np.asarray(means, np.float64)
    k = np.argmin(((x[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    return np.bincount(k, minlength=len(means)) / len(x)


# -- images ------------------------------------------------------------------------------------

def _sqrt_psd(a):
    w, v = np.linalg.eigh(a)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(feat_a, feat_b) -> float:
    """‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2(Σ_a Σ_b)^½) between Gaussian fits of two feature sets
    (the FID formula of Heusel et al. 2017, here on our classifier's penultimate features).
    Tr((Σ_a Σ_b)^½) is computed as Σ√λ of the symmetric PSD matrix Σ_a^½ Σ_b Σ_a^½ (same
    eigenvalues), which stays exact for singular covariances (fewer samples than features)."""
    a, b = np.asarray(feat_a, np.float64), np.asarray(feat_b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.atleast_2d(np.cov(a.T)), np.atleast_2d(np.cov(b.T))
    sa = _sqrt_psd(ca)
    lam = np.linalg.eigvalsh(sa @ cb @ sa)
    tr_sqrt = float(np.sum(np.sqrt(np.clip(lam, 0, None))))
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(ca) + np.trace(cb) - 2 * tr_sqrt)


CLASSIFIER_WEIGHTS = "mnist_classifier.npz"


def weights_path(name: str):
    """A file of the package's shipped weights (ddpm_np/weights/)."""
    from pathlib import Path
    return Path(__file__).resolve().parent / "weights" / name


def load_classifier(path=None):
    """The shipped MNIST classifier (or one saved at `path`)."""
    from .models.classifier import Classifier
    model = Classifier(rng=np.random.default_rng(0))
    model.load(path or weights_path(CLASSIFIER_WEIGHTS))
    return model


def classifier_metrics(samples, classifier, ref_features, requested=None) -> dict:
    """Fréchet distance to reference features, predicted-class histogram and its KL to uniform,
    mean confidence, and (with `requested` labels) the share classified as requested.

    samples: (N, 1, 28, 28) float32 in [−1, 1]."""
    probs, feats = classifier.predict(np.clip(samples, -1, 1).astype(np.float32))
    pred = probs.argmax(1)
    hist = np.bincount(pred, minlength=probs.shape[1]) / len(pred)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = float(np.sum(np.where(hist > 0, hist * np.log(hist * len(hist)), 0.0)))
    out = {"frechet_distance": frechet_distance(feats, ref_features),
           "class_histogram": hist.tolist(), "kl_to_uniform": kl,
           "mean_confidence": float(probs.max(1).mean())}
    if requested is not None:
        out["share_as_requested"] = float(np.mean(pred == np.asarray(requested)))
    return out
