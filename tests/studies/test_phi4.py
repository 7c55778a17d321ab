"""The φ⁴ study in quick mode: the report's contents, resuming without redoing work, a
resumed sampling stage that gives the same proposals, an interruption that keeps what was
done, and a folder holding other settings refused."""
import contextlib
import json
from pathlib import Path

import numpy as np
import pytest

from ddpm_np.studies.phi4 import study as phi4
from ddpm_np.studies.phi4.study import Phi4Config, Phi4Study, run_phi4
from ddpm_np.run.folders import OutputError
from ddpm_np.train import TrainingInterrupted

QUIET = dict(progress=False, log=lambda *a: None)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("phi4") / "L4"
    report = run_phi4(4, lam=5.0, out=out, quick=True, proposals=128, **QUIET)
    return out, report


def test_report_holds_every_sampler_and_figure(study):
    out, report = study
    for sampler in ("hmc", "raw", "mh", "reweighted", "local"):
        for name in ("abs_m", "chi2", "e_ising", "m", "binder"):
            value = report[sampler][name]
            assert len(value) == 2 and np.isfinite(value[0]), (sampler, name, value)
    for key in ("hmc", "local_metropolis", "mh"):
        assert 0 <= report["acceptance"][key] <= 1
        assert report["tau_int"][key] >= 0.4
    assert 0 < report["ess_per_sample"]["diffusion"] <= 1
    assert {"hmc", "train", "sample"} <= set(report["seconds"])
    assert report["seconds_per_independent_sample"]["diffusion_mh"] > 0
    assert report["training_curve"] and report["proposals"] == 128
    assert json.loads((out / "report.json").read_text()) == report
    for fig in ("observables", "training", "correlator", "cost"):
        assert (out / f"{fig}.png").stat().st_size > 10_000


def test_hmc_reference_is_consistent_with_local_metropolis(study):
    """Two independent Markov chains on the same theory: within 4σ on the main observables."""
    dev = study[1]["deviation_from_hmc_in_sigma"]["local"]
    for name in ("abs_m", "chi2", "e_ising"):
        assert abs(dev[name]) < 4, (name, dev[name])


def test_a_rerun_continues_without_redoing(study):
    out, report = study
    stamp = (out / "hmc.npz").stat().st_mtime_ns, (out / "proposals.npz").stat().st_mtime_ns
    again = run_phi4(4, lam=5.0, out=out, quick=True, proposals=128, **QUIET)
    assert ((out / "hmc.npz").stat().st_mtime_ns, (out / "proposals.npz").stat().st_mtime_ns) \
        == stamp
    assert again["mh"] == report["mh"]


def test_more_proposals_continue_the_sampling(study, tmp_path):
    """A finished study of 64 proposals asked for 128: the first 64 stay, the next 64 are the
    ones a study of 128 draws."""
    out = copy_before_sampling(study[0], tmp_path / "copy")
    full = dict(np.load(study[0] / "proposals.npz"))
    np.savez(out / "proposals.npz", **{k: v[:64] for k, v in full.items()})
    state = json.loads((out / "study.json").read_text())
    state["config"]["proposals"] = 64
    state["done"] += ["sample", "report"]
    (out / "study.json").write_text(json.dumps(state))
    with pytest.raises(OutputError, match="only --proposals may grow"):
        run_phi4(4, lam=5.0, out=out, quick=True, proposals=32, **QUIET)
    report = run_phi4(4, lam=5.0, out=out, quick=True, proposals=128, **QUIET)
    again = np.load(out / "proposals.npz")
    for k, v in full.items():
        np.testing.assert_array_equal(again[k], v)
    assert report["proposals"] == 128


def test_other_settings_are_refused(study):
    with pytest.raises(OutputError, match="holds a study with other settings \\(lam\\)"):
        run_phi4(4, lam=5.5, out=study[0], quick=True, proposals=128, **QUIET)


def copy_before_sampling(src, out):
    """The study in `src` copied to `out` as it was before its sampling stage."""
    out.mkdir()
    for name in ("study.json", "hmc.npz", "model/checkpoint.npz"):
        (out / name).parent.mkdir(exist_ok=True)
        (out / name).write_bytes((src / name).read_bytes())
    state = json.loads((out / "study.json").read_text())
    state["done"].remove("sample")
    (out / "study.json").write_text(json.dumps(state))
    return out


def test_resumed_sampling_gives_the_same_proposals(study, tmp_path):
    out = copy_before_sampling(study[0], tmp_path / "copy")
    full = dict(np.load(study[0] / "proposals.npz"))
    np.savez(out / "proposals.npz", **{k: v[:64] for k, v in full.items()})
    Phi4Study(out, **QUIET).run(("sample",))
    again = np.load(out / "proposals.npz")
    for k, v in full.items():
        np.testing.assert_array_equal(again[k], v)


def test_an_interrupted_sampling_stage_keeps_its_proposals(study, tmp_path, monkeypatch):
    out = copy_before_sampling(study[0], tmp_path / "copy")

    @contextlib.contextmanager
    def stopped():
        class Stop:
            signum = 2

            def __bool__(self):
                return True
        yield Stop()

    monkeypatch.setattr(phi4, "stop_requests", stopped)
    with pytest.raises(TrainingInterrupted, match="64/128 proposals; they are saved"):
        Phi4Study(out, **QUIET).run(("sample",))
    assert len(np.load(out / "proposals.npz")["phi"]) == 64


def test_quick_config_is_valid_and_small():
    c = Phi4Config.quick(L=8, lam=6.008).validate()
    assert c.steps < 100 and c.proposals <= 128


def test_scaling_figure_and_table(study, tmp_path):
    from ddpm_np.studies.phi4 import scaling as phi4_scaling
    assert phi4_scaling.main([str(study[0]), "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 10_000
    assert phi4_scaling.main([str(tmp_path / "nowhere")]) == 2
    # rows measured before are drawn beside a study; a file of other things is refused
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps({"rows": phi4_scaling.rows(phi4_scaling.load([study[0]]))}))
    assert phi4_scaling.main([str(study[0]), "--rows", str(rows), "--out",
                              str(tmp_path / "t.png")]) == 0
    rows.write_text(json.dumps({"rows": [{"L": 4}]}))
    assert phi4_scaling.main([str(study[0]), "--rows", str(rows)]) == 2
    shipped = Path(__file__).parents[2] / "docs" / "phi4_scaling.json"
    assert [r["L"] for r in phi4_scaling.load_rows(shipped)] == [4, 6, 8, 10]
