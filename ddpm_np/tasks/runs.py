"""Training runs: what `ddpm-np train` does, as a function a Python user can call.

`train_run("spiral")` trains the 2-D MLP with the toy defaults; `train_run("mnist")` (or
"fashion-mnist") the class-conditional UNet (`mnist_train.train_mnist`); `train_run(data=PATH)`
a model sized for your own data (`own_train.train_on`); `train_run(resume="runs/x/checkpoint.npz")`
continues a run from that very checkpoint, on the dataset it names. Options left at None take
their defaults on a new run and the run's own values on resume. What may change on resume:
steps (to go further), lr (say, after a divergence), checkpoint_every, and for a
learned-variance run timesteps (importance sampling of t) and vlb_weight (λ of L_hybrid); what
may not (the data, the model, T, the parameterisation, the batch size, the seed) is refused with
a line that says so. A folder holding another run is never replaced without `overwrite`
(run/folders.py, run/state.py). Every check happens before any training.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..checks import check_int, check_memory
from ..data import toy2d
from ..data.own import is_own
from ..data.batching import ArrayDataset
from ..diffusion.hybrid import check_objective
from ..diffusion.schedule import MAX_T
from ..models import MLP
from ..run.checkpoint import read_meta
from ..run.folders import claim_for_new_run, claim_for_resume
from ..run.state import RunError
from ..train import TrainConfig, Trainer
from .toy import N_TRAIN, STEPS, toy_schedule

DATASETS = toy2d.NAMES + ("mnist", "fashion-mnist")
IDX_DATASETS = ("mnist", "fashion-mnist")
TOY_DEFAULTS = dict(seed=0, batch_size=256, lr=2e-3, hidden=128, blocks=3, T=200,
                    parameterization="eps", loss_weighting="none", checkpoint_every=1000)
TOY_ONLY = ("hidden", "blocks", "T")
MNIST_ONLY = ("learn_sigma", "schedule", "preset", "timesteps", "vlb_weight")
CHANGEABLE = ("lr", "checkpoint_every", "timesteps", "vlb_weight")
MIN_TOY_T = 21          # the toy schedule's β_T = 0.02·1000/T must stay below 1

__all__ = ["DATASETS", "default_out", "toy_data", "train_run"]


def _check_objective(options: dict, learn_sigma) -> None:
    """diffusion/hybrid.py's rules, named as flags, before any data is read."""
    try:
        check_objective(bool(learn_sigma), options.get("parameterization", "eps"),
                        options.get("timesteps"), options.get("vlb_weight"), name=_flag)
    except ValueError as e:
        raise RunError(str(e)) from None


def toy_data(name: str, seed: int) -> ArrayDataset:
    """The training set of a toy run: N_TRAIN points, drawn from the seed's first child stream
    (the same points `ddpm-np demo NAME --seed S` trains on)."""
    x = toy2d.sample(name, N_TRAIN, np.random.default_rng(seed).spawn(4)[0])
    return ArrayDataset(x, description={"dataset": name, "n": N_TRAIN, "seed": seed,
                                        "kind": "points", "shape": [2], "classes": None})


def default_out(dataset: str) -> Path:
    return Path("runs") / f"train-{dataset}"


def _flag(name):
    return "--" + name.replace("_", "-")


