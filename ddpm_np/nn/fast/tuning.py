"""Choices made by measurement on this machine, remembered (like FFTW's wisdom or cuDNN's
benchmark mode).

A choice is something the fast tier can do several ways with the same numbers up to float
rounding: the route of a 3×3 convolution (im2col, Winograd F(2×2) or F(4×4)), the bytes of work
per chunk of the batch. The rules in the code (conv.use_winograd, threads.chunk_bounds) were
tuned on one CPU; with calibration on, the first time a choice is met for a shape, every
candidate is timed on this machine (forward and backward, best of a few runs) and the fastest is
kept, in memory and in a JSON file in the user's cache folder, one per machine key: CPU model,
core count, NumPy and its BLAS, this project's version (so that several environments on one
machine keep their own). A changed key starts a new table.

    choose(key, candidates, rule, measure)    the remembered choice for `key`; if none, the
                                              fastest candidate by measure(c) -> seconds
                                              (kept), or `rule` where measuring is off

Off (DDPM_NP_CALIBRATE=0, or `set_enabled(False)`; the tests' default): every choice is the
rule, so that a run gives the same numbers on every machine. A cache that cannot be read (not
JSON, another program's, another machine's) is set aside with one warning line; one that cannot
be written keeps the choices for this process only, with one warning line. Processes write it
one at a time (a lock file) and merge what the others wrote. Several processes started by
mpiexec measure nothing themselves: rank 0's table, calibrated for the default models once per
machine if it lacks them, is given to every process (`share`, called by parallel.world).

Environment: DDPM_NP_CALIBRATE (0, off, no, false: off), DDPM_NP_CACHE_DIR (the folder; default
$XDG_CACHE_HOME/ddpm_np or ~/.cache/ddpm_np).
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

from ... import environment

FILE = "calibration"            # calibration-<hash of the machine key>.json
FORMAT = "ddpm_np calibration 1"
MARGIN = 0.05                   # a candidate replaces the rule only if this much faster

_enabled = None                 # set_enabled's value; None: the environment decides
_table = None                   # {key: {"choice": c, "seconds": {c: s}}} once loaded
_frozen = False                 # True: never measure (several processes share rank 0's table)
_trying = {}                    # key -> candidate while a measurement tries it
_warned = set()


def enabled() -> bool:
    if _enabled is not None:
        return _enabled
    return environment.switch("DDPM_NP_CALIBRATE")


def set_enabled(on: bool | None):
    """True/False: calibration on/off for this process; None: as DDPM_NP_CALIBRATE says."""
    global _enabled
    _enabled = on


@contextlib.contextmanager
def switched_on():
    """Within the block, calibration is on whatever the environment says (`bench calibrate`);
    the previous setting comes back after."""
    global _enabled
    before = _enabled
    _enabled = True
    try:
        yield
    finally:
        _enabled = before


def cache_path() -> Path:
    folder = environment.value("DDPM_NP_CACHE_DIR")
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                ".cache")
        folder = os.path.join(base, "ddpm_np")
    digest = hashlib.sha1(json.dumps(machine_key(), sort_keys=True).encode()).hexdigest()[:10]
    return Path(folder) / f"{FILE}-{digest}.json"


@functools.lru_cache(maxsize=1)
def machine_key() -> dict:
    """What the choices depend on: the CPU, its cores, NumPy, its BLAS, this project."""
    import numpy as np

    from ... import __version__
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    blas = "unknown"
    with contextlib.suppress(Exception):       # NumPy's own BLAS, not those loaded beside it
        from threadpoolctl import threadpool_info
        found = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        own = [i for i in found if "numpy" in str(i.get("filepath", ""))] or found[:1]
        blas = ";".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}"
                        for i in own) or blas
    return {"cpu": cpu, "cores": os.cpu_count(), "numpy": np.__version__, "blas": blas,
            "ddpm_np": __version__}


def _warn(kind: str, message: str):
    if kind not in _warned:
        _warned.add(kind)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _read(path: Path, key: dict) -> dict:
    """The choices stored at `path` for `key` ({} if none, or with one warning if unreadable)."""
    try:
        text = path.read_text()
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as e:
        _warn("read", f"calibration cache {path} cannot be read ({e.strerror or e}); "
                      "measuring again")
        return {}
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(
                data.get("choices"), dict):
            raise ValueError("not a calibration table of this project")
    except ValueError as e:
        _warn("read", f"calibration cache {path} is not usable ({e}); measuring again")
        return {}
    if data.get("machine") != key:
        return {}                                       # another machine or version
    return {k: v for k, v in data["choices"].items()
            if isinstance(v, dict) and "choice" in v}


def table() -> dict:
    """This process's choices: loaded from the cache the first time."""
    global _table
    if _table is None:
        _table = _read(cache_path(), machine_key())
    return _table


def _save(key: str):
    """Add this process's choice for `key` to the cache file, merged with what other processes
    wrote since, one writer at a time; one warning line if the folder is not writable."""
    path, machine = cache_path(), machine_key()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            with _locked(lock):
                merged = _read(path, machine)
                merged[key] = _table[key]
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
                with os.fdopen(fd, "w") as f:
                    json.dump({"format": FORMAT, "machine": machine, "choices": merged}, f,
                              indent=1)
                os.replace(tmp, path)
    except OSError as e:
        _warn("write", f"calibration cache {path} cannot be written ({e.strerror or e}); "
                       "the choices are kept for this process only")


@contextlib.contextmanager
def _locked(f):
    try:
        import fcntl
    except ImportError:                                 # no POSIX locks: last writer wins
        yield
        return
    fcntl.flock(f, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(f, fcntl.LOCK_UN)


def choose(key: str, candidates, rule, measure=None):
    """The choice for `key` among `candidates`: the remembered one; else, with calibration on
    and `measure` given, the fastest by measure(c) -> seconds, unless the rule is within MARGIN
    of it (remembered); else `rule`."""
    if key in _trying:
        return _trying[key]
    if not enabled():
        return rule
    known = table().get(key)
    if known is not None and known["choice"] in candidates:
        return known["choice"]
    if measure is None or _frozen or _trying:           # no measuring inside a measurement
        return rule
    seconds = {}
    for c in candidates:
        with trying(key, c):
            seconds[c] = float(measure(c))
    best = min(candidates, key=seconds.__getitem__)
    if rule in seconds and seconds[rule] <= (1 + MARGIN) * seconds[best]:
        best = rule                                     # within the noise: keep the rule
    _table[key] = {"choice": best, "seconds": {str(c): s for c, s in seconds.items()}}
    _save(key)
    return best


@contextlib.contextmanager
def trying(key: str, candidate):
    """Within the block, `choose(key, …)` returns `candidate` (what a measurement times)."""
    _trying[key] = candidate
    try:
        yield
    finally:
        del _trying[key]


def best_seconds(fn, repeats: int = 5, warmup: int = 1) -> float:
    """The shortest of `repeats` timed calls of fn(), after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def drop(key: str):
    """Forget the choice for `key` in this process (the next `choose` measures it again)."""
    table().pop(key, None)


def install(choices: dict, frozen: bool = True):
    """Use `choices` (another process's table) and, if `frozen`, measure nothing more."""
    global _table, _frozen
    _table, _frozen = dict(choices), frozen


def forget():
    """Drop this process's table (the next choice reads the cache again) and setting, and
    unfreeze."""
    global _table, _frozen, _enabled
    _table, _frozen, _enabled = None, False, None
    _warned.clear()
