"""A φ⁴ study's folder: its record (`study.json`, checked field by field before use), the files
its stages write, and the arrays it reads back (checked like any input: inputs.read_npz).

study.json: {"config": {Phi4Config's fields}, "done": [stage, ...], "seconds": {name: s},
and what the stages add (hmc, local, scale, training_curve)}. The seconds are those of the work
that is kept: a stage adds them when it saves what it has done (a checkpoint, a batch of
proposals), so a stage killed between saves loses its uncounted seconds with its unsaved work,
and the report's cost per independent sample stays right after a resume.
"""
from __future__ import annotations

import json
from pathlib import Path

from ...inputs import read_npz, regular_file
from ...run.folders import OutputError

STUDY_FILES = ("study.json", "hmc.npz", "proposals.npz", "report.json", "model",
               "observables.png", "training.png", "correlator.png", "cost.png",
               "magnetisation.png")
STUDY_LOCK = "study.lock"


def damaged(path, what) -> OutputError:
    return OutputError(f"{path} is damaged ({what}); move the study folder aside and start it "
                       "again, or rerun with another --out")


def read_state(path: Path, field_names, stages) -> dict:
    """study.json, with its fields checked: `config` an object of known fields, `done` a list
    of `stages`, `seconds` an object of numbers."""
    regular_file(path, "study record", OutputError)
    try:
        state = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise damaged(path, f"not JSON: {e}") from None
    if not isinstance(state, dict):
        raise damaged(path, f"a JSON object is expected, got {type(state).__name__}")
    config = state.get("config")
    if not isinstance(config, dict):
        raise damaged(path, f"field config must be an object, got {type(config).__name__}")
    unknown = sorted(set(config) - set(field_names))
    if unknown:
        raise damaged(path, f"config has fields no study has: {', '.join(unknown)}")
    done = state.setdefault("done", [])
    if not isinstance(done, list) or any(d not in stages for d in done):
        raise damaged(path, f"field done must list stages of {', '.join(stages)}, got {done!r}")
    seconds = state.setdefault("seconds", {})
    if not isinstance(seconds, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
            for v in seconds.values()):
        raise damaged(path, f"field seconds must map names to seconds ≥ 0, got {seconds!r:.80}")
    return state


def refuse_foreign_files(out: Path) -> None:
    """A folder without study.json must not hold what a study writes: those files belong to
    something else, and a study would replace them."""
    found = [name for name in STUDY_FILES if (out / name).exists()]
    if found:
        raise OutputError(f"{out} holds {', '.join(found)} but no study.json: not a study this "
                          "command can continue, and a new one would replace them; choose "
                          "another --out")


def read_arrays(path: Path, names) -> dict:
    """The arrays a stage wrote (hmc.npz, proposals.npz), each of `names` present."""
    arrays = read_npz(path, path.name, None, OutputError)
    missing = [n for n in names if n not in arrays]
    if missing:
        raise damaged(path, f"it lacks {', '.join(missing)}")
    return arrays
