"""A run on your own data, found again: its data read back from where the checkpoint says it came
from (or the run folder's cache of an image folder), checked against the content hash it
recorded; other data only when asked for, in the units the run began with."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.own import UserData, load, normalise
from ..data.reading import DataError, content_hash
from ..run.checkpoint import read_meta
from ..run.folders import claim_for_resume
from ..run.state import RunError
from ..train import Trainer
from .own_train import CACHE, finish, training_split

__all__ = ["data_of_run", "evaluate_run", "resume_on"]


def data_of_run(meta: dict, folder, data=None, log=print) -> UserData:
    """The data of the run whose checkpoint metadata is `meta` (in `folder`): from the path it
    recorded, unchanged (its SHA-256), or from `data`, a path given on purpose (then said)."""
    desc = meta.get("data") or {}
    src = desc.get("source") or {}
    options = dict(src.get("options") or {})
    if "value_range" in options:
        options["value_range"] = tuple(options["value_range"])
    if data is None:
        path = src.get("path")
        if not path or not Path(path).exists():
            raise RunError(f"the run's data {path} is no longer there; give --data PATH (the "
                           "same data moved, or other data on purpose)")
        digest = content_hash(path)
        if digest != src.get("sha256"):
            raise RunError(f"the data at {path} changed since the run began (SHA-256 "
                           f"{digest[:12]}…, the run's {str(src.get('sha256'))[:12]}…); to "
                           f"go on with it on purpose, say --data {path}")
        found = _from_cache(Path(folder) / CACHE, desc, digest)
        if found is not None:
            log(f"the images of {path}, from the run's cache {Path(folder) / CACHE}")
        else:
            found = load(path, desc["kind"], sha256=digest, **options)
    else:
        found = load(data, desc["kind"], **options)
        if found.source["sha256"] != src.get("sha256"):
            log(f"note: going on with {data}, not the data the run began on ({src.get('path')}),"
                " as asked (--data)")
    if found.shape != desc.get("shape"):
        raise RunError(f"{data or src.get('path')} holds examples of shape {found.shape}; the "
                       f"run's model takes {desc.get('shape')}")
    if found.classes != desc.get("classes"):
        raise RunError(f"{data or src.get('path')} has the classes {found.classes}; the run's "
                       f"model was made for {desc.get('classes')}")
    found.x = normalise(desc, found.denormalise(found.x))      # the run's own units
    found.scaling = desc["scaling"]
    return found


def _from_cache(path: Path, desc: dict, digest: str):
    if not path.exists():
        return None
    from ..inputs import read_npz
    try:
        a = read_npz(path, "image cache", allowed=("x", "y", "sha256"), error=DataError)
    except DataError:
        return None
    if str(a["sha256"]) != digest:
        return None
    x = a["x"].astype(np.float32) / 127.5 - 1
    return UserData("images", x, a.get("y"), desc.get("classes"), dict(desc["scaling"]),
                    dict(desc["source"]))


def split_as_run(found: UserData, meta: dict):
    """The run's own split of its data: the same share held out, by the same seed."""
    desc = meta["data"]
    return training_split(found, desc.get("val_fraction", 0.05),
                          meta.get("train_config", {}).get("seed", 0), bool(desc.get("mirrored")))


def resume_on(checkpoint, data=None, out=None, overwrite=False, steps=None, stop_at=None,
              progress=True, log=print, **changes) -> Trainer:
    """Continue the own-data run of `checkpoint` (see the top of this file); `changes`: what a
    resume may change (run/state.py)."""
    meta = read_meta(checkpoint)
    folder = claim_for_resume(checkpoint, out, overwrite)
    found = data_of_run(meta, Path(checkpoint).parent, data, log)
    train, val = split_as_run(found, meta)
    trainer = Trainer.resume(checkpoint, train, folder, log=log, steps=steps, stop_at=stop_at,
                             **changes)
    return finish(trainer, found, val, progress, stop_at, log)


def evaluate_run(checkpoint, data=None, log=print, seed: int = 0) -> dict:
    """`ddpm-np evaluate` of a run on your own data: the metrics of metrics.json, recomputed
    from the checkpoint and its data (own_resume.data_of_run; `data`: other data on purpose)."""
    from .own_report import measure
    meta = read_meta(checkpoint)
    found = data_of_run(meta, Path(checkpoint).parent, data, log)
    train, val = split_as_run(found, meta)
    return measure(checkpoint, found, train.x, val, seed)[0]
