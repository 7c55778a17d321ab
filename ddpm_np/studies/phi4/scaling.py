"""Scaling of the φ⁴ study with the lattice size: acceptance, τ_int (critical slowing down of
the Markov chains beside the corrected diffusion sampler) and the cost of an independent
sample, from the report.json of studies at several L, in one figure and one table. Rows
measured before (a JSON file of rows, --rows) are drawn beside them; the route of each point is
its marker (filled: the flow's exact Jacobian; open: the ancestral path's weight).

    python -m ddpm_np.studies.phi4.scaling runs/phi4-L4 runs/phi4-L6 runs/phi4-L8 \
        --out docs/phi4_scaling.png
    python -m ddpm_np.studies.phi4.scaling runs/phi4-L16 --rows docs/phi4_scaling.json \
        --out docs/phi4_scaling.png
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ...plotting import save_figure  # noqa: E402

ROW_KEYS = ("L", "lam", "route", "acceptance", "ess", "tau_hmc", "tau_local", "tau_mh",
            "cost_local", "cost_hmc", "cost_mh", "cost_mh_sampling", "proposal_seconds",
            "study_minutes", "within_2sigma", "max_sigma")
DIFFUSION_KEYS = ("acceptance", "ess", "tau_mh", "cost_mh", "cost_mh_sampling")


def load(folders) -> list[dict]:
    reports = []
    for folder in folders:
        path = Path(folder) / "report.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist: run ddpm-np phi4 --out {folder}")
        reports.append(json.loads(path.read_text()))
    return sorted(reports, key=lambda r: r["config"]["L"])


def load_rows(path) -> list[dict]:
    """Rows from a JSON file {"rows": [...]}, each with every key a row of `rows` has."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        rs = json.loads(path.read_text())["rows"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ValueError(f"{path} is not a JSON object with a list of rows") from None
    for r in rs:
        missing = sorted(set(ROW_KEYS) - set(r))
        if missing:
            raise ValueError(f"{path}: a row lacks {', '.join(missing)}")
    return rs


def rows(reports) -> list[dict]:
    """One row per L: the figures the scaling is about."""
    out = []
    for r in reports:
        c, cost, sec = r["config"], r["seconds_per_independent_sample"], r["seconds"]
        out.append({
            "L": c["L"], "lam": c["lam"], "route": c.get("route", "flow"),
            "acceptance": r["acceptance"]["mh"],
            "ess": r["ess_per_sample"]["diffusion"], "tau_hmc": r["tau_int"]["hmc"],
            "tau_local": r["tau_int"]["local_metropolis"], "tau_mh": r["tau_int"]["mh"],
            "cost_local": cost["local_metropolis"], "cost_hmc": cost["hmc"],
            "cost_mh": cost["diffusion_mh"], "cost_mh_sampling": cost["diffusion_mh_sampling_only"],
            "proposal_seconds": sec.get("sample", 0) / r["proposals"],
            "study_minutes": sum(sec.values()) / 60,
            "within_2sigma": r["mh_within_2_sigma"], "max_sigma": r["mh_max_sigma"]})
    return out


def table(rs) -> str:
    head = ("| L | λ | route | MH acceptance | ESS/N | τ_int local / HMC / MH | s per "
            "independent sample: local / HMC / diffusion+MH (sampling only) | s per proposal | "
            "study min |")
    lines = [head, "|" + "---|" * 9]
    for r in rs:
        lines.append(
            f"| {r['L']} | {r['lam']} | {r['route']} | {r['acceptance']:.2f} | {r['ess']:.2f} | "
            f"{r['tau_local']:.1f} / {r['tau_hmc']:.1f} / {r['tau_mh']:.1f} | "
            f"{r['cost_local']:.1e} / {r['cost_hmc']:.1e} / {r['cost_mh']:.1e} "
            f"({r['cost_mh_sampling']:.1e}) | {r['proposal_seconds']:.3f} | "
            f"{r['study_minutes']:.1f} |")
    return "\n".join(lines)


def _series(ax, rs, key, fmt, **kw):
    """A line through every row; a diffusion sampler's points filled (flow) or open (path)."""
    Ls = [r["L"] for r in rs]
    ax.plot(Ls, [r[key] for r in rs], fmt[-1], **kw)
    for r in rs:
        open_ = r["route"] == "path" and key in DIFFUSION_KEYS
        ax.plot([r["L"]], [r[key]], fmt[0], color=kw.get("color"),
                mfc="none" if open_ else kw.get("color"), ms=6)


def plot(rs, path):
    Ls = [r["L"] for r in rs]
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(13, 3.6))
    _series(a1, rs, "acceptance", "o-", color="tab:blue", label="MH acceptance")
    _series(a1, rs, "ess", "s-", color="tab:orange", label="ESS / N")
    a1.set_ylim(0, 1)
    a1.set_title("the corrected diffusion sampler (open: path route)", fontsize=10)
    _series(a2, rs, "tau_local", "o-", color="0.5", label="local Metropolis")
    _series(a2, rs, "tau_hmc", "o-", color="k", label="HMC")
    _series(a2, rs, "tau_mh", "o-", color="tab:blue", label="diffusion + MH")
    a2.set_yscale("log")
    a2.set_title("τ_int (largest over observables) at L/ξ ≈ 4", fontsize=10)
    _series(a3, rs, "cost_local", "o-", color="0.5", label="local Metropolis")
    _series(a3, rs, "cost_hmc", "o-", color="k", label="HMC")
    _series(a3, rs, "cost_mh", "o-", color="tab:blue", label="diffusion + MH (with training)")
    _series(a3, rs, "cost_mh_sampling", "o--", color="tab:cyan",
            label="diffusion + MH (sampling only)")
    a3.set_yscale("log")
    a3.set_title("seconds per independent sample", fontsize=10)
    for ax in (a1, a2, a3):
        ax.set_xlabel("L")
        ax.set_xticks(Ls)
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, bbox_inches=None)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("studies", nargs="+", help="folders of ddpm-np phi4 studies")
    p.add_argument("--rows", help="a JSON file of rows measured before ({\"rows\": [...]})")
    p.add_argument("--out", default="phi4_scaling.png", help="the figure (PNG)")
    args = p.parse_args(argv)
    try:
        rs = rows(load(args.studies)) + (load_rows(args.rows) if args.rows else [])
    except (FileNotFoundError, ValueError) as e:
        print(f"phi4_scaling: error: {e}", file=sys.stderr)
        return 2
    rs = sorted(rs, key=lambda r: (r["L"], r["route"]))
    plot(rs, args.out)
    print(table(rs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
