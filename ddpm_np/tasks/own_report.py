"""What a run on your own data gives back: metrics.json and a figure, from the checkpoint's EMA
weights and the held-out share of the data.

For every kind: the held-out loss (L_simple, ‖ε − ε_θ‖² per dimension, on up to 1,000 held-out
examples, one t and ε each) and the bound −log p in bits/dim on up to 200 held-out examples
(a Gaussian decoder in model units for points and fields, the discretized one of 256 levels
for images; 20 of the KL terms drawn per example, unbiased, the standard error over examples).
Then by kind:
- points: the energy distance of samples to the held-out points (data units; as many of each),
  against its noise floor, the distance of as many training points to them;
- images: memorisation, the share of samples whose nearest training image is nearer than the
  nearest training image of all but 5% of the held-out images (≈ 0.05 when nothing is copied);
- lattice: ⟨|M|⟩/V, χ₂, E (Ising) and the Binder cumulant of samples and of held-out fields,
  each with its error (jackknife over independent samples; held-out fields as given).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from scipy.spatial.distance import cdist

from ..diffusion import as_eps_model, q_sample
from ..diffusion.learned_variance import eps_only
from ..diffusion.vlb import nll_bits_per_dim
from ..metrics import energy_distance
from ..run.loading import load_for_sampling
from .sampling import sample_checkpoint

N_LOSS, N_BOUND, N_SAMPLES, BOUND_TERMS = 1000, 200, 2000, 20
N_IMAGES = 200          # samples for the image metrics and figure
FILE = "metrics.json"


def held_out_loss(model, schedule, meta, x, y, rng) -> float:
    """L_simple on held-out examples: ‖ε − ε_θ(x_t, t)‖² per dimension, one (t, ε) each."""
    net = as_eps_model(eps_only(model), schedule, _parameterization(meta))
    x, y = x[:N_LOSS], None if y is None else y[:N_LOSS]
    total, count = 0.0, 0
    for i in range(0, len(x), 100):
        x0 = x[i:i + 100]
        t = rng.integers(1, schedule.T + 1, size=len(x0))
        eps = rng.standard_normal(x0.shape).astype(x0.dtype)
        xt = q_sample(x0, t, eps, schedule).astype(x0.dtype)
        out = net(xt, t) if y is None or model.num_classes is None else net(xt, t, y[i:i + 100])
        total += float(((out - eps) ** 2).sum())
        count += eps.size
    return total / count


def _parameterization(meta):
    return meta.get("train_config", {}).get("parameterization", "eps")


def held_out_bound(model, schedule, meta, kind, x, y, rng) -> dict:
    x = x[:N_BOUND]
    labels = None if y is None else y[:N_BOUND]
    net = as_eps_model(eps_only(model), schedule, _parameterization(meta))
    if getattr(model, "num_classes", None) is not None and labels is not None:
        inner = net
        net = lambda xt, t: inner(xt, t, labels)         # noqa: E731 (one batch, in order)
    bpd, se, _ = nll_bits_per_dim(net, x, schedule, rng, num_timesteps=BOUND_TERMS,
                                  decoder="discretized" if kind == "images" else "gaussian")
    out = {"bound_bits_per_dim": bpd, "bound_stderr": se, "bound_examples": len(x)}
    if kind == "points":      # in the data's units: −log p shifts by Σ log σ_j per point
        std = np.asarray(meta["data"]["scaling"]["std"])
        out["bound_bits_per_dim_data_units"] = bpd + float(np.mean(np.log2(std)))
    return out


def points_metrics(x_data, train_data, val_data) -> dict:
    """Energy distance to the held-out points of as many samples, and of as many training
    points (its noise floor: what a model that reproduced the data exactly would score)."""
    n = min(len(x_data), len(train_data), len(val_data))
    return {"energy_distance": energy_distance(x_data[:n], val_data[:n]),
            "energy_noise_floor": energy_distance(train_data[:n], val_data[:n]),
            "energy_points": n}


def memorisation(samples, train, val, rng, max_train: int = 20000) -> dict:
    """Nearest-training-image distances of samples against those of held-out images."""
    idx = rng.permutation(len(train))[:max_train]
    ref = train[idx].reshape(len(idx), -1).astype(np.float32)
    d_val = cdist(val[:500].reshape(min(500, len(val)), -1), ref).min(axis=1)
    d_s = cdist(samples.reshape(len(samples), -1), ref).min(axis=1)
    threshold = float(np.quantile(d_val, 0.05))
    return {"memorised_share": float(np.mean(d_s < threshold)), "memorised_expected": 0.05,
            "nearest_train_distance_samples": float(np.median(d_s)),
            "nearest_train_distance_held_out": float(np.median(d_val))}


def observables(phi) -> dict:
    """{name: [value, error]} of ⟨M⟩/V, ⟨|M|⟩/V, χ₂, E (Ising) and the Binder cumulant of
    independent fields (N, L, L) (jackknife; physics/observables.py)."""
    from ..physics.errors import jackknife
    from ..physics.observables import OBSERVABLES, per_config
    P = per_config(phi)
    w = np.ones(len(P))
    row = {}
    for key in ("m", "abs_m", "chi2", "e_ising", "binder"):
        f = OBSERVABLES[key]
        v, e = jackknife(lambda w, p, f=f: f((w @ p) / w.sum()), w, P)
        row[key] = [float(v), float(e)]
    return row


def lattice_metrics(samples_phi, val_phi) -> dict:
    return {"observables": {"samples": observables(samples_phi),
                            "held_out": observables(val_phi)}}


def measure(checkpoint, data, train_x, val, seed: int = 0):
    """(metrics, samples, sampling info, meta) of a run (see the top of this file): `data` the
    run's UserData (its units), `train_x` the examples trained on, `val` the held-out (x, y)."""
    t0 = time.perf_counter()
    model, schedule, meta = load_for_sampling(checkpoint)
    kind = data.kind
    rng = np.random.default_rng([seed, 36, 2])
    x_val, y_val = val
    metrics = {"kind": kind, "step": meta.get("step"), "held_out": len(x_val),
               "held_out_loss": held_out_loss(model, schedule, meta, x_val, y_val, rng)}
    metrics.update(held_out_bound(model, schedule, meta, kind, x_val, y_val, rng))
    n = N_SAMPLES if kind == "points" else N_IMAGES
    samples, info = sample_checkpoint(checkpoint, n, seed=seed, progress=False)
    if kind == "points":
        floor = train_x[rng.permutation(len(train_x))[:len(x_val)]]
        metrics.update(points_metrics(data.denormalise(samples), data.denormalise(floor),
                                      data.denormalise(x_val)))
    elif kind == "images":
        metrics.update(memorisation(samples, train_x, x_val, rng))
    else:
        metrics.update(lattice_metrics(data.denormalise(samples), data.denormalise(x_val)))
    metrics["sampler"] = info["sampler_name"]
    metrics["seconds"] = time.perf_counter() - t0
    return metrics, samples, info, meta


