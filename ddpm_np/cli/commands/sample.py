"""ddpm-np sample"""
from ..types import finite_float, positive_int, seed_int

NAME = "sample"
HELP = "draw samples from a trained checkpoint"


def add_arguments(p):
    from ...diffusion.solvers import SPACINGS
    from ...tasks.mnist_sample import SAMPLER_STEPS
    from ...tasks.sampling import SAMPLERS
    p.add_argument("--checkpoint", default="mnist",
                   help="path to checkpoint.npz, or 'mnist' for the shipped model (default)")
    p.add_argument("--n", type=positive_int, required=True, help="number of samples")
    p.add_argument("--sampler", choices=SAMPLERS,
                   help=f"dpm++2m (default for images and fields): DPM-Solver++(2M), "
                        f"{SAMPLER_STEPS['dpm++2m']} steps, as good as DDIM-50 on the shipped "
                        "model (docs/results.md); ddim (default for points, all T steps); "
                        "ddpm: Algorithm 2, all T steps (slow on images)")
    p.add_argument("--sample-steps", "--steps", dest="steps", type=positive_int,
                   help=f"sampler steps (default {SAMPLER_STEPS['dpm++2m']} for dpm++2m, "
                        f"{SAMPLER_STEPS['ddim']} for ddim; ddpm takes all T, or with a "
                        "learned variance these many respaced steps)")
    p.add_argument("--spacing", choices=SPACINGS, default="trailing",
                   help="dpm++2m: how its time steps are spaced (default trailing)")
    p.add_argument("--eta", type=finite_float(0, high=1), default=0.0,
                   help="DDIM η in [0, 1] (0 = deterministic, 1 = DDPM-like noise)")
    p.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")
    p.add_argument("--out", help="save the samples here, in the data's units: .npy; .csv or "
                                 ".tsv (points); folder/ (images, one PNG each)")
    p.add_argument("--digit", type=int, help="class to draw by number (conditional models)")
    p.add_argument("--class", dest="klass", metavar="NAME",
                   help="class to draw by the name the checkpoint keeps (e.g. an image "
                        "folder's class folder)")
    p.add_argument("--guidance", type=finite_float(0), default=None,
                   help="classifier-free guidance weight w (0 = plain conditional; default 0.5 "
                        "for class-conditional models)")
    p.add_argument("--grid", help="draw the samples as a picture here (.png, .pdf, …): a grid "
                                  "of images, a scatter of points; give --out, --grid or both")


def run(args):
    from ...tasks.sampling import SamplingError, sample_to_files
    if args.klass is not None and args.digit is not None:
        raise SamplingError("give --digit or --class, not both")
    klass = args.digit if args.klass is None else args.klass
    _, info = sample_to_files(args.checkpoint, args.n, args.out, args.grid, args.overwrite,
                              sampler=args.sampler, steps=args.steps, eta=args.eta,
                              seed=args.seed, digit=klass, guidance=args.guidance,
                              progress=not args.no_progress, spacing=args.spacing)
    wrote = " and ".join(w for w in (args.out and f"the samples to {args.out}",
                                     args.grid and f"a grid to {args.grid}") if w)
    print(f"drew {args.n} samples with {info['sampler_name']}; wrote {wrote}")
