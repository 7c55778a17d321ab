"""Which tier a command runs: the fast one where speed is the point, the reference one (what a
learner reads) everywhere else. $DDPM_NP_TIER overrides it (nn/tiers.py).

The fast tier pays for the convolutional models, the UNet, the classifier and the lattice
network (docs/performance.md), and not for the 2-D MLP, whose layers are too small for threads
(the demos measured on both tiers: docs/performance.md). So:

| command                                  | tier                                      |
|------------------------------------------|-------------------------------------------|
| bench, phi4, train-classifier            | fast                                      |
| demo mnist; train --dataset (fashion-)mnist | fast                                   |
| train --data: images, lattice fields     | fast                                      |
| demo of 2-D data; train of 2-D data;     | reference                                 |
| train --data: points                     |                                           |
| sample, evaluate, inpaint, interpolate,  | the checkpoint's model: fast for the UNet, |
| train --resume                           | classifier and lattice network            |
| exercises                                | reference                                 |
"""
from __future__ import annotations

FAST_MODELS = ("unet", "classifier", "lattice")
FAST_COMMANDS = ("bench", "phi4", "train-classifier")


HELP = {"bench": "the fast tier", "phi4": "the fast tier", "train-classifier": "the fast tier",
        "demo": "the fast tier for mnist, the reference tier for the 2-D demos",
        "train": "the fast tier for (fashion-)mnist and for --data of images or lattice "
                 "fields, the reference tier for points and the 2-D datasets (on resume: by "
                 "the checkpoint's model)",
        "exercises": "the reference tier"}
BY_CHECKPOINT = ("the fast tier for a UNet, classifier or lattice checkpoint, else the "
                 "reference tier")


def help_line(command: str) -> str:
    """What `ddpm-np COMMAND --help` says of the tier it runs."""
    return (f"Runs {HELP.get(command, BY_CHECKPOINT)} (nn/tiers.py; DDPM_NP_TIER="
            "reference|fast overrides).")


def model_tier(kind) -> str:
    return "fast" if kind in FAST_MODELS else "reference"


def checkpoint_tier(path) -> str:
    """The tier for the model a checkpoint holds ('mnist': the shipped UNet); a file that cannot
    be read is left to the command, which says why in one line."""
    from ..run.checkpoint import CheckpointError, read_meta
    if str(path) == "mnist":
        return "fast"
    try:
        meta = read_meta(path)
    except (CheckpointError, OSError, ValueError):
        return "reference"
    model = meta.get("model")
    return model_tier(model.get("kind") if isinstance(model, dict) else None)


def command_tier(args) -> str:
    """The tier the parsed command `args` runs (see the table above)."""
    command = args.command
    if command in FAST_COMMANDS:
        return "fast"
    if command == "demo":
        return "fast" if args.name == "mnist" else "reference"
    if command == "train" and getattr(args, "dataset", None):
        return "fast" if args.dataset in ("mnist", "fashion-mnist") else "reference"
    if command == "train" and getattr(args, "data", None) and not getattr(args, "resume", None):
        return data_tier(args.data, getattr(args, "kind", None))
    path = getattr(args, "resume", None) or getattr(args, "checkpoint", None)
    return checkpoint_tier(path) if path is not None else "reference"


def data_tier(path, kind=None) -> str:
    """Fast for images and lattice fields (a folder, or an array of 3 or more axes), else
    reference; read from the path and an array's header alone (the command checks the rest)."""
    from pathlib import Path

    import numpy as np
    if kind is not None:
        return "reference" if kind == "points" else "fast"
    p = Path(path)
    if p.is_dir():
        return "fast"
    if p.suffix.lower() == ".npy" and p.is_file():
        try:
            return "fast" if np.load(p, mmap_mode="r", allow_pickle=False).ndim >= 3 \
                else "reference"
        except (OSError, ValueError):
            return "reference"
    return "reference"
