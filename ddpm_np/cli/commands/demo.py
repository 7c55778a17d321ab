"""ddpm-np demo NAME"""
from ..types import finite_float, folder, positive_int, seed_int

NAME = "demo"
HELP = "train (or load), sample, measure and draw a demo: 2-D data or mnist"


def add_arguments(p):
    from ...tasks.demos import DEMOS
    p.add_argument("name", choices=DEMOS, help="which distribution or dataset")
    p.add_argument("--quick", action="store_true", help="a tiny run that takes seconds")
    p.add_argument("--out", help="output folder (default runs/NAME)")
    p.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")
    p.add_argument("--steps", type=positive_int, help="training steps (default per demo)")
    p.add_argument("--model", choices=("mlp", "linear"), default=None,
                   help="2-D demos: the ε-model, mlp (default) or linear (A_t x_t + b_t: exact "
                        "for one Gaussian, and what fails on the others)")
    p.add_argument("--train", action="store_true",
                   help="mnist: retrain from scratch instead of using the shipped model")
    p.add_argument("--guidance", type=finite_float(0), default=None,
                   help="mnist: guidance weight (default 0.5)")
    p.add_argument("--sampler", choices=("ddim", "dpm++2m"),
                   help="mnist: the sampler (default: DPM-Solver++(2M), 5 steps, the fewest "
                        "that meet the quality bar, which the demo names)")
    p.add_argument("--sample-steps", type=positive_int,
                   help="mnist: sampler steps (default with --sampler: 50 for ddim, 15 for "
                        "dpm++2m)")
    p.add_argument("--data-dir", type=folder, help="mnist: folder with the IDX files")
    p.add_argument("--checkpoint", help="mnist: draw from this checkpoint instead of the "
                                        "shipped model")


def run(args):
    from ...tasks.demos import run_demo
    run_demo(args.name, args.out, quick=args.quick, seed=args.seed, steps=args.steps,
             model=args.model, train=args.train, guidance=args.guidance,
             checkpoint=args.checkpoint, sampler=args.sampler, sample_steps=args.sample_steps,
             data_dir=args.data_dir, progress=not args.no_progress, overwrite=args.overwrite)
