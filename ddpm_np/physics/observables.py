"""Observables of lattice φ⁴ (definitions of Albergo, Kanwar & Shanahan 2019, sec. IV):

    M = Σₓ φₓ                         magnetisation; reported per site, m = ⟨M⟩/V and ⟨|M|⟩/V
    G(x) = (1/V)·Σ_y ⟨φ_y·φ_{y+x}⟩      two-point function; connected G_c = G − ⟨φ⟩², and
                                       ⟨φ⟩ = 0 by the Z₂ symmetry, so G_c = G
    χ₂ = Σₓ G_c(x) = ⟨M²⟩/V            two-point susceptibility
    E = ½·[G(1,0) + G(0,1)]            Ising energy density
    G̃(t) = Σ_{x₁} G(x₁, t)             zero-momentum correlator (averaged over both axes)
    m_eff(t) = arccosh[(G̃(t−1) + G̃(t+1)) / (2·G̃(t))],   L/ξ = L·m_p with m_p the mean of
                                       m_eff(t) over t = 1..L/2 (for G̃ ∝ cosh(m(t − L/2)),
                                       m_eff(t) = m at every t)
    U = 1 − ⟨M⁴⟩/(3·⟨M²⟩²)             Binder cumulant

Each observable is a function of the means of a few per-configuration "primaries"; the errors
come from the Γ-method for Markov chains and from the jackknife for weighted independent
samples (reweighting), through the same functions.
"""
from __future__ import annotations

import numpy as np

from .errors import gamma_method, jackknife

REPORTED = ("m", "abs_m", "chi2", "e_ising", "binder", "L_over_xi")


def per_config(phi):
    """The primaries of every configuration of phi (..., L, L): an array (..., 5 + L) of
    [M/V, |M|/V, M²/V, M⁴/V², E, G̃(0), …, G̃(L−1)]."""
    phi = np.asarray(phi, dtype=np.float64)
    L = phi.shape[-1]
    V = L * L
    M = phi.sum(axis=(-2, -1))
    f = np.fft.fft2(phi)
    G = np.fft.ifft2(f * np.conj(f)).real / V           # G(x) = (1/V) Σ_y φ_y φ_{y+x}
    E = 0.5 * (G[..., 1, 0] + G[..., 0, 1])
    Gt = 0.5 * (G.sum(axis=-1) + G.sum(axis=-2))        # Σ over the other axis, both ways
    head = np.stack([M / V, np.abs(M) / V, M ** 2 / V, M ** 4 / V ** 2, E], axis=-1)
    return np.concatenate([head, Gt], axis=-1)


def effective_mass(Gt):
    """m_eff(t) for t = 1..L−1 from G̃(0..L−1) (periodic: G̃(L) = G̃(0)); NaN where the
    argument of arccosh is below 1."""
    Gt = np.asarray(Gt, dtype=np.float64)
    nxt = np.roll(Gt, -1, axis=-1)
    prv = np.roll(Gt, 1, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        arg = (prv + nxt) / (2 * Gt)
        m = np.where(arg >= 1, np.arccosh(np.maximum(arg, 1)), np.nan)
    return m[..., 1:]


def _l_over_xi(means):
    Gt = means[5:]
    L = len(Gt)
    return L * float(np.mean(effective_mass(Gt)[:L // 2]))


OBSERVABLES = {
    "m": lambda m: m[0],
    "abs_m": lambda m: m[1],
    "chi2": lambda m: m[2],
    "e_ising": lambda m: m[4],
    "binder": lambda m: 1 - m[3] / (3 * m[2] ** 2),
    "L_over_xi": _l_over_xi,
}


def estimate_all(primaries, weights=None):
    """{name: [mean, error]} of every observable in OBSERVABLES, plus "G_t" and "m_eff"
    (lists of [mean, error] per t) and "tau_int" ({name: τ_int} for chains).

    primaries: (R, N, A) or (N, A) from per_config, in Markov-chain order (Γ-method), or, with
    weights (N,), independent samples weighted wᵢ (jackknife of Σw·O/Σw).
    """
    P = np.asarray(primaries, dtype=np.float64)
    L = P.shape[-1] - 5
    funcs = dict(OBSERVABLES)
    funcs.update({f"G_t{t}": (lambda m, t=t: m[5 + t]) for t in range(L)})
    funcs.update({f"m_eff{t}": (lambda m, t=t: effective_mass(m[5:])[t - 1])
                  for t in range(1, L)})
    out, taus = {}, {}
    for name, f in funcs.items():
        if weights is None:
            r = gamma_method(P, f=f)
            value, error = r["value"], r["error"]
            taus[name] = r["tau_int"]
        else:
            w = np.asarray(weights, dtype=np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):   # a block of zero weight
                value, error = jackknife(lambda w, p, f=f: f((w @ p) / w.sum()), w, P)
        out[name] = [value, error]
    out["G_t"] = [out.pop(f"G_t{t}") for t in range(L)]
    out["m_eff"] = [out.pop(f"m_eff{t}") for t in range(1, L)]
    if weights is None:
        out["tau_int"] = {k: v for k, v in taus.items() if k in OBSERVABLES}
    return out
