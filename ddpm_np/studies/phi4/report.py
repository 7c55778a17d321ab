"""The φ⁴ study's report: observables of every sampler with errors, the bias of the raw model
and its removal, acceptance, ESS, τ_int and the cost of an independent sample; and the figures.

    hmc         the reference: HMC chains apart from the training set (Γ-method errors)
    local       local Metropolis (Γ-method): an independent check of HMC, and the naive cost
    raw         the proposals as they come, each counted once: biased by the model's error
    reweighted  ⟨O⟩ = Σ wᵢOᵢ/Σ wᵢ, wᵢ = e^{−S}/q (jackknife errors)
    mh          the independence Metropolis–Hastings chain over the proposals (Γ-method)
"""
from __future__ import annotations

import json

import numpy as np

from ...run.checkpoint import atomic_write
from ...physics import (REPORTED, estimate_all, ess_per_sample, independence_mh, per_config,
                       reweight)
from .state import read_arrays
from .tunnelling import plot_histories, sign_flips

SAMPLERS = ("hmc", "local", "raw", "reweighted", "mh")
COMPARED = ("m", "abs_m", "chi2", "e_ising", "binder", "L_over_xi")


def _tau(est) -> float:
    """The sampler's τ_int: the largest over the reported observables (the slowest mode
    bounds how many samples are independent)."""
    return float(max(est["tau_int"][k] for k in REPORTED))


def deviation(a, b) -> float:
    """(a − b)/√(σ_a² + σ_b²): how many combined standard errors apart two estimates are."""
    return float((a[0] - b[0]) / np.hypot(a[1], b[1]))


def chains(study):
    """(primaries of HMC's reference chains, of local Metropolis's, of the proposals; the
    Metropolis–Hastings chain's proposal at each step and its acceptances)."""
    hmc_npz = read_arrays(study.out / "hmc.npz", ("reference", "local"))
    props = read_arrays(study.out / "proposals.npz", ("phi", "log_w"))
    index, accepted = independence_mh(props["log_w"],
                                      np.random.default_rng([study.config.seed, 8]))
    return hmc_npz, per_config(props["phi"]), props["log_w"], index, accepted


def magnetisation(est, series, seconds_per_update) -> dict:
    """Sign flips and τ_int(M) of each chain (tunnelling.py): the Γ-method's, the telegraph
    estimate from the flips, and the larger of the two, with the seconds an independent M
    costs at that τ."""
    out = {}
    for name, m in series.items():
        r = sign_flips(m)
        r["tau_int_gamma"] = float(est[name]["tau_int"]["m"])
        r["tau_int"] = max(r["tau_int_gamma"], r["tau_int_M"])
        r["seconds_per_independent_M"] = seconds_per_update[name] * 2 * r["tau_int"]
        out[name] = r
    return out


def build_report(study) -> dict:
    c, st = study.config, study.state
    hmc_npz, P, log_w, index, accepted = chains(study)
    est = {"hmc": estimate_all(hmc_npz["reference"]), "local": estimate_all(hmc_npz["local"]),
           "raw": estimate_all(P[None]), "reweighted": estimate_all(P, reweight(log_w)),
           "mh": estimate_all(P[index][None])}
    N = len(P)
    sec = dict(st["seconds"])
    diffusion_seconds = sec.get("train", 0) + sec.get("sample", 0)
    tau = {"hmc": _tau(est["hmc"]), "local_metropolis": _tau(est["local"]),
           "mh": _tau(est["mh"])}
    report = {s: {k: est[s][k] for k in COMPARED} for s in SAMPLERS}
    report.update({
        "config": st["config"],
        "acceptance": {"hmc": st["hmc"]["acceptance"],
                       "local_metropolis": st["local"]["acceptance"],
                       "mh": float(accepted.mean())},
        "ess_per_sample": {"diffusion": ess_per_sample(log_w)},
        "tau_int": tau,
        "tau_int_by_observable": {s: est[s]["tau_int"] for s in ("hmc", "local", "mh")},
        "seconds": sec,
        "seconds_per_independent_sample": {
            "hmc": st["hmc"]["seconds"] / st["hmc"]["samples"] * 2 * tau["hmc"],
            "local_metropolis": st["local"]["seconds"] / st["local"]["samples"]
            * 2 * tau["local_metropolis"],
            "diffusion_mh": diffusion_seconds / N * 2 * tau["mh"],
            "diffusion_mh_sampling_only": sec.get("sample", 0) / N * 2 * tau["mh"]},
        "deviation_from_hmc_in_sigma": {
            s: {k: deviation(est[s][k], est["hmc"][k]) for k in COMPARED}
            for s in ("local", "raw", "reweighted", "mh")},
        "correlator": {s: {"G_t": est[s]["G_t"], "m_eff": est[s]["m_eff"]}
                       for s in ("hmc", "raw", "mh")},
        "training_curve": st.get("training_curve", []),
        "proposals": N,
        "sampler": study.sampler_name(),
        "magnetisation": magnetisation(est, {
            "hmc": hmc_npz["reference"][..., 0], "local": hmc_npz["local"][..., 0],
            "mh": P[index][None, :, 0]}, {
            "hmc": st["hmc"]["seconds"] / st["hmc"]["samples"],
            "local": st["local"]["seconds"] / st["local"]["samples"],
            "mh": diffusion_seconds / N}),
    })
    dev = report["deviation_from_hmc_in_sigma"]["mh"]
    within = [abs(v) <= 2 for v in dev.values()]
    report["mh_within_2_sigma"] = float(np.mean(within))
    report["mh_max_sigma"] = float(np.nanmax(np.abs(list(dev.values()))))
    return report


def _largest(devs) -> float:
    vals = [abs(v) for v in devs.values() if v is not None]
    return max(vals) if vals else float("nan")


def _json_safe(v):
    """NaN (an observable undefined for these samples) as null: report.json stays JSON."""
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def write_report(study):
    report = _json_safe(build_report(study))
    text = json.dumps(report, indent=1, allow_nan=False)
    atomic_write(study.out / "report.json", lambda f: f.write(text.encode()))
    from .plots import plot_report
    plot_report(report, study.out)
    c = study.config
    hmc_npz, P, _, index, _ = chains(study)
    plot_histories(hmc_npz["reference"][..., 0], P[index][:, 0], study.out / "magnetisation.png",
                   f"M/V on {c.L}×{c.L}, λ = {c.lam:g}: HMC beside the corrected sampler")
    r, d = report, report["deviation_from_hmc_in_sigma"]
    study.log(f"MH acceptance {r['acceptance']['mh']:.2f}, ESS/N "
              f"{r['ess_per_sample']['diffusion']:.2f}; largest deviation from HMC: raw "
              f"{_largest(d['raw']):.1f}σ, corrected {_largest(d['mh']):.1f}σ; τ_int(M): HMC "
              f"{'>' if r['magnetisation']['hmc']['bound'] else ''}"
              f"{r['magnetisation']['hmc']['tau_int']:.1f}, diffusion + MH "
              f"{r['magnetisation']['mh']['tau_int']:.1f}; report in "
              f"{study.out / 'report.json'}")
    return report
