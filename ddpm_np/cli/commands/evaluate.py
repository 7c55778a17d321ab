"""ddpm-np evaluate, ddpm-np train-classifier"""
import json
import sys

from ..types import finite_float, folder, int_at_least, positive_int, seed_int

NAME = "evaluate"
HELP = "MNIST metrics of a checkpoint's samples"


def add_arguments(p):
    from ...diffusion.solvers import SPACINGS
    from ...tasks.mnist_eval import MAX_N
    p.add_argument("--checkpoint", default="mnist", help="path, or 'mnist' (shipped model)")
    p.add_argument("--n", type=positive_int, default=1000, help=f"samples (at most {MAX_N:,})")
    p.add_argument("--bpd-images", type=int_at_least(0), default=200,
                   help="test images for bits/dim (0 = skip; at most 10,000)")
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
    m = evaluate_checkpoint(args.checkpoint, args.out, args.overwrite, steps=args.steps,
                            guidance=args.guidance, n=args.n, seed=args.seed,
                            bpd_images=args.bpd_images, data_dir=args.data_dir,
                            progress=not args.no_progress, sampler=args.sampler,
                            spacing=args.spacing, eta=args.eta)
    print(json.dumps(m, indent=1))
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
