"""The magnetisation across the two vacua: how often a chain changes sign, what that makes of
its τ_int(M), and the histories of HMC's chains beside the corrected diffusion sampler's.

In the broken phase M = Σφ sits near +V·m₀ or −V·m₀ and a Markov chain of local or
Hamiltonian moves crosses between them only through a rare interface. If it flips sign f times
in N updates (all chains together), M is close to a telegraph signal of rate r = f/N, with
autocorrelation ρ(t) = e^{−2rt}, so τ_int(M) = ½ + Σ_{t≥1} ρ(t) ≈ 1/(2r) = N/(2f). With f = 0
the rate is below 3/N at 95% confidence (the Poisson bound), so τ_int(M) > N/6: a lower bound,
and the Γ-method's own τ_int(M) within stuck chains (short, because each chain's M barely
moves) is then not to be trusted. A flip is counted when M crosses zero between two updates.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ...plotting import save_figure  # noqa: E402


def sign_flips(m) -> dict:
    """m (R, N): per-site magnetisation of R chains in Markov order.

    Returns {"flips": f, "updates": R·N, "tau_int_M": N_total/(2f), or N_total/6 with f = 0,
    "bound": True when τ_int(M) is only the lower bound}.
    """
    m = np.atleast_2d(np.asarray(m, dtype=np.float64))
    flips = int(np.sum(np.sign(m[:, 1:]) != np.sign(m[:, :-1])))
    updates = int(m.size)
    if flips:
        return {"flips": flips, "updates": updates, "tau_int_M": updates / (2 * flips),
                "bound": False}
    return {"flips": 0, "updates": updates, "tau_int_M": updates / 6, "bound": True}


def plot_histories(hmc_m, mh_m, path, title, chains=2):
    """Two of HMC's chains (one from each vacuum where both are held) and the corrected
    diffusion chain, M/V against the update, with the histograms of M/V at the right."""
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(11, 3.3),
                                     gridspec_kw={"width_ratios": [3, 3, 1.3]})
    hmc_m = np.atleast_2d(hmc_m)
    # a chain from each vacuum where there are two (the first of each sign), else the first
    means = hmc_m.mean(axis=1)
    shown = [int(np.argmax(means > 0)), int(np.argmax(means < 0))]
    if not (np.any(means > 0) and np.any(means < 0)):
        shown = list(range(min(chains, len(hmc_m))))
    for i, k in enumerate(shown[:chains]):
        a1.plot(hmc_m[k], lw=0.6, color=["k", "0.55"][i % 2], label=f"HMC chain {k + 1}")
    a1.set_title("HMC (one trajectory an update)", fontsize=10)
    a2.plot(mh_m, lw=0.6, color="tab:blue")
    a2.set_title("diffusion + Metropolis–Hastings (one proposal an update)", fontsize=10)
    lim = 1.1 * max(np.abs(hmc_m).max(), np.abs(mh_m).max())
    bins = np.linspace(-lim, lim, 41)
    a3.hist(hmc_m.ravel(), bins, orientation="horizontal", density=True, color="k",
            alpha=0.5, label="HMC, all chains")
    a3.hist(mh_m, bins, orientation="horizontal", density=True, histtype="step",
            color="tab:blue", lw=1.5, label="diffusion + MH")
    for a in (a1, a2, a3):
        a.set_ylim(-lim, lim)
        a.axhline(0, color="0.8", lw=0.5)
    a1.set_ylabel("M / V")
    a1.set_xlabel("update")
    a2.set_xlabel("update")
    a1.legend(fontsize=7, loc="center right")
    a3.legend(fontsize=7, loc="upper right")
    a3.set_xticks([])
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    save_figure(fig, path, bbox_inches=None)