def train_run(dataset: str | None = None, resume=None, out=None, overwrite: bool = False,
              steps: int | None = None, stop_at: int | None = None, data_dir=None,
              progress: bool = True, log=print, seed=None, batch_size=None, lr=None,
              hidden=None, blocks=None, T=None, parameterization=None, loss_weighting=None,
              checkpoint_every=None, learn_sigma=None, schedule=None,
              preset=None, timesteps=None, vlb_weight=None, data=None, kind=None, key=None,
              image_size=None, channels=None, value_range=None, val_fraction=None,
              z2=None) -> Trainer:
    """Train (or resume) a run and return its Trainer (see the top of this file).

    `data`: a path to the user's own data instead of a dataset name (tasks/own_train.py), read
    as `kind` with `key`, `image_size`, `channels`, `value_range` (data/own.py), a share
    `val_fraction` held out, and for lattice fields `z2` (the odd network); on resume, other
    data on purpose.

    MNIST takes its configuration from `mnist_train.MNIST_TRAIN`; of the options it uses seed,
    batch_size, lr, parameterization, loss_weighting and checkpoint_every, and its own
    `learn_sigma` (the UNet learns the reverse variance, trained with L_hybrid; ε only),
    `schedule` ("linear" or "cosine"), `timesteps` ("importance": t drawn by L_vlb's terms,
    with `learn_sigma`), `vlb_weight` (λ of L_hybrid, with `learn_sigma`) and `preset` (a
    named recipe, mnist_train.PRESETS; the other options given win over it). The 2-D datasets
    use the others (model width `hidden`, `blocks` residual blocks, T diffusion steps).
    """
    options = dict(seed=seed, batch_size=batch_size, lr=lr, hidden=hidden, blocks=blocks, T=T,
                   parameterization=parameterization, loss_weighting=loss_weighting,
                   checkpoint_every=checkpoint_every, learn_sigma=learn_sigma,
                   schedule=schedule, preset=preset, timesteps=timesteps,
                   vlb_weight=vlb_weight)
    given = {k: v for k, v in options.items() if v is not None}
    reading = {k: v for k, v in dict(kind=kind, key=key, image_size=image_size,
                                     channels=channels, value_range=value_range).items()
               if v is not None}
    if steps is not None:
        check_int(steps, "steps")
    if stop_at is not None:
        check_int(stop_at, "stop_at")
    if out is not None and str(out).strip() == "":
        raise RunError('the output folder is empty (--out ""); give a folder name')
    if resume is not None:
        named = [_flag(k) for k in reading] + [f for f, v in (("--val-fraction", val_fraction),
                                                               ("--z2", z2)) if v is not None]
        if named:
            raise RunError(f"{', '.join(named)} cannot change when resuming: a resumed run "
                           "reads its data as it did (give --data PATH for other data)")
        return _resume(resume, dataset, out, overwrite, steps, stop_at, data_dir, progress, log,
                       given, data)
    if data is not None:
        if data_dir is not None:
            raise RunError("--data-dir is where (fashion-)mnist's files are; --data names your "
                           "own data")
        return _train_own(data, dataset, reading, out, overwrite, steps, stop_at, progress,
                          log, given, val_fraction, z2)
    if reading or val_fraction is not None or z2 is not None:
        raise RunError("--kind, --key, --image-size, --channels, --range, --val-fraction and "
                       "--z2 apply to your own data (--data PATH)")
    if dataset is None:
        raise RunError("give your data (--data PATH), a dataset (--dataset NAME) or a "
                       "checkpoint to resume (--resume)")
    if dataset not in DATASETS:
        raise RunError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    out = Path(out) if out is not None else default_out(dataset)
    if dataset in IDX_DATASETS:
        toy_only = [_flag(k) for k in TOY_ONLY if k in given]
        if toy_only:
            raise RunError(f"{', '.join(toy_only)} apply to the 2-D datasets; the MNIST UNet "
                           "has its own configuration (tasks/mnist_train.py)")
        _check_objective(given, given.get("learn_sigma"))
        from .mnist_train import PRESETS, train_mnist
        if "preset" in given:
            if given["preset"] not in PRESETS:
                raise RunError(f"unknown preset {given['preset']!r}; choose one of "
                               f"{', '.join(PRESETS)}")
            recipe = dict(PRESETS[given.pop("preset")])
            planned = recipe.pop("steps")
            steps = steps if steps is not None else planned
            given = dict(recipe, **given)
        return train_mnist(out, steps=steps, data_dir=data_dir, progress=progress,
                           stop_at=stop_at, overwrite=overwrite, log=log, dataset=dataset,
                           **given)
    mnist_only = [_flag(k) for k in MNIST_ONLY if k in given]
    if mnist_only:
        raise RunError(f"{', '.join(mnist_only)} apply to mnist; the 2-D model keeps a fixed "
                       "variance and its own schedule")
    o = dict(TOY_DEFAULTS, **given)
    check_int(o["T"], "T", low=MIN_TOY_T, high=MAX_T)
    # the schedule keeps about ten arrays of T + 1 float64s
    check_memory(80 * (o["T"] + 1), f"a schedule of T = {o['T']} steps (--T)")
    cfg = TrainConfig(steps=steps or STEPS[dataset], batch_size=o["batch_size"], lr=o["lr"],
                      seed=o["seed"], checkpoint_every=o["checkpoint_every"],
                      parameterization=o["parameterization"],
                      loss_weighting=o["loss_weighting"]).validate()
    # forward and backward keep a few dozen activations of the MLP's width per example
    check_memory(cfg.batch_size * o["hidden"] * 4 * 64 * o["blocks"], f"a batch of "
                 f"{cfg.batch_size} (--batch-size)")
    model = MLP(dim=2, hidden=o["hidden"], num_blocks=o["blocks"],
                rng=np.random.default_rng(o["seed"]).spawn(4)[1])
    schedule = toy_schedule(o["T"])
    claim_for_new_run(out, overwrite)
    trainer = Trainer(model, schedule, toy_data(dataset, o["seed"]), cfg, out,
                      meta={"command": "train"})
    trainer.run(progress=progress, stop_at=stop_at)
    return trainer


def _train_own(data, dataset, reading, out, overwrite, steps, stop_at, progress, log, given,
               val_fraction, z2) -> Trainer:
    from ..data.own import load
    from .own_train import VAL_FRACTION, train_on
    if dataset is not None:
        raise RunError(f"give --data PATH or --dataset NAME, not both (--dataset {dataset})")
    if "preset" in given:
        raise RunError("--preset applies to --dataset mnist")
    ds = load(data, **reading)
    if z2 is not None and ds.kind != "lattice":
        raise RunError(f"--z2 applies to lattice fields; {data} holds {ds.kind}")
    if z2:
        given["z2"] = True
    out = Path(out) if out is not None else Path("runs") / f"train-{Path(data).stem or 'data'}"
    log(f"{data}: {ds.kind}, {len(ds.x)} examples of shape {tuple(ds.shape)}"
        + (f", classes {', '.join(ds.classes)}" if ds.classes else "")
        + (f"; each image's {ds.source['crop']} (--image-size)" if ds.source.get("crop")
           else ""))
    return train_on(ds, out, steps=steps, val_fraction=val_fraction or VAL_FRACTION,
                    overwrite=overwrite, progress=progress, stop_at=stop_at, log=log, **given)


