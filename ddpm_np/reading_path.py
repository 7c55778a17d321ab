"""The reader's path: every file, function and line of the package that a command executes.

    python -m ddpm_np.reading_path demo spiral --quick --steps 3 --out runs/path --overwrite

runs `ddpm-np demo spiral ...` in this process, traced, and prints each file of `ddpm_np` whose
functions it ran (with the number of their lines that ran, and the functions), in the order
they were first entered; what runs on import (definitions) is left out. The README's reading
order names every file this path walks through on the way from the data to the samples (tests/test_reading_path.py checks it, and that no fast layer runs).
"""
from __future__ import annotations

import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def trace_command(argv) -> tuple[int, dict]:
    """(exit status, {file relative to the package: {"lines": set, "functions": list}}) of
    `ddpm-np ARGV`, files in the order they were first entered."""
    from .cli import main
    seen: dict = {}

    def local(frame, event, arg):
        if event == "line":
            seen[frame.f_code.co_filename]["lines"].add(frame.f_lineno)
        return local

    def on_call(frame, event, arg):
        name = frame.f_code.co_filename
        if not name.startswith(str(ROOT)) or not frame.f_code.co_flags & inspect.CO_OPTIMIZED:
            return None     # other packages, and module and class bodies (imports): not the path
        entry = seen.setdefault(name, {"lines": set(), "functions": []})
        if frame.f_code.co_name not in entry["functions"]:
            entry["functions"].append(frame.f_code.co_name)
        return local

    sys.settrace(on_call)
    try:
        status = main(list(argv))
    finally:
        sys.settrace(None)
    return status, {Path(k).relative_to(ROOT).as_posix(): v for k, v in seen.items()}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m ddpm_np.reading_path COMMAND [OPTIONS]  (a ddpm-np command)")
        return 2
    status, files = trace_command(argv)
    print(f"\n`ddpm-np {' '.join(argv)}` ran {len(files)} files of ddpm_np "
          f"({sum(len(v['lines']) for v in files.values())} lines):")
    for name, v in files.items():
        shown = ", ".join(v["functions"])
        print(f"  {name:34s} {len(v['lines']):4d} lines  {shown[:120]}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