def write_report(checkpoint, data, train_x, val, log=print, seed: int = 0) -> dict:
    """metrics.json and samples.png beside `checkpoint` (`measure`)."""
    from ..run.checkpoint import atomic_write
    from .sample_files import draw_picture
    from ..parallel import on_root
    metrics, samples, info, meta = measure(checkpoint, data, train_x, val, seed)
    folder = Path(checkpoint).parent
    text = json.dumps(metrics, indent=1)
    on_root(atomic_write)(folder / FILE, lambda f: f.write(text.encode()))
    figure = folder / "samples.png"
    points = data.kind == "points"
    # images: ten a class (the samples' labels go round the classes), else 80; all fields
    shown = len(samples) if data.kind != "images" else 10 * len(data.classes) if data.classes \
        else 80
    labels = None if info["labels"] is None else info["labels"][:shown]
    on_root(draw_picture)(samples[:shown], meta, data.kind, figure,
                          f"{min(shown, len(samples))} samples ({info['sampler_name']}) at step "
                          f"{meta.get('step')}" + (", over the held-out data" if points else ""),
                          labels,
                          data=None if data.kind == "images" else data.denormalise(val[0]))
    log(summary(metrics) + f"; wrote {folder / FILE} and {figure}")
    return metrics


def summary(m: dict) -> str:
    parts = [f"held-out loss {m['held_out_loss']:.4f}",
             f"bound {m['bound_bits_per_dim']:.3f} ± {m['bound_stderr']:.3f} bits/dim"]
    if "energy_distance" in m:
        parts.append(f"energy distance {m['energy_distance']:.4f} (noise floor "
                     f"{m['energy_noise_floor']:.4f})")
    if "memorised_share" in m:
        parts.append(f"memorised {m['memorised_share']:.1%} (≈ 5% when nothing is copied)")
    if "observables" in m:
        s, h = m["observables"]["samples"], m["observables"]["held_out"]
        parts.append(f"⟨|M|⟩/V {s['abs_m'][0]:.4f} ± {s['abs_m'][1]:.4f} (held out "
                     f"{h['abs_m'][0]:.4f} ± {h['abs_m'][1]:.4f})")
    return "; ".join(parts)
