"""The reader's path from `ddpm-np demo spiral` (ddpm_np/reading_path.py): it runs no fast layer,
and the README's reading order names every file it walks through."""
from pathlib import Path

from ddpm_np.reading_path import trace_command

README = Path(__file__).resolve().parents[1] / "README.md"
PLUMBING = ("cli/", "environment.py", "exercises/", "studies/", "physics/", "tasks/demos.py",
            "parallel/processes.py")      # the command line and its checks, not the path's math
WHOLE_ROOMS = ("run/", "parallel/")      # rooms the reading order names as a whole


def _reading_order() -> str:
    text = README.read_text()
    return text[text.index("## Read the code in this order"):text.index("## Time steps")]


def test_the_2d_demo_runs_the_reference_tier_and_the_readme_names_each_file(tmp_path,
                                                                               monkeypatch):
    monkeypatch.delenv("DDPM_NP_TIER", raising=False)
    status, files = trace_command(["demo", "gaussian", "--quick", "--steps", "2", "--out",
                                   str(tmp_path), "--no-progress"])
    assert status == 0
    assert not [f for f in files if f.startswith("nn/fast/")], list(files)
    order = _reading_order()
    rooms = [room for room in WHOLE_ROOMS if room in order]       # named as a whole
    missing = [f for f in files if not f.startswith(PLUMBING + tuple(rooms))
               and Path(f).name not in order and Path(f).name != "__init__.py"]
    assert not missing, missing
    assert {"train.py", "diffusion/samplers.py", "nn/linear.py", "models/mlp.py"} <= set(files)
