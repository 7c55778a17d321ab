"""The φ⁴ study on route path (the ancestral chain's path weight, O(V) a step): it runs past
the exact Jacobian's limit, records its route, reports the magnetisation's sign flips and
τ_int(M); a study recorded before the route existed still continues; the telegraph estimate
of τ_int(M) against a signal of known rate."""
import json

import numpy as np
import pytest

from ddpm_np.studies.phi4.study import Phi4Config, Phi4Study, run_phi4
from ddpm_np.studies.phi4.tunnelling import sign_flips

QUIET = dict(progress=False, log=lambda *a: None)


@pytest.fixture(scope="module")
def path_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("phi4") / "L12"
    return out, run_phi4(12, out=out, quick=True, proposals=32, **QUIET)


def test_route_path_runs_beyond_the_jacobian_limit(path_study):
    out, report = path_study
    assert report["config"]["route"] == "path" and report["config"]["L"] == 12
    assert report["sampler"].startswith("the ancestral path in 50 steps")
    assert (out / "magnetisation.png").stat().st_size > 5000
    props = np.load(out / "proposals.npz")
    assert props["phi"].shape == (32, 12, 12) and np.all(np.isfinite(props["log_w"]))
    np.testing.assert_allclose(props["log_w"], -props["S"] - props["log_q"])
    for name in ("hmc", "local", "mh"):
        m = report["magnetisation"][name]
        assert m["tau_int"] >= max(m["tau_int_gamma"], m["tau_int_M"]) - 1e-12
        assert m["seconds_per_independent_M"] > 0


def test_a_record_from_before_the_routes_continues(path_study, tmp_path):
    """study.json without route/path fields is a flow study with the defaults."""
    out = tmp_path / "old"
    out.mkdir()
    config = Phi4Config.quick(L=4, lam=5.0).validate()
    Phi4Study(out, config, **QUIET).run(("hmc",))
    state = json.loads((out / "study.json").read_text())
    for k in ("route", "path_steps", "path_v", "path_c"):
        del state["config"][k]
    (out / "study.json").write_text(json.dumps(state))
    again = Phi4Study(out, config, **QUIET)
    assert again.config.route == "flow" and "hmc" in again.state["done"]


def test_the_telegraph_estimate_of_tau_int():
    """A ±1 signal flipping with probability r an update has ρ(t) = (1 − 2r)^t, so τ_int =
    ½ + Σρ = 1/(2r) − ½·(…) ≈ 1/(2r); with no flip the bound is N/6."""
    rng = np.random.default_rng(0)
    r, N = 0.002, 400_000
    m = np.cumprod(np.where(rng.random((4, N)) < r, -1.0, 1.0), axis=1)
    est = sign_flips(m)
    assert est["flips"] == pytest.approx(4 * N * r, rel=0.05) and not est["bound"]
    assert est["tau_int_M"] == pytest.approx(1 / (2 * r), rel=0.05)
    stuck = sign_flips(np.full((2, 300), 0.5))
    assert stuck == {"flips": 0, "updates": 600, "tau_int_M": 100.0, "bound": True}
