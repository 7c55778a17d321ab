"""`ddpm-np ...` / `python -m ddpm_np ...`: a thin argparse layer over the library.

User errors (bad arguments, missing or foreign checkpoints, unwritable paths) print one line
`ddpm-np: error: ...` and exit with status 2; Ctrl-C during training saves a checkpoint first.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

TOY = ("gaussian", "two-gaussians", "spiral", "double-well", "moons")   # data.toy2d.NAMES
IMAGE = ("mnist",)


class CLIError(Exception):
    """A user error: printed as one line, exit status 2, no traceback."""


def positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def _writable_dir(path: Path):
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CLIError(f"cannot create output folder {path}: {e.strerror}") from None
    if not os.access(path, os.W_OK):
        raise CLIError(f"output folder {path} is not writable")


def _writable_file(path: Path):
    _writable_dir(path.parent if str(path.parent) else Path("."))
    if path.is_dir():
        raise CLIError(f"output path {path} is a folder; give a file name such as samples.npy")


def _check_environment():
    """The environment variables the library reads, checked before any work."""
    from .nn import default_tier
    from .nn.fast import num_threads
    try:
        default_tier()
        num_threads()
    except ValueError as e:
        raise CLIError(str(e)) from None


# -- commands --------------------------------------------------------------------------------

def _cmd_bench(args):
    from .experiments.bench import bench_conv, bench_unet
    if args.what == "conv":
        bench_conv(batch=args.batch, repeats=args.repeats)
    else:
        bench_unet(batch=args.batch, repeats=args.repeats)


def _cmd_demo(args):
    out = Path(args.out) if args.out else Path("runs") / args.name
    _writable_dir(out)
    if args.name == "mnist":
        from .data.mnist import DatasetError
        from .experiments.mnist_sample import GUIDANCE, run_mnist_demo
        from .experiments.mnist_train import train_mnist
        checkpoint = args.checkpoint or "mnist"
        try:
            if args.train:
                trainer = train_mnist(out, steps=args.steps, seed=args.seed,
                                      data_dir=args.data_dir, progress=not args.no_progress)
                checkpoint = trainer.checkpoint_path()
            guidance = GUIDANCE if args.guidance is None else args.guidance
            run_mnist_demo(out, checkpoint, guidance=guidance, steps=args.sample_steps,
                           seed=args.seed, data_dir=args.data_dir, progress=not args.no_progress)
        except DatasetError as e:
            raise CLIError(str(e)) from None
        return
    from .experiments.toy import run_toy_demo
    run_toy_demo(args.name, out, quick=args.quick, seed=args.seed, steps=args.steps,
                 progress=not args.no_progress)


def _cmd_train(args):
    from .checkpoint import CheckpointError
    from .data.mnist import DatasetError
    from .experiments.runs import RunError, default_out, train_run
    if args.resume is None and args.dataset is not None:
        _writable_dir(Path(args.out) if args.out else default_out(args.dataset))
    try:
        trainer = train_run(args.dataset, resume=args.resume, out=args.out, steps=args.steps,
                            seed=args.seed, data_dir=args.data_dir,
                            progress=not args.no_progress, stop_at=args.stop_at,
                            batch_size=args.batch_size, lr=args.lr, hidden=args.hidden,
                            blocks=args.blocks, T=args.T, parameterization=args.parameterization,
                            checkpoint_every=args.checkpoint_every)
    except (CheckpointError, DatasetError, RunError) as e:
        raise CLIError(str(e)) from None
    print(f"trained to step {trainer.step}; checkpoint: {trainer.checkpoint_path()}")


def _cmd_sample(args):
    import numpy as np
    from .checkpoint import CheckpointError
    from .experiments.sampling import SamplingError, sample_checkpoint
    out = Path(args.out)
    _writable_file(out)
    try:
        x, info = sample_checkpoint(args.checkpoint, args.n, args.sampler, args.steps, args.eta,
                                    args.seed, args.digit, args.guidance,
                                    progress=not args.no_progress)
    except (CheckpointError, SamplingError) as e:
        raise CLIError(str(e)) from None
    np.save(out, x)
    if args.grid and info["image"]:
        from .experiments.plotting import image_grid
        image_grid(x, args.grid, nrow=10, title=f"{args.sampler}, guidance {info['guidance']}")
    print(f"wrote {args.n} samples ({args.sampler}) to {out}"
          + (f" and a grid to {args.grid}" if args.grid and info["image"] else ""))


def _cmd_evaluate(args):
    import json
    from .checkpoint import CheckpointError
    from .data.mnist import DatasetError
    from .experiments.mnist_eval import evaluate
    from .experiments.mnist_sample import GUIDANCE, resolve_checkpoint
    from .train import load_for_sampling
    try:
        model, schedule, meta = load_for_sampling(resolve_checkpoint(args.checkpoint))
        guidance = GUIDANCE if args.guidance is None else args.guidance
        m = evaluate(model, schedule, n=args.n, guidance=guidance, steps=args.steps,
                     seed=args.seed, bpd_images=args.bpd_images, data_dir=args.data_dir,
                     progress=not args.no_progress)
    except (CheckpointError, DatasetError) as e:
        raise CLIError(str(e)) from None
    m["checkpoint_step"] = meta.get("step")
    text = json.dumps(m, indent=1)
    if args.out:
        _writable_file(Path(args.out))
        Path(args.out).write_text(text)
    print(text)
    line = (f"Fréchet distance {m['frechet_distance']:.2f} = {m['frechet_ratio']:.2f} × the noise "
            f"floor ({m['frechet_noise_floor']:.2f}); mean confidence {m['mean_confidence']:.3f}")
    if m.get("share_as_requested") is not None:
        line += f"; {m['share_as_requested']:.1%} classified as the requested digit"
    print(line, file=sys.stderr)


def _cmd_train_classifier(args):
    import numpy as np
    from .data.mnist import DatasetError, load_mnist, to_model_range
    from .experiments.classifier import train_classifier
    from .experiments.metrics import CLASSIFIER_WEIGHTS, weights_path
    try:
        x, y = load_mnist("train", data_dir=args.data_dir)
        xt, yt = load_mnist("test", data_dir=args.data_dir)
    except DatasetError as e:
        raise CLIError(str(e)) from None
    out = Path(args.out) if args.out else weights_path(CLASSIFIER_WEIGHTS)
    _writable_file(out)
    model = train_classifier(to_model_range(x), y.astype(np.int64), seed=args.seed,
                             epochs=args.epochs, progress=not args.no_progress)
    probs, _ = model.predict(to_model_range(xt))
    acc = float(np.mean(probs.argmax(1) == yt))
    model.save(out)
    print(f"test accuracy {acc:.4f}; weights written to {out}")


# -- parser ----------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ddpm-np",
        description="Denoising diffusion probabilistic models in NumPy, hand-written backprop.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("demo", help="train (or load), sample, measure and draw a demo: 2-D data or mnist")
    p.add_argument("name", choices=TOY + IMAGE, help="which distribution or dataset")
    p.add_argument("--quick", action="store_true", help="a tiny run that takes seconds")
    p.add_argument("--out", help="output folder (default runs/NAME)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--steps", type=positive_int, help="training steps (default per demo)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--train", action="store_true",
                   help="mnist: retrain from scratch instead of using the shipped model")
    p.add_argument("--guidance", type=float, default=None,
                   help="mnist: guidance weight (default 0.5)")
    p.add_argument("--sample-steps", type=positive_int, default=50, help="mnist: DDIM steps")
    p.add_argument("--data-dir", help="mnist: folder with the IDX files")
    p.add_argument("--checkpoint", help="mnist: draw from this checkpoint instead of the "
                                        "shipped model")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("train", help="train a model on a 2-D dataset or mnist (or resume a run)")
    p.add_argument("--dataset", choices=TOY + IMAGE)
    p.add_argument("--data-dir", help="mnist: folder with the IDX files "
                                      "(default $DDPM_NP_DATA/mnist, else a cache folder)")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue a run from its checkpoint")
    p.add_argument("--out", help="output folder (default runs/train-DATASET)")
    p.add_argument("--steps", type=positive_int, help="total training steps")
    p.add_argument("--batch-size", type=positive_int, default=256)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--hidden", type=positive_int, default=128)
    p.add_argument("--blocks", type=positive_int, default=3)
    p.add_argument("--T", type=positive_int, default=200, help="diffusion steps (default 200)")
    p.add_argument("--parameterization", choices=("eps", "x0", "v"), default="eps")
    p.add_argument("--checkpoint-every", type=positive_int, default=1000)
    p.add_argument("--stop-at", type=positive_int, metavar="STEP",
                   help="stop (resumably) at this step of the planned --steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("sample", help="draw samples from a trained checkpoint")
    p.add_argument("--checkpoint", required=True,
                   help="path to checkpoint.npz, or 'mnist' for the shipped model")
    p.add_argument("--n", type=positive_int, required=True, help="number of samples")
    p.add_argument("--sampler", choices=("ddpm", "ddim"), default="ddpm")
    p.add_argument("--steps", type=positive_int, help="DDIM steps (default 50)")
    p.add_argument("--eta", type=float, default=0.0, help="DDIM η (0 = deterministic)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="samples.npy", help="output .npy (default samples.npy)")
    p.add_argument("--digit", type=int, help="class to draw (conditional models)")
    p.add_argument("--guidance", type=float, default=None,
                   help="classifier-free guidance weight w (0 = plain conditional; default 0.5 "
                        "for class-conditional models)")
    p.add_argument("--grid", help="also save the images as a PNG grid here")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("evaluate", help="MNIST metrics of a checkpoint's samples")
    p.add_argument("--checkpoint", default="mnist", help="path, or 'mnist' (shipped model)")
    p.add_argument("--n", type=positive_int, default=1000)
    p.add_argument("--bpd-images", type=int, default=200,
                   help="test images for bits/dim (0 = skip)")
    p.add_argument("--guidance", type=float, default=None,
                   help="classifier-free guidance weight w (default 0.5)")
    p.add_argument("--steps", type=positive_int, default=50, help="DDIM steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="write the metrics JSON here too")
    p.add_argument("--data-dir")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("train-classifier",
                       help="train the MNIST classifier used by the sample metrics")
    p.add_argument("--epochs", type=positive_int, default=3)
    p.add_argument("--out", help="weights file (default: the package's shipped weights)")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default $DDPM_NP_DATA/mnist)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_train_classifier)

    p = sub.add_parser("bench", help="print speed figures (convolution or UNet vs this machine's GEMM)")
    p.add_argument("what", nargs="?", default="conv", choices=["conv", "unet"],
                   help="what to benchmark (default: conv)")
    p.add_argument("--batch", type=positive_int, default=64, help="batch size (default 64)")
    p.add_argument("--repeats", type=positive_int, default=5, help="timed repeats, best kept")
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv=None) -> int:
    from .train import TrainingDiverged, TrainingInterrupted
    from .nn.fast import keep_freed_memory
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _check_environment()
        keep_freed_memory()         # reuse freed arrays instead of page-faulting new ones
        args.func(args)
    except CLIError as e:
        print(f"ddpm-np: error: {e}", file=sys.stderr)
        return 2
    except TrainingInterrupted as e:
        print(f"ddpm-np: {e}", file=sys.stderr)
        return 130
    except TrainingDiverged as e:
        print(f"ddpm-np: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ddpm-np: interrupted", file=sys.stderr)
        return 130
    return 0
