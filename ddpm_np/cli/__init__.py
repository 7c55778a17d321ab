"""`ddpm-np ...` / `python -m ddpm_np ...`: a thin argparse layer over the library.

Every error reaches the user as one line `ddpm-np: error: ...`: bad input (values, paths,
checkpoints, data, environment) exits with status 2, before any work where it can be checked
before; a result that is not finite, a diverged run, a failed write or an internal error with 1;
an interrupted run (Ctrl-C, SIGTERM or SIGHUP: training saves first) with 130, 143 or 129.
`--debug` (or DDPM_NP_DEBUG=1) shows the traceback instead. Nothing existing is replaced without
--overwrite. Under mpiexec, processes started with different commands stop before any work.

Under `mpiexec -n K` (train, sample, evaluate), rank 0 prints and writes; the other processes
are silent, and an error that stops one process alone stops the job (parallel/processes.py).
"""
from __future__ import annotations

import os
import signal
import sys
import warnings

from .commands import COMMANDS
from .parser import build_parser

__all__ = ["main", "build_parser"]


def _debug_from_environment() -> bool:
    """DDPM_NP_DEBUG, read before the checks: a bad value is reported by them, without
    tracebacks."""
    from ..environment import EnvironmentValueError, switch
    try:
        return switch("DDPM_NP_DEBUG")
    except EnvironmentValueError:
        return False


def _check_environment(args):
    """The environment variables the library reads (environment.py), checked before any work;
    the command's tier (cli/tiers.py); and the BLAS's threads, decided once for the whole
    command: on the fast tier, one (nn/fast/threads.py)."""
    from ..environment import check_all
    from ..nn import default_tier
    from ..nn.tiers import set_program_tier
    from .tiers import command_tier
    check_all()
    set_program_tier(command_tier(args))
    if default_tier() == "fast":
        from ..nn.fast import hold_blas, keep_freed_memory
        hold_blas()
        keep_freed_memory()         # reuse freed arrays instead of page-faulting new ones


def user_errors() -> tuple:
    """The exceptions that mean "not like this" rather than "something broke": bad values,
    paths, checkpoints, data, outputs and runs. Each is one line and exit status 2."""
    from ..run.checkpoint import CheckpointError
    from ..data.mnist import DatasetError
    from ..exercises import WorkspaceError
    from ..tasks.sampling import SamplingError
    from ..run.folders import OutputError
    from ..run.state import RunError
    return (CheckpointError, DatasetError, OutputError, RunError, SamplingError, WorkspaceError,
            ValueError)


def _one_line(message, category, filename, lineno, file=None, line=None):
    return f"ddpm-np: warning: {message}\n"


class _Terminated(Exception):
    """SIGTERM or SIGHUP outside training (training saves and stops on it by itself)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _on_stop_signal(signum, frame):
    raise _Terminated(signum)


def _stop_signals():
    """SIGTERM and SIGHUP (where there is one): both end a command as Ctrl-C does."""
    return [s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]


PARALLEL_COMMANDS = ("train", "sample", "evaluate")


def _world():
    """This process's world; on several processes, the others' output goes nowhere."""
    from ..parallel import ParallelError, world
    try:
        w = world()
    except ParallelError as e:
        print(f"ddpm-np: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    if not w.is_root:
        sys.stdout = sys.stderr = open(os.devnull, "w")
    return w


def _same_command_everywhere(w, argv) -> bool:
    """Under mpiexec, every process must run the same command (the collective calls of one
    command would wait for ever for those of another): checked before the first of them."""
    if w.size == 1:
        return True
    mine = list(sys.argv[1:] if argv is None else map(str, argv))
    every = w.allgather(mine)
    if all(a == mine for a in every):
        return True
    differ = next(r for r, a in enumerate(every) if a != every[0])
    print(f"ddpm-np: error: the processes were started with different commands (process 0: "
          f"{' '.join(every[0]) or '(none)'}; process {differ}: "
          f"{' '.join(every[differ]) or '(none)'}); under mpiexec every process runs the same "
          "command", file=sys.stderr)
    return False


def main(argv=None) -> int:
    w = _world()
    if not _same_command_everywhere(w, argv):
        return 2
    parser = build_parser(COMMANDS)
    args = parser.parse_args(argv)
    if w.size > 1 and args.command not in PARALLEL_COMMANDS and not (
            args.command == "bench" and args.what == "train"):
        what = "bench " + args.what if args.command == "bench" else args.command
        print(f"ddpm-np: error: {what} runs on one process; under mpiexec run "
              f"{', '.join(PARALLEL_COMMANDS)} or bench train", file=sys.stderr)
        return 2
    debug = getattr(args, "debug", False) or _debug_from_environment()
    warnings.formatwarning = _one_line
    old = {sig: signal.signal(sig, _on_stop_signal) for sig in _stop_signals()
           if signal.getsignal(sig) is signal.SIG_DFL}
    try:
        status = _run(args, debug)
        return w.settle(status, getattr(args, "_error", "")) if status else status
    finally:
        from ..nn.tiers import set_program_tier
        set_program_tier(None)
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _run(args, debug) -> int:
    from ..tasks.mnist_sample import NonFiniteSamples
    from ..train import TrainingDiverged, TrainingInterrupted

    def fail(status, text):
        if debug:
            raise
        print(f"ddpm-np: {text}", file=sys.stderr)
        args._error = text
        return status

    try:
        _check_environment(args)
        args.func(args)
    except user_errors() as e:
        return fail(2, f"error: {e}")
    except TrainingInterrupted as e:
        return fail(128 + e.signum, str(e))
    except (TrainingDiverged, NonFiniteSamples) as e:
        return fail(1, f"error: {e}")
    except KeyboardInterrupt:
        return fail(130, "interrupted")
    except _Terminated as e:
        return fail(128 + e.signum, "terminated" if e.signum == signal.SIGTERM else
                    f"stopped ({signal.Signals(e.signum).name})")
    except MemoryError as e:
        return fail(2, f"error: not enough memory for this request ({e}); ask for fewer "
                       "samples (--n) or a smaller batch")
    except OSError as e:
        where = f" {e.filename}" if e.filename else ""
        return fail(1, f"error: cannot read or write{where}: {e.strerror or e}")
    except Exception as e:          # a bug: still one line, and how to see more
        return fail(1, f"internal error: {type(e).__name__}: {e} (run with --debug for the "
                       "traceback, and please report it)")
    return 0
