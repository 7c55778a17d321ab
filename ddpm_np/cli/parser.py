"""The command line's grammar: subcommands, flags, and types that refuse bad values in one line."""
from __future__ import annotations

import argparse
import math

TOY = ("gaussian", "two-gaussians", "spiral", "double-well", "moons")   # data.toy2d.NAMES
IMAGE = ("mnist",)


def int_at_least(low: int):
    """An argparse type: an integer ≥ low."""
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            v = None
        if v is None or v < low:
            what = "a positive integer" if low == 1 else f"an integer ≥ {low}"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v
    parse.__name__ = "integer"
    return parse


def finite_float(low: float, strict: bool = False, high: float | None = None):
    """An argparse type: a finite number ≥ low (> low with `strict`), ≤ high if given."""
    def parse(text):
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        if not math.isfinite(v) or (v <= low if strict else v < low) or \
                (high is not None and v > high):
            what = f"a finite number {'>' if strict else '≥'} {low:g}" + \
                ("" if high is None else f" and ≤ {high:g}")
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v
    parse.__name__ = "number"
    return parse


positive_int = int_at_least(1)
seed_int = int_at_least(0)


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (and where to read more) instead of the usage."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _common(p, progress=True, overwrite=True):
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help=argparse.SUPPRESS)          # also accepted after the command
    if progress:
        p.add_argument("--no-progress", action="store_true", help="no progress bars")
    if overwrite:
        p.add_argument("--overwrite", action="store_true",
                       help="replace existing outputs (otherwise they are never replaced)")


