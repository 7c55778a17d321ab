"""The command line's grammar: one subparser per command module (cli/commands/), with the
options every command shares, and errors on one line."""
from __future__ import annotations

import argparse
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from .tiers import help_line


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


def version() -> str:
    """The installed package's version ("unknown" when run from a source tree not installed)."""
    try:
        return package_version("ddpm_np")
    except PackageNotFoundError:
        return "unknown"


def build_parser(commands) -> argparse.ArgumentParser:
    """The parser; `commands` maps each subcommand's name to its module (NAME, HELP,
    add_arguments, run; OPTIONS for the shared options it takes)."""
    parser = _Parser(
        prog="ddpm-np",
        description="Denoising diffusion probabilistic models in NumPy, hand-written backprop.",
        epilog="Errors are one line; --debug (or DDPM_NP_DEBUG=1) shows the traceback.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    parser.add_argument("--version", action="version", version=f"ddpm-np {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, command in commands.items():
        p = sub.add_parser(name, help=command.HELP,
                           description=f"{command.HELP[0].upper()}{command.HELP[1:]}. "
                                       f"{help_line(name)}")
        command.add_arguments(p)
        _common(p, **getattr(command, "OPTIONS", {}))
        p.set_defaults(func=command.run)
    return parser
