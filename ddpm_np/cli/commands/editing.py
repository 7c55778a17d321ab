"""ddpm-np inpaint, ddpm-np interpolate"""
from ..types import finite_float, folder, int_at_least, positive_int, seed_int


class Inpaint:
    NAME = "inpaint"
    HELP = "fill in a hidden part of a digit (RePaint)"

    @staticmethod
    def add_arguments(p):
        p.add_argument("--checkpoint", default="mnist", help="path, or 'mnist' (shipped model)")
        src = p.add_mutually_exclusive_group(required=True)
        src.add_argument("--image", help="a 28×28 picture of a white digit on black")
        src.add_argument("--test-index", type=int_at_least(0), help="an MNIST test digit")
        p.add_argument("--mask", required=True,
                       help="what to hide: bottom, top, left, right, center, or a 28×28 .png "
                            "whose white pixels are kept")
        p.add_argument("--digit", type=int, help="complete as this digit (default: "
                                                 "unconditional)")
        p.add_argument("--guidance", type=finite_float(0), default=0.0,
                       help="guidance weight with --digit (default 0)")
        p.add_argument("--n", type=positive_int, default=8, help="completions (default 8)")
        p.add_argument("--sample-steps", "--steps", dest="steps", type=positive_int, default=50,
                       help="sampler steps (default 50)")
        p.add_argument("--jump-length", type=positive_int, default=5,
                       help="resampling: steps between jumps back (default 5)")
        p.add_argument("--resample", type=positive_int, default=5,
                       help="resampling: passes at each jump point, 1 = none (default 5)")
        p.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")
        p.add_argument("--grid", help="the figure: original, masked input, completions "
                                      "(.png, .pdf, …); give --grid, --out or both")
        p.add_argument("--out", help="save the completions as .npy")
        p.add_argument("--data-dir", type=folder,
                       help="folder with the MNIST IDX files (for --test-index)")

    @staticmethod
    def run(args):
        from ...tasks.editing import inpaint_to_files
        inpaint_to_files(args.grid, args.checkpoint, args.image, args.test_index, args.mask,
                         args.n, args.digit, args.guidance, args.steps, args.jump_length,
                         args.resample, args.seed, args.out, args.data_dir, args.overwrite,
                         progress=not args.no_progress)
        where = " and ".join(p for p in (args.grid, args.out) if p)
        print(f"wrote {args.n} completions to {where}")


class Interpolate:
    NAME = "interpolate"
    HELP = "morph one digit into another through the noise"

    @staticmethod
    def add_arguments(p):
        p.add_argument("--checkpoint", default="mnist", help="path, or 'mnist' (shipped model)")
        p.add_argument("--test-index", type=int_at_least(0), nargs=2, metavar=("A", "B"),
                       help="two MNIST test digits, inverted by DDIM (default: two random "
                            "noises)")
        p.add_argument("--frames", type=int_at_least(2), default=10, help="images in the row")
        p.add_argument("--sample-steps", "--steps", dest="steps", type=positive_int, default=200,
                       help="DDIM steps for inversion and decoding (default 200: the ends are "
                            "then the images within a few grey levels)")
        p.add_argument("--seed", type=seed_int, default=0,
                       help="random seed of the two noises (default 0)")
        p.add_argument("--grid", required=True, help="the figure (.png, .pdf, …)")
        p.add_argument("--data-dir", type=folder,
                       help="folder with the MNIST IDX files (for --test-index)")

    @staticmethod
    def run(args):
        from ...tasks.editing import interpolate_to_file
        interpolate_to_file(args.grid, args.checkpoint, args.test_index, args.frames,
                            args.steps, args.seed, args.data_dir, args.overwrite,
                            progress=not args.no_progress)
        print(f"wrote {args.frames} frames to {args.grid}")
