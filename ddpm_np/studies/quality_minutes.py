"""Quality against training minutes (docs/results.md, "Quality per CPU-minute"): MNIST runs
of `ddpm-np train`, each measured by `ddpm-np evaluate --out NAME.eval.json`, grouped into
recipes; one table (JSON) and one figure of the Fréchet ratio, the share read as requested and
the bound against the minutes of training.

    python -m ddpm_np.studies.quality_minutes collect runs \\
        --recipe "today's=today-600,today-1800,shipped:52.3" --recipe "short=short-600,..." \\
        --out docs/quality_minutes.json
    python -m ddpm_np.studies.quality_minutes plot docs/quality_minutes.json \\
        --out docs/quality_minutes.png

A run NAME is its metrics NAME.eval.json (which names the checkpoint's step); its minutes are
NAME.train.log's last line, the wall seconds as `/usr/bin/time -f "%e s"` writes
them, unless given as NAME:MINUTES (a run timed elsewhere, such as the shipped model).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..plotting import save_figure  # noqa: E402


def _minutes_from_log(path: Path) -> float:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: give the run's minutes as NAME:MINUTES")
    for line in reversed(path.read_text().splitlines()):
        parts = line.split()
        if len(parts) == 2 and parts[1] == "s":
            try:
                return float(parts[0]) / 60
            except ValueError:
                pass
    raise ValueError(f"{path} ends with no wall time (a line '<seconds> s'); give NAME:MINUTES")


def run_row(folder, name: str) -> dict:
    """One run's figures: steps, minutes, Fréchet ratio, share as requested, bits/dim ± se."""
    folder = Path(folder)
    name, _, minutes = name.partition(":")
    metrics_path = folder / f"{name}.eval.json"
    if not metrics_path.is_file():
        raise FileNotFoundError(f"{metrics_path} does not exist: run ddpm-np evaluate --out it")
    m = json.loads(metrics_path.read_text())
    return {"run": name, "steps": m.get("checkpoint_step"),
            "minutes": float(minutes) if minutes else
            _minutes_from_log(folder / f"{name}.train.log"),
            "frechet_ratio": m["frechet_ratio"], "share_as_requested": m["share_as_requested"],
            "bits_per_dim": m.get("test_bits_per_dim"),
            "bits_per_dim_stderr": m.get("test_bits_per_dim_stderr")}


def collect(folder, recipes: dict[str, list[str]]) -> dict:
    """{recipe: [rows, by minutes]} from runs in `folder`."""
    return {recipe: sorted((run_row(folder, n) for n in names), key=lambda r: r["minutes"])
            for recipe, names in recipes.items()}


# docs/results.md's targets for a model of the default size: the bound, and the share read as
# requested that a recipe must keep to count as better than the shipped model
TARGETS = {"share_as_requested": 0.99, "bits_per_dim": 1.5}


def plot(table: dict, out) -> Path:
    """Three panels against training minutes, the targets dashed; a recipe of one run is a
    single marker."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    panels = [("frechet_ratio", "Fréchet ratio (1 = test set)"),
              ("share_as_requested", "share read as the requested digit"),
              ("bits_per_dim", "bound, bits/dim (test set)")]
    for ax, (key, label) in zip(axes, panels):
        ax.set_prop_cycle(color=plt.cm.tab20.colors)   # a colour for each of up to 20 recipes
        for recipe, rows in table.items():
            rows = [r for r in rows if r.get(key) is not None]
            if not rows:
                continue
            x = [r["minutes"] for r in rows]
            y = [r[key] for r in rows]
            style = "o-" if len(rows) > 1 else "s"
            if key == "bits_per_dim":
                ax.errorbar(x, y, yerr=[r["bits_per_dim_stderr"] or 0 for r in rows],
                            fmt=style, capsize=3, label=recipe)
            else:
                ax.plot(x, y, style, label=recipe)
        if key in TARGETS:
            ax.axhline(TARGETS[key], color="0.5", ls="--", lw=1)
            ax.annotate("target", (1, TARGETS[key]), xycoords=("axes fraction", "data"),
                        ha="right", va="bottom", fontsize=8, color="0.4")
        if key == "bits_per_dim":
            ax.set_yscale("log")   # a poorly trained recipe's bound is ten times the others'
            for axis in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):
                axis(plt.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("training minutes (2 cores)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[1].yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    axes[0].legend(fontsize=8)
    fig.suptitle("MNIST: quality against training time (DDIM-50, guidance 0.5, 1,000 samples)")
    fig.tight_layout()
    out = Path(out)
    save_figure(fig, out, bbox_inches=None)
    return out


def _recipe(text: str) -> tuple[str, list[str]]:
    label, sep, names = text.partition("=")
    if not sep or not names:
        raise argparse.ArgumentTypeError(f"--recipe takes LABEL=RUN,RUN,…, got {text!r}")
    return label, names.split(",")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m ddpm_np.studies.quality_minutes",
                                description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="the table from evaluated runs")
    c.add_argument("folder")
    c.add_argument("--recipe", type=_recipe, action="append", required=True)
    c.add_argument("--out", required=True)
    f = sub.add_parser("plot", help="the figure from the table")
    f.add_argument("table")
    f.add_argument("--out", required=True)
    args = p.parse_args(argv)
    try:
        if args.command == "collect":
            table = collect(args.folder, dict(args.recipe))
            Path(args.out).write_text(json.dumps(table, indent=1) + "\n")
        else:
            plot(json.loads(Path(args.table).read_text()), args.out)
    except (OSError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
