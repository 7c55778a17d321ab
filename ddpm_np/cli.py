"""`ddpm-np ...` / `python -m ddpm_np ...`: a thin argparse layer over the library."""
from __future__ import annotations

import argparse
import sys


class CLIError(Exception):
    """A user error: printed as one line, exit status 2, no traceback."""


def _cmd_bench(args):
    from .bench import bench_conv
    if args.what == "conv":
        bench_conv(batch=args.batch, repeats=args.repeats)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ddpm-np",
        description="Denoising diffusion probabilistic models in NumPy, hand-written backprop.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("bench", help="print speed figures (convolution vs this machine's GEMM)")
    p.add_argument("what", nargs="?", default="conv", choices=["conv"],
                   help="what to benchmark (default: conv)")
    p.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats, best kept (default 5)")
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except CLIError as e:
        print(f"ddpm-np: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ddpm-np: interrupted", file=sys.stderr)
        return 130
    return 0
