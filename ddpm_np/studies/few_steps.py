"""Quality against the number of model evaluations: DDIM and DPM-Solver++(2M) on the shipped
MNIST model, with the project's own measures (Fréchet ratio, share read as the requested digit).

    python3 -c "from ddpm_np.studies.few_steps import few_step_table; few_step_table()"

Every row draws the same labels and the same x_T (same seed); the reference features and the
noise floor are computed once. About 25 minutes on 2 cores for the default table.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..run.checkpoint import atomic_write
from ..metrics import load_classifier
from ..tasks.mnist_eval import SAMPLER_NAMES, evaluate, reference_features
from ..tasks.mnist_sample import GUIDANCE, load_image_model

STEPS = (5, 10, 15, 20, 50)
SAMPLERS = ("ddim", "dpm++2m")


def few_step_table(checkpoint="mnist", n=1000, guidance=GUIDANCE, steps=STEPS,
                   samplers=SAMPLERS, seed=0, data_dir=None, out="runs/few_steps.json",
                   progress=True, log=print, spacing="trailing") -> list[dict]:
    """Rows {sampler, steps, frechet_ratio, share_as_requested, …}, printed as a Markdown table
    and written (as they come) to `out`."""
    model, schedule, _ = load_image_model(checkpoint)
    reference = reference_features(load_classifier(), n, np.random.default_rng(seed + 1),
                                   data_dir)
    rows = []
    log("| sampler | model evaluations | Fréchet distance | ratio | as requested | seconds |")
    log("|---|---|---|---|---|---|")
    for sampler in samplers:
        for k in steps:
            m = evaluate(model, schedule, n=n, guidance=guidance, steps=k, seed=seed,
                         bpd_images=0, data_dir=data_dir, progress=progress, sampler=sampler,
                         reference=reference, spacing=spacing)
            row = dict(sampler=sampler, steps=k, spacing=spacing, **{key: m[key] for key in (
                "frechet_distance", "frechet_noise_floor", "frechet_ratio",
                "share_as_requested", "mean_confidence", "sample_seconds")})
            rows.append(row)
            log(f"| {SAMPLER_NAMES[sampler]} | {k} | {row['frechet_distance']:.1f} | "
                f"{row['frechet_ratio']:.2f} | {row['share_as_requested']:.1%} | "
                f"{row['sample_seconds']:.0f} |")
            if out:
                text = json.dumps(rows, indent=1)
                atomic_write(Path(out), lambda f: f.write(text.encode("utf-8")))
    return rows
