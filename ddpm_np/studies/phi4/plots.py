"""The φ⁴ study's figures, from its report (report.json): observables of each sampler against
HMC, acceptance and ESS over training, the correlator and effective mass, τ_int and the cost
of an independent sample."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ...plotting import save_figure  # noqa: E402

LABELS = {"m": "⟨M⟩/V", "abs_m": "⟨|M|⟩/V", "chi2": "χ₂", "e_ising": "E (Ising)",
          "binder": "Binder U", "L_over_xi": "L/ξ"}
COLOURS = {"hmc": "k", "local": "0.5", "raw": "tab:red", "reweighted": "tab:orange",
           "mh": "tab:blue"}
NAMES = {"hmc": "HMC", "local": "local Metropolis", "raw": "diffusion, raw",
         "reweighted": "diffusion, reweighted", "mh": "diffusion + MH"}


def plot_observables(report, path):
    keys = list(LABELS)
    fig, axes = plt.subplots(1, len(keys), figsize=(2.3 * len(keys), 3.2))
    for ax, k in zip(axes, keys):
        for i, s in enumerate(("hmc", "local", "raw", "reweighted", "mh")):
            v, e = report[s][k]
            ax.errorbar([i], [v], [e], fmt="o", color=COLOURS[s], capsize=3)
        h, he = report["hmc"][k]
        ax.axhspan(h - he, h + he, color="k", alpha=0.12)
        ax.set_title(LABELS[k], fontsize=10)
        ax.set_xticks(range(5))
        ax.set_xticklabels(["HMC", "local", "raw", "rew.", "MH"], rotation=60, fontsize=8)
    c = report["config"]
    fig.suptitle(f"φ⁴ on {c['L']}×{c['L']}, m²={c['m2']}, λ={c['lam']}: observables (±1σ)",
                 fontsize=11)
    fig.tight_layout()
    save_figure(fig, path, bbox_inches=None)


def plot_training(report, path):
    curve = report["training_curve"]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    if curve:
        steps = [r["step"] for r in curve]
        ax.plot(steps, [r["acceptance"] for r in curve], "o-", label="MH acceptance")
        ax.plot(steps, [r["ess_per_sample"] for r in curve], "s-", label="ESS / N")
    ax.set_xlabel("training step")
    ax.set_ylim(0, 1)
    ax.set_title("the proposal during training (a few proposals at each checkpoint)",
                 fontsize=10)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path, bbox_inches=None)


def plot_correlator(report, path):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
    for s in ("hmc", "raw", "mh"):
        G = np.array(report["correlator"][s]["G_t"])
        m = np.array(report["correlator"][s]["m_eff"])
        off = {"hmc": -0.1, "raw": 0, "mh": 0.1}[s]
        a1.errorbar(np.arange(len(G)) + off, G[:, 0], G[:, 1], fmt="o-", color=COLOURS[s],
                    label=NAMES[s], capsize=2)
        a2.errorbar(np.arange(1, len(m) + 1) + off, m[:, 0], m[:, 1], fmt="o-",
                    color=COLOURS[s], label=NAMES[s], capsize=2)
    a1.set_yscale("log")
    a1.set_xlabel("t")
    a1.set_title("zero-momentum correlator G̃(t)", fontsize=10)
    a2.set_xlabel("t")
    a2.set_title("effective mass m_eff(t)", fontsize=10)
    a1.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, bbox_inches=None)


def plot_cost(report, path):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
    names = ["local_metropolis", "hmc", "mh"]
    labels = ["local\nMetropolis", "HMC", "diffusion\n+ MH"]
    a1.bar(labels, [report["tau_int"][n] for n in names], color=["0.5", "k", "tab:blue"])
    a1.set_ylabel("τ_int (largest over observables)")
    cost = report["seconds_per_independent_sample"]
    vals = [cost["local_metropolis"], cost["hmc"], cost["diffusion_mh"]]
    a2.bar(labels, vals, color=["0.5", "k", "tab:blue"])
    a2.bar(labels[2:], [cost["diffusion_mh_sampling_only"]], color="tab:cyan",
           label="diffusion: sampling only")
    a2.bar([], [], color="tab:blue", label="diffusion: training included")
    a2.set_yscale("log")
    a2.set_ylabel("seconds per independent sample")
    a2.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, bbox_inches=None)


def _nan(v):
    """The report's nulls (undefined observables) back to NaN, which the plots skip."""
    if isinstance(v, dict):
        return {k: _nan(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_nan(x) for x in v]
    return float("nan") if v is None else v


def plot_report(report, out):
    report = _nan(report)
    plot_observables(report, out / "observables.png")
    plot_training(report, out / "training.png")
    plot_correlator(report, out / "correlator.png")
    plot_cost(report, out / "cost.png")
