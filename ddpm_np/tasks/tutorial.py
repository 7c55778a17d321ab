"""What the tutorial's chapters (tutorial/*.py) share: quick settings, and where figures go.

DDPM_NP_TUTORIAL_QUICK=1 makes every chapter run in seconds (the test suite runs them so);
DDPM_NP_TUTORIAL_OUT=DIR sends their figures to DIR (default: runs/tutorial, which git ignores;
the pictures in tutorial/figures, which the READMEs show, are made with
DDPM_NP_TUTORIAL_OUT=tutorial/figures).
"""
from __future__ import annotations

from pathlib import Path

from .. import environment

QUICK, OUT = "DDPM_NP_TUTORIAL_QUICK", "DDPM_NP_TUTORIAL_OUT"


def _decide_blas_threads():
    """As every `ddpm-np` command does: on the fast tier the BLAS runs on one thread from the
    start of a chapter (nn/fast/threads.py says why)."""
    from ..nn import default_tier
    from ..nn.fast import hold_blas
    if default_tier() == "fast":
        hold_blas()


_decide_blas_threads()


def quick() -> bool:
    """Run with small settings (tests)."""
    return environment.switch(QUICK, False)


def pick(full, small):
    """`full` normally, `small` in quick mode."""
    return small if quick() else full


def figures_dir() -> Path:
    """$DDPM_NP_TUTORIAL_OUT, else runs/tutorial: running a chapter changes no tracked file."""
    folder = Path(environment.value(OUT) or Path("runs") / "tutorial")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def show(fig, name: str) -> Path:
    """Save `fig` as figures/NAME.png; in a notebook it also shows below the cell."""
    import matplotlib
    import matplotlib.pyplot as plt
    path = figures_dir() / f"{name}.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    if "inline" in matplotlib.get_backend():
        plt.show()
    else:
        plt.close(fig)
    print(f"figure: {path}")
    return path
