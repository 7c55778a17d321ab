"""Every tutorial chapter runs, quick settings, with its checks (the asserts in its cells), and
reads as a notebook: so that none of them can rot."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..processes import WAIT

TUTORIAL = Path(__file__).resolve().parents[2] / "tutorial"
CHAPTERS = sorted(TUTORIAL.glob("[0-9][0-9]_*.py"))
FIGURES = {"01": ["01_schedule", "01_chain"], "02": ["02_loss_weight"],
           "03": ["03_linear_vs_closed_form", "03_linear_gaussian", "03_linear_fails_mlp_works"],
           "04": ["04_samples"], "05": ["05_free_energy"],
           "06": ["06_phi4_observables"], "07": ["07_ring", "07_squares"]}


def test_the_chapters_are_the_lecture_path():
    assert [c.name[:2] for c in CHAPTERS] == ["01", "02", "03", "04", "05", "06", "07"]
    index = (TUTORIAL / "README.md").read_text()
    for chapter in CHAPTERS:
        assert chapter.name in index


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_chapter_runs_and_draws_its_figures(tmp_path, chapter):
    env = dict(os.environ, DDPM_NP_TUTORIAL_QUICK="1", DDPM_NP_TUTORIAL_OUT=str(tmp_path),
               MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(chapter)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=WAIT)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    for name in FIGURES[chapter.name[:2]]:
        assert (tmp_path / f"{name}.png").stat().st_size > 5000, name


@pytest.mark.skipif(importlib.util.find_spec("jupytext") is None,
                    reason='needs the notebook extra: pip install ".[notebook]"')
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_chapter_opens_as_a_notebook(chapter):
    import jupytext
    notebook = jupytext.read(chapter)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds[0] == "markdown" and kinds.count("code") >= 3 and kinds.count("markdown") >= 3
    assert notebook.cells[0].source.startswith("# Chapter")


def test_a_chapter_run_by_hand_writes_under_runs_only(tmp_path):
    """Without DDPM_NP_TUTORIAL_OUT the figures go to runs/tutorial/ (git ignores runs/): a
    reader's run rewrites none of the tracked pictures in tutorial/figures."""
    env = {k: v for k, v in os.environ.items() if k != "DDPM_NP_TUTORIAL_OUT"}
    env.update(DDPM_NP_TUTORIAL_QUICK="1", MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(CHAPTERS[0])], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=WAIT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [p.name for p in tmp_path.iterdir()] == ["runs"]
    assert (tmp_path / "runs" / "tutorial" / "01_schedule.png").exists()
    ignored = (TUTORIAL.parent / ".gitignore").read_text().split()
    assert "runs/" in ignored and "tutorial/*.ipynb" in ignored