def build_parser(commands) -> argparse.ArgumentParser:
    """The parser; `commands` maps each subcommand to the function that runs it."""
    parser = _Parser(
        prog="ddpm-np",
        description="Denoising diffusion probabilistic models in NumPy, hand-written backprop.",
        epilog="Errors are one line; --debug (or DDPM_NP_DEBUG=1) shows the traceback.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    guidance = finite_float(0)

    p = sub.add_parser("demo", help="train (or load), sample, measure and draw a demo: 2-D data "
                                    "or mnist")
    p.add_argument("name", choices=TOY + IMAGE, help="which distribution or dataset")
    p.add_argument("--quick", action="store_true", help="a tiny run that takes seconds")
    p.add_argument("--out", help="output folder (default runs/NAME)")
    p.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")
    p.add_argument("--steps", type=positive_int, help="training steps (default per demo)")
    p.add_argument("--model", choices=("mlp", "linear"), default=None,
                   help="2-D demos: the ε-model, mlp (default) or linear (A_t x_t + b_t: exact "
                        "for one Gaussian, and what fails on the others)")
    p.add_argument("--train", action="store_true",
                   help="mnist: retrain from scratch instead of using the shipped model")
    p.add_argument("--guidance", type=guidance, default=None,
                   help="mnist: guidance weight (default 0.5)")
    p.add_argument("--sampler", choices=("ddim", "dpm++2m"),
                   help="mnist: the sampler (default: the fewest steps that meet the quality "
                        "bar, which the demo names)")
    p.add_argument("--sample-steps", type=positive_int,
                   help="mnist: sampler steps (default with --sampler: 50 for ddim, 15 for "
                        "dpm++2m)")
    p.add_argument("--data-dir", help="mnist: folder with the IDX files")
    p.add_argument("--checkpoint", help="mnist: draw from this checkpoint instead of the "
                                        "shipped model")
    _common(p)

    p = sub.add_parser("train", help="train a model on a 2-D dataset or mnist (or resume a run)")
    p.add_argument("--dataset", choices=TOY + IMAGE)
    p.add_argument("--data-dir", help="mnist: folder with the IDX files "
                                      "(default $DDPM_NP_DATA/mnist, else a cache folder)")
    p.add_argument("--resume", metavar="CHECKPOINT",
                   help="continue the run saved in this checkpoint; --steps, --lr and "
                        "--checkpoint-every may change, nothing else")
    p.add_argument("--out", help="output folder (default runs/train-DATASET; on resume, the "
                                 "checkpoint's folder)")
    p.add_argument("--steps", type=positive_int, help="total training steps")
    p.add_argument("--batch-size", type=positive_int, help="2-D default 256")
    p.add_argument("--lr", type=finite_float(0, strict=True), help="2-D default 2e-3")
    p.add_argument("--hidden", type=positive_int, help="2-D: MLP width (default 128)")
    p.add_argument("--blocks", type=positive_int, help="2-D: residual blocks (default 3)")
    p.add_argument("--T", type=int_at_least(21), help="2-D: diffusion steps (default 200)")
    p.add_argument("--parameterization", choices=("eps", "x0", "v"), help="2-D default eps")
    p.add_argument("--checkpoint-every", type=positive_int, help="default 1000 (mnist 250)")
    p.add_argument("--stop-at", type=positive_int, metavar="STEP",
                   help="stop (resumably) at this step of the planned --steps")
    p.add_argument("--seed", type=seed_int, help="default 0")
    _common(p)

    p = sub.add_parser("sample", help="draw samples from a trained checkpoint")
    p.add_argument("--checkpoint", required=True,
                   help="path to checkpoint.npz, or 'mnist' for the shipped model")
    p.add_argument("--n", type=positive_int, required=True, help="number of samples")
    p.add_argument("--sampler", choices=("ddpm", "ddim", "dpm++2m"), default="ddpm",
                   help="ddpm: all T steps; ddim; dpm++2m: DPM-Solver++(2M), few steps")
    p.add_argument("--steps", type=positive_int, help="DDIM (default 50) or DPM-Solver++ "
                                                       "(default 15) steps")
    p.add_argument("--spacing", choices=("logsnr", "uniform", "trailing"), default="trailing",
                   help="dpm++2m: how its time steps are spaced (default logsnr)")
    p.add_argument("--eta", type=finite_float(0, high=1), default=0.0,
                   help="DDIM η in [0, 1] (0 = deterministic, 1 = DDPM-like noise)")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--out", default="samples.npy", help="output .npy (default samples.npy)")
    p.add_argument("--digit", type=int, help="class to draw (conditional models)")
    p.add_argument("--guidance", type=guidance, default=None,
                   help="classifier-free guidance weight w (0 = plain conditional; default 0.5 "
                        "for class-conditional models)")
    p.add_argument("--grid", help="also save the images as a grid picture here (.png, .pdf, …)")
    _common(p)

    p = sub.add_parser("inpaint", help="fill in a hidden part of a digit (RePaint)")
    p.add_argument("--checkpoint", default="mnist", help="path, or 'mnist' (shipped model)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--image", help="a 28×28 picture of a white digit on black")
    src.add_argument("--test-index", type=int_at_least(0), help="an MNIST test digit")
    p.add_argument("--mask", required=True,
                   help="what to hide: bottom, top, left, right, center, or a 28×28 .png whose "
                        "white pixels are kept")
    p.add_argument("--digit", type=int, help="complete as this digit (default: unconditional)")
    p.add_argument("--guidance", type=guidance, default=0.0,
                   help="guidance weight with --digit (default 0)")
    p.add_argument("--n", type=positive_int, default=8, help="completions (default 8)")
    p.add_argument("--steps", type=positive_int, default=50, help="time steps (default 50)")
    p.add_argument("--jump-length", type=positive_int, default=5,
                   help="resampling: steps between jumps back (default 5)")
    p.add_argument("--resample", type=positive_int, default=5,
                   help="resampling: passes at each jump point, 1 = none (default 5)")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--grid", required=True, help="the figure: original, masked input, "
                                                 "completions (.png, .pdf, …)")
    p.add_argument("--out", help="also save the completions as .npy")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (for --test-index)")
    _common(p)

    p = sub.add_parser("interpolate", help="morph one digit into another through the noise")
    p.add_argument("--checkpoint", default="mnist", help="path, or 'mnist' (shipped model)")
    p.add_argument("--test-index", type=int_at_least(0), nargs=2, metavar=("A", "B"),
                   help="two MNIST test digits, inverted by DDIM (default: two random noises)")
    p.add_argument("--frames", type=int_at_least(2), default=10, help="images in the row")
    p.add_argument("--steps", type=positive_int, default=200,
                   help="DDIM steps for inversion and decoding (default 200: the ends are then "
                        "the images within a few grey levels)")
    p.add_argument("--seed", type=seed_int, default=0, help="for the random noises")
    p.add_argument("--grid", required=True, help="the figure (.png, .pdf, …)")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (for --test-index)")
    _common(p)

    p = sub.add_parser("evaluate", help="MNIST metrics of a checkpoint's samples")
    p.add_argument("--checkpoint", default="mnist", help="path, or 'mnist' (shipped model)")
    p.add_argument("--n", type=positive_int, default=1000, help="samples (at most 12,000)")
    p.add_argument("--bpd-images", type=int_at_least(0), default=200,
                   help="test images for bits/dim (0 = skip; at most 10,000)")
    p.add_argument("--guidance", type=guidance, default=None,
                   help="classifier-free guidance weight w (default 0.5)")
    p.add_argument("--sampler", choices=("ddim", "dpm++2m"), default="ddim")
    p.add_argument("--steps", type=positive_int, default=50, help="sampler steps (default 50)")
    p.add_argument("--spacing", choices=("logsnr", "uniform", "trailing"), default="trailing",
                   help="dpm++2m: how its time steps are spaced")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--out", help="write the metrics JSON here too")
    p.add_argument("--data-dir")
    _common(p)

    p = sub.add_parser("train-classifier",
                       help="train the MNIST classifier used by the sample metrics")
    p.add_argument("--epochs", type=positive_int, default=3)
    p.add_argument("--out", help="weights file (default: the package's shipped weights)")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default "
                                      "$DDPM_NP_DATA/mnist)")
    p.add_argument("--seed", type=seed_int, default=0)
    _common(p)

    p = sub.add_parser("bench", help="print speed figures (convolution or UNet vs this "
                                     "machine's GEMM; data-parallel training)")
    p.add_argument("what", nargs="?", default="conv",
                   choices=["conv", "unet", "profile", "train", "scaling"],
                   help="what to benchmark (default: conv); profile: where a UNet step's time "
                        "goes, layer by layer; train: training steps of the MNIST UNet, also "
                        "under mpiexec -n K; scaling: a step's cost against batch and image "
                        "size")
    p.add_argument("--figure", help="scaling: draw the curves into this PNG file")
    p.add_argument("--batch", type=int_at_least(1), default=64, help="batch size (default 64)")
    p.add_argument("--repeats", type=positive_int, default=5, help="timed repeats, best kept")
    _common(p, progress=False, overwrite=False)

    p = sub.add_parser("exercises", help="write a workspace of exercises (the library's key "
                                         "functions as stubs, with their tests), or show which "
                                         "pass")
    p.add_argument("folder", help="the workspace folder (created if needed)")
    p.add_argument("--status", action="store_true",
                   help="run the workspace's tests and print which exercises pass")
    p.add_argument("--overwrite", action="store_true",
                   help="write the stubs again over an existing workspace (replaces your work)")
    _common(p, progress=False, overwrite=False)

    for name, sp in sub.choices.items():
        sp.set_defaults(func=commands[name])
    return parser
