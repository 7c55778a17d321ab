"""ddpm-np evaluate, ddpm-np train-classifier"""
import json
import sys
from pathlib import Path

from ..types import finite_float, folder, int_at_least, positive_int, seed_int

NAME = "evaluate"
HELP = "metrics of a checkpoint's samples (MNIST's, or a run on your own data's)"


def add_arguments(p):
    from ...diffusion.solvers import SPACINGS
    from ...tasks.mnist_eval import MAX_N
    p.add_argument("--checkpoint", default="mnist", help="path, or 'mnist' (shipped model)")
    p.add_argument("--n", type=positive_int, help=f"MNIST: samples (default 1000, at most "
                                                   f"{MAX_N:,})")
    p.add_argument("--bpd-images", type=int_at_least(0),
                   help="MNIST: test images for bits/dim (default 200; 0 = skip; at most "
                        "10,000)")
    p.add_argument("--data", metavar="PATH",
                   help="a run on your own data: evaluate on this data instead of the run's")
    p.add_argument("--guidance", type=finite_float(0), default=None,
                   help="classifier-free guidance weight w (default 0.5)")
    p.add_argument("--sampler", choices=("ddim", "dpm++2m", "ddpm"), default="ddim",
                   help="ddpm: a learned-variance model's respaced chain with Σ_θ")
    p.add_argument("--eta", type=finite_float(0, high=1), default=0.0,
                   help="ddim: its noise (1 = the respaced chain with β̃; default 0)")
    p.add_argument("--sample-steps", "--steps", dest="steps", type=positive_int, default=50,
                   help="sampler steps (default 50)")
    p.add_argument("--spacing", choices=SPACINGS, default="trailing",
                   help="dpm++2m: how its time steps are spaced (default trailing)")
    p.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")
    p.add_argument("--out", help="write the metrics JSON here too")
    p.add_argument("--data-dir", type=folder, help="folder with the MNIST IDX files")


def run(args):
    from ...tasks.mnist_eval import evaluate_checkpoint, summary
    if _own_data(args.checkpoint):
        return _run_own(args)
    if args.data is not None:
        raise ValueError("--data applies to runs on your own data; this checkpoint is not one")
    m = evaluate_checkpoint(args.checkpoint, args.out, args.overwrite, steps=args.steps,
                            guidance=args.guidance, n=args.n or 1000, seed=args.seed,
                            bpd_images=200 if args.bpd_images is None else args.bpd_images,
                            data_dir=args.data_dir,
                            progress=not args.no_progress, sampler=args.sampler,
                            spacing=args.spacing, eta=args.eta)
    print(json.dumps(m, indent=1))
    print(summary(m), file=sys.stderr)


def _own_data(checkpoint) -> bool:
    from ...data.own import is_own
    from ...run.checkpoint import read_meta
    from ...tasks.mnist_sample import resolve_checkpoint
    return is_own(read_meta(resolve_checkpoint(checkpoint)).get("data") or {})


def _run_own(args):
    """The metrics of metrics.json, recomputed (tasks/own_report.py)."""
    from ...run.checkpoint import atomic_write
    from ...run.folders import check_file
    from ...tasks.own_report import summary
    from ...tasks.own_resume import evaluate_run
    given = [f for f, v in (("--n", args.n), ("--bpd-images", args.bpd_images),
                            ("--data-dir", args.data_dir), ("--guidance", args.guidance))
             if v is not None]
    if given:
        what = "an MNIST option" if len(given) == 1 else "MNIST options"
        raise ValueError(f"{', '.join(given)}: {what}; a run on your own data is evaluated as "
                         "its metrics.json says (held-out loss, bound, and by kind)")
    if args.out:
        check_file(args.out, (".json",), args.overwrite, "--out")
    m = evaluate_run(args.checkpoint, args.data, log=lambda s: print(s, file=sys.stderr),
                     seed=args.seed)
    text = json.dumps(m, indent=1)
    if args.out:
        atomic_write(Path(args.out), lambda f: f.write(text.encode()))
    print(text)
    print(summary(m), file=sys.stderr)


class TrainClassifier:
    NAME = "train-classifier"
    HELP = "train the MNIST classifier used by the sample metrics"

    @staticmethod
    def add_arguments(p):
        p.add_argument("--epochs", type=positive_int, default=3, help="passes over the "
                                                                      "training set (default 3)")
        p.add_argument("--out", help="weights file (default runs/mnist_classifier.npz; the "
                                     "metrics use the shipped weights, "
                                     "ddpm_np/weights/mnist_classifier.npz)")
        p.add_argument("--data-dir", type=folder,
                       help="folder with the MNIST IDX files (default $DDPM_NP_DATA/mnist)")
        p.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")

    @staticmethod
    def run(args):
        from ...tasks.classifier import train_and_save
        out, accuracy = train_and_save(args.out, args.seed, args.epochs, args.data_dir,
                                       args.overwrite, progress=not args.no_progress)
        print(f"test accuracy {accuracy:.4f}; weights written to {out}")
