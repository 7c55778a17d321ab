"""ddpm-np sample"""
from ..types import finite_float, positive_int, seed_int

NAME = "sample"
HELP = "draw samples from a trained checkpoint"


def add_arguments(p):
    from ...diffusion.solvers import SPACINGS
    from ...experiments.sampling import SAMPLERS
    p.add_argument("--checkpoint", required=True,
                   help="path to checkpoint.npz, or 'mnist' for the shipped model")
    p.add_argument("--n", type=positive_int, required=True, help="number of samples")
    p.add_argument("--sampler", choices=SAMPLERS, default="ddpm",
                   help="ddpm: all T steps; ddim; dpm++2m: DPM-Solver++(2M), few steps")
    p.add_argument("--steps", type=positive_int, help="DDIM (default 50) or DPM-Solver++ "
                                                       "(default 15) steps")
    p.add_argument("--spacing", choices=SPACINGS, default="trailing",
                   help="how the time steps of ddim and dpm++2m are spaced (default trailing)")
    p.add_argument("--eta", type=finite_float(0, high=1), default=0.0,
                   help="DDIM η in [0, 1] (0 = deterministic, 1 = DDPM-like noise)")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--out", default="samples.npy", help="output .npy (default samples.npy)")
    p.add_argument("--digit", type=int, help="class to draw (conditional models)")
    p.add_argument("--guidance", type=finite_float(0), default=None,
                   help="classifier-free guidance weight w (0 = plain conditional; default 0.5 "
                        "for class-conditional models)")
    p.add_argument("--grid", help="also save the images as a grid picture here (.png, .pdf, …)")


def run(args):
    from ...experiments.sampling import sample_to_files
    _, info = sample_to_files(args.checkpoint, args.n, args.out, args.grid, args.overwrite,
                              sampler=args.sampler, steps=args.steps, eta=args.eta,
                              seed=args.seed, digit=args.digit, guidance=args.guidance,
                              progress=not args.no_progress, spacing=args.spacing)
    print(f"wrote {args.n} samples ({args.sampler}, {info['steps']} steps) to {args.out}"
          + (f" and a grid to {args.grid}" if args.grid else ""))
