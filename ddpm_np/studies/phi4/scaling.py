"""Scaling of the φ⁴ study with the lattice size: acceptance, τ_int (critical slowing down of
the Markov chains beside the corrected diffusion sampler) and the cost of an independent
sample, from the report.json of studies at several L, in one figure and one table.

    python -m ddpm_np.studies.phi4.scaling runs/phi4-L4 runs/phi4-L6 runs/phi4-L8 \
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


def load(folders) -> list[dict]:
    reports = []
    for folder in folders:
        path = Path(folder) / "report.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist: run ddpm-np phi4 --out {folder}")
        reports.append(json.loads(path.read_text()))
    return sorted(reports, key=lambda r: r["config"]["L"])


def rows(reports) -> list[dict]:
    """One row per L: the figures the scaling is about."""
    out = []
    for r in reports:
        c, cost, sec = r["config"], r["seconds_per_independent_sample"], r["seconds"]
        out.append({
            "L": c["L"], "lam": c["lam"], "acceptance": r["acceptance"]["mh"],
            "ess": r["ess_per_sample"]["diffusion"], "tau_hmc": r["tau_int"]["hmc"],
            "tau_local": r["tau_int"]["local_metropolis"], "tau_mh": r["tau_int"]["mh"],
            "cost_local": cost["local_metropolis"], "cost_hmc": cost["hmc"],
            "cost_mh": cost["diffusion_mh"], "cost_mh_sampling": cost["diffusion_mh_sampling_only"],
            "proposal_seconds": sec.get("sample", 0) / r["proposals"],
            "study_minutes": sum(sec.values()) / 60,
            "within_2sigma": r["mh_within_2_sigma"], "max_sigma": r["mh_max_sigma"]})
    return out


def table(reports) -> str:
    head = ("| L | λ | MH acceptance | ESS/N | τ_int local / HMC / MH | s per independent "
            "sample: local / HMC / diffusion+MH (sampling only) | s per proposal | study min |")
    lines = [head, "|" + "---|" * 8]
    for r in rows(reports):
        lines.append(
            f"| {r['L']} | {r['lam']} | {r['acceptance']:.2f} | {r['ess']:.2f} | "
            f"{r['tau_local']:.1f} / {r['tau_hmc']:.1f} / {r['tau_mh']:.1f} | "
            f"{r['cost_local']:.1e} / {r['cost_hmc']:.1e} / {r['cost_mh']:.1e} "
            f"({r['cost_mh_sampling']:.1e}) | {r['proposal_seconds']:.3f} | "
            f"{r['study_minutes']:.1f} |")
    return "\n".join(lines)


def plot(reports, path):
    rs = rows(reports)
    Ls = [r["L"] for r in rs]
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(13, 3.6))
    a1.plot(Ls, [r["acceptance"] for r in rs], "o-", label="MH acceptance")
    a1.plot(Ls, [r["ess"] for r in rs], "s-", label="ESS / N")
    a1.set_ylim(0, 1)
    a1.set_title("the corrected diffusion sampler", fontsize=10)
    a2.plot(Ls, [r["tau_local"] for r in rs], "o-", color="0.5", label="local Metropolis")
    a2.plot(Ls, [r["tau_hmc"] for r in rs], "o-", color="k", label="HMC")
    a2.plot(Ls, [r["tau_mh"] for r in rs], "o-", color="tab:blue", label="diffusion + MH")
    a2.set_yscale("log")
    a2.set_title("τ_int (largest over observables) at L/ξ ≈ 4", fontsize=10)
    a3.plot(Ls, [r["cost_local"] for r in rs], "o-", color="0.5", label="local Metropolis")
    a3.plot(Ls, [r["cost_hmc"] for r in rs], "o-", color="k", label="HMC")
    a3.plot(Ls, [r["cost_mh"] for r in rs], "o-", color="tab:blue",
            label="diffusion + MH (with training)")
    a3.plot(Ls, [r["cost_mh_sampling"] for r in rs], "o--", color="tab:cyan",
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
    p.add_argument("--out", default="phi4_scaling.png", help="the figure (PNG)")
    args = p.parse_args(argv)
    try:
        reports = load(args.studies)
    except FileNotFoundError as e:
        print(f"phi4_scaling: error: {e}", file=sys.stderr)
        return 2
    plot(reports, args.out)
    print(table(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