def _run_settings(meta) -> dict:
    """What a checkpoint's run was trained with, named like the options of train_run."""
    cfg, model = meta.get("train_config", {}), meta.get("model", {}).get("config", {})
    settings = {k: cfg.get(k) for k in ("seed", "batch_size", "parameterization")}
    settings["loss_weighting"] = cfg.get("loss_weighting", "none")
    if meta.get("model", {}).get("kind") == "unet":
        settings["learn_sigma"] = bool(model.get("learn_sigma", False))
        settings["schedule"] = meta.get("schedule", {}).get("name", "linear")
    if meta.get("model", {}).get("kind") == "mlp":
        settings.update(hidden=model.get("hidden"), blocks=model.get("num_blocks"),
                        T=len(meta.get("schedule", {}).get("betas", [])))
    return settings


def _resume(resume, dataset, out, overwrite, steps, stop_at, data_dir, progress, log, given,
            data=None):
    meta = read_meta(resume)           # the arrays are read where the run is rebuilt
    if meta.get("sampling_only"):
        raise RunError(f"{resume} holds sampling weights only (the EMA weights, without the "
                       "optimizer state or the live weights), so no run can resume from it; "
                       "start a new run instead, e.g. ddpm-np train --dataset mnist")
    if is_own(meta.get("data") or {}):
        return _resume_own(resume, meta, dataset, out, overwrite, steps, stop_at, progress,
                           log, given, data)
    if data is not None:
        raise RunError(f"--data applies to runs on your own data; {resume} is a run on a "
                       "built-in dataset")
    ckpt_dataset = (meta.get("data") or {}).get("dataset")
    if ckpt_dataset is None:
        raise RunError(f"{resume} does not say what data it was trained on (a run made with "
                       "Trainer and data of its own): resume it from Python with "
                       "Trainer.resume(path, data), or train with --data PATH or "
                       "ddpm_np.train_on, whose checkpoints know their data")
    if ckpt_dataset not in DATASETS:
        raise RunError(f"cannot resume: the checkpoint's dataset {ckpt_dataset!r} is none of "
                       f"{', '.join(DATASETS)}")
    if dataset is not None and dataset != ckpt_dataset:
        raise RunError(f"--dataset cannot change when resuming: {resume} is a run on "
                       f"{ckpt_dataset}; start a new run (without --resume) to train on {dataset}")
    if "preset" in given:
        raise RunError("--preset applies to a new run; a resumed run keeps its recipe (give "
                       "--steps to train it longer)")
    settings = _run_settings(meta)
    for name, value in given.items():
        if name in CHANGEABLE:
            continue
        if name not in settings:
            raise RunError(f"{_flag(name)} does not apply to this {ckpt_dataset} run")
        if value != settings[name]:
            raise RunError(f"{_flag(name)} cannot change when resuming: the run has "
                           f"{name} = {settings[name]!r}; start a new run (without --resume) "
                           f"to use {value!r}")
    changes = {k: given[k] for k in CHANGEABLE if k in given}
    _check_objective(changes, settings.get("learn_sigma"))
    if ckpt_dataset in IDX_DATASETS:
        from .mnist_train import train_mnist
        return train_mnist(out, steps=steps, data_dir=data_dir, progress=progress,
                           resume_from=resume, stop_at=stop_at, overwrite=overwrite, log=log,
                           **changes)
    folder = claim_for_resume(resume, out, overwrite)
    d = meta["data"]
    trainer = Trainer.resume(resume, toy_data(ckpt_dataset, d.get("seed", 0)), folder, log=log,
                             steps=steps, stop_at=stop_at, **changes)
    trainer.run(progress=progress, stop_at=stop_at)
    return trainer


def _resume_own(resume, meta, dataset, out, overwrite, steps, stop_at, progress, log, given,
                data) -> Trainer:
    from .own_resume import resume_on
    if dataset is not None:
        raise RunError(f"--dataset does not apply: {resume} is a run on your own data "
                       f"({meta['data'].get('source', {}).get('path')}); --data PATH gives "
                       "it other data on purpose")
    fixed = [k for k in given if k not in CHANGEABLE]
    if fixed:
        raise RunError(f"{', '.join(_flag(k) for k in fixed)} cannot change when resuming; "
                       f"--steps, {', '.join(_flag(k) for k in CHANGEABLE)} may")
    return resume_on(resume, data, out, overwrite, steps, stop_at, progress, log, **given)
