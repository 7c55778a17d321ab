"""`ddpm-np demo NAME`: one entry point for every demo, with the rules of its options.

A 2-D demo (toy.py) trains an MLP (or the linear model) on built-in data, samples, measures and
draws; `mnist` draws from the shipped UNet (or a checkpoint, or one it first trains) and writes
the figures (mnist_sample.py). Each writes into `runs/NAME/` unless told otherwise, and never
over an earlier run's output without `overwrite`.
"""
from __future__ import annotations

import contextlib
import shlex
import signal
from pathlib import Path

from ..data import toy2d
from ..run.folders import check_new_files
from ..run.state import RunError
from ..run.lock import RunLock
from .toy import demo_out

DEMOS = toy2d.NAMES + ("mnist",)
MNIST_OPTIONS = ("train", "guidance", "checkpoint", "sampler", "sample_steps", "data_dir")


@contextlib.contextmanager
def _starts_over(name, out):
    """An interrupted demo says how to run it again: a demo does not resume (its figures and
    metrics come at the end), so the way on is the demo again with --overwrite."""
    from ..train import TrainingInterrupted
    try:
        yield
    except TrainingInterrupted as e:
        signame = signal.Signals(e.signum).name
        again = f"ddpm-np demo {name} --out {shlex.quote(str(out))} --overwrite"
        raise TrainingInterrupted(f"demo {name} interrupted ({signame}); a demo does not "
                                  f"resume: run `{again}` to start it again", e.signum) from None


def run_demo(name: str, out=None, *, quick: bool = False, seed: int = 0, steps=None,
             model=None, train: bool = False, guidance=None, checkpoint=None, sampler=None,
             sample_steps=None, data_dir=None, progress: bool = True, overwrite: bool = False,
             log=print) -> dict:
    """Run demo `name` into `out` (default `demo_out`); returns its metrics or description.

    2-D demos take `quick`, `seed`, `steps` (training steps) and `model` ("mlp" or "linear");
    `mnist` takes `train` (retrain first, `steps` training steps), `checkpoint` (draw from it
    instead of the shipped model), `guidance`, `sampler` and `sample_steps`, `data_dir`.
    An option of the other kind is refused (RunError) before any work, and so is an `out`
    that holds an earlier run's output, unless `overwrite`."""
    if name not in DEMOS:
        raise RunError(f"unknown demo {name!r}; choose one of {', '.join(DEMOS)}")
    if out is not None and str(out).strip() == "":
        raise RunError('the output folder is empty (--out ""); give a folder name')
    given = dict(train=train, guidance=guidance, checkpoint=checkpoint, sampler=sampler,
                 sample_steps=sample_steps, data_dir=data_dir)
    out = Path(out) if out else demo_out(name, model)
    if name != "mnist":
        mnist_only = ["--" + k.replace("_", "-") for k in MNIST_OPTIONS if given[k]]
        if mnist_only:
            raise RunError(f"{', '.join(mnist_only)} apply to demo mnist only")
        from .toy import DEMO_FILES, run_toy_demo
        check_new_files(out, DEMO_FILES, overwrite)
        RunLock(out).check_free()
        with _starts_over(name, out):
            return run_toy_demo(name, out, quick=quick, seed=seed, steps=steps,
                                progress=progress, model=model or "mlp", log=log)
    if model:
        raise RunError("--model applies to the 2-D demos; demo mnist runs the UNet")
    if checkpoint and train:
        raise RunError("--train draws from the model it trains; leave out --checkpoint")
    from .mnist_sample import DEMO_FILES, GUIDANCE, load_image_model, run_mnist_demo
    from .mnist_train import RUN_FILES
    check_new_files(out, DEMO_FILES + (RUN_FILES if train else ()), overwrite)
    RunLock(out).check_free()
    if train:
        from .runs import train_run
        with _starts_over(name, out):
            checkpoint = train_run("mnist", out=out, overwrite=overwrite, steps=steps, seed=seed,
                                   data_dir=data_dir, progress=progress,
                                   log=log).checkpoint_path()
    else:
        checkpoint = checkpoint or "mnist"
        load_image_model(checkpoint, sample_steps)                  # checked before any work
    return run_mnist_demo(out, checkpoint, guidance=GUIDANCE if guidance is None else guidance,
                          steps=sample_steps, seed=seed, data_dir=data_dir, progress=progress,
                          sampler=sampler, log=log)
