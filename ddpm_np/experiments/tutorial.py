"""What the tutorial's chapters (tutorial/*.py) share: quick settings, and where figures go.

DDPM_NP_TUTORIAL_QUICK=1 makes every chapter run in seconds (the test suite runs them so);
DDPM_NP_TUTORIAL_OUT=DIR sends their figures to DIR (default: tutorial/figures).
"""
from __future__ import annotations

import os
from pathlib import Path

QUICK, OUT = "DDPM_NP_TUTORIAL_QUICK", "DDPM_NP_TUTORIAL_OUT"


def quick() -> bool:
    """Run with small settings (tests)."""
    return os.environ.get(QUICK, "") not in ("", "0")


def pick(full, small):
    """`full` normally, `small` in quick mode."""
    return small if quick() else full


def figures_dir() -> Path:
    if os.environ.get(OUT):
        folder = Path(os.environ[OUT])
    else:
        here = Path.cwd()
        folder = (here if here.name == "tutorial" else here / "tutorial") / "figures"
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
