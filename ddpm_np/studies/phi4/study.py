"""The lattice φ⁴ study: a diffusion model trained on Hybrid Monte Carlo data, made exact by
independence Metropolis–Hastings through the sampler's own density, against HMC
(`ddpm-np phi4`, tutorial chapter 6).

Stages, each resumable (a rerun of the same command continues where the last one stopped) and
each writing into the study's folder:

    hmc      HMC: a training set and, from other chains, the reference observables; local
             Metropolis as the naive baseline                           → hmc.npz
    train    the periodic, odd ε-network on the training set (Algorithm 1), with the MH
             acceptance and ESS of a few proposals at every checkpoint  → model/, training.json
    sample   proposals φ ~ q with their exact log q: route flow, the deterministic sampler
             and its Jacobian (L ≤ 10); route path, the ancestral chain and its path weight
             (O(V), any L; proposals.py)                               → proposals.npz
    report   raw, reweighted and Metropolis–Hastings observables beside HMC's, with errors,
             τ_int, costs, and the figures                              → report.json, *.png

One process at a time works in a study's folder (study.lock); every file is written atomically;
what a stage reads back is checked first (state.py); the settings are checked before HMC
(config.py).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ...run.checkpoint import atomic_write
from ...data.batching import ArrayDataset
from ...diffusion import NoiseSchedule
from ...models import LatticeEps
from ...run.folders import OutputError, check_folder
from ...physics import (Phi4Action, ess_per_sample, hmc, independence_mh, local_metropolis,
                       per_config)
from ...physics.action import ENSEMBLES, MAX_EXACT_L
from ...run.lock import RunLock
from ...run.stopping import stop_requests
from ...train import Trainer, TrainConfig, TrainingInterrupted
from .config import LARGE_L, PATH_FIELDS, SCHEDULE_T, Phi4Config
from .proposals import load_sampler, propose, sampler_name
from .state import STUDY_LOCK, read_arrays, read_state, refuse_foreign_files

STAGES = ("hmc", "train", "sample", "report")
PROPOSAL_ARRAYS = ("phi", "log_q", "S", "log_w")


class Phi4Study:
    """One study in one folder; `run(stages)` does the stages not yet done, in order."""

    def __init__(self, out, config: Phi4Config | None = None, progress=True, log=print):
        self.out = Path(out)
        self.progress, self.log = progress, log
        saved = self.out / "study.json"
        if config is None:
            if not saved.exists():
                raise OutputError(f"{self.out} holds no φ⁴ study (no study.json)")
            config = Phi4Config(**self._read_state(saved)["config"])
        self.config = config.validate()
        self.action = config.action()
        check_folder(self.out, "study folder")
        self.state = self._claim(saved)

    @staticmethod
    def _read_state(saved: Path) -> dict:
        return read_state(saved, [f.name for f in fields(Phi4Config)], STAGES)

    def _claim(self, saved: Path) -> dict:
        if saved.exists():
            state = self._read_state(saved)
            want = asdict(self.config)
            # a record from before the routes is a flow study, for which the path's settings
            # do not matter
            if "route" not in state["config"]:
                state["config"].update({k: want[k] for k in PATH_FIELDS}, route="flow")
            diff = [k for k, v in want.items() if state["config"].get(k) != v]
            if diff == ["proposals"] and want["proposals"] > state["config"]["proposals"]:
                # more proposals from the same model: sampling continues where it stopped
                state["config"]["proposals"] = want["proposals"]
                state["done"] = [d for d in state["done"] if d not in ("sample", "report")]
            elif diff:
                raise OutputError(f"{self.out} holds a study with other settings ("
                                  f"{', '.join(diff)}); choose another --out, or rerun with "
                                  "the same settings to continue it (only --proposals may "
                                  "grow)")
            return state
        refuse_foreign_files(self.out)
        return {"config": asdict(self.config), "done": [], "seconds": {}}

    def _save_state(self, state=None):
        text = json.dumps(state or self.state, indent=1)
        atomic_write(self.out / "study.json", lambda f: f.write(text.encode()))

    def _finish(self, stage, seconds):
        self.state["seconds"][stage] = self.state["seconds"].get(stage, 0.0) + seconds
        if stage not in self.state["done"]:
            self.state["done"].append(stage)
        self._save_state()

    def run(self, stages=STAGES) -> dict | None:
        for stage in stages:
            if stage not in STAGES:
                raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
        for stage in STAGES:
            if stage in stages and (stage not in self.state["done"] or stage == "report"):
                for need in STAGES[:STAGES.index(stage)]:
                    if need not in self.state["done"] and need not in stages:
                        raise OutputError(f"stage {stage} needs stage {need} first "
                                          f"(ddpm-np phi4 ... --stage {need})")
        self.out.mkdir(parents=True, exist_ok=True)          # every request checked: begin
        lock = RunLock(self.out, STUDY_LOCK, "studied")     # one study process per folder
        lock.acquire()
        try:
            self._save_state()
            for stage in STAGES:
                if stage in stages and (stage not in self.state["done"] or stage == "report"):
                    getattr(self, f"stage_{stage}")()
        finally:
            lock.release()
        if "report" in stages:
            return json.loads((self.out / "report.json").read_text())
        return None

    # -- 1. HMC and local Metropolis ---------------------------------------------------------
    def stage_hmc(self):
        c, t0 = self.config, time.perf_counter()
        rng = np.random.default_rng([c.seed, 1])
        self.log(f"HMC: {c.train_configs} training and {c.reference_configs} reference "
                 f"configurations at L={c.L}, m²={c.m2}, λ={c.lam}")
        chains = 64
        train = hmc(self.action, chains, -(-c.train_configs // chains), rng, every=2,
                    progress=self.progress, desc="HMC (training set)")
        ref = hmc(self.action, 16, -(-c.reference_configs // 16), np.random.default_rng(
            [c.seed, 2]), progress=self.progress, desc="HMC (reference)")
        local = local_metropolis(self.action, 16, c.local_sweeps, np.random.default_rng(
            [c.seed, 3]), progress=self.progress)
        phi_train = train["phi"].reshape(-1, c.L, c.L)[:c.train_configs]
        arrays = dict(train=phi_train, reference=per_config(ref["phi"]),
                      local=per_config(local["phi"]))
        atomic_write(self.out / "hmc.npz", lambda f: np.savez(f, **arrays))
        self.state["hmc"] = {
            "acceptance": ref["acceptance"], "step": ref["step"], "n_steps": ref["n_steps"],
            "seconds": ref["seconds"], "samples": int(ref["phi"].shape[0] * ref["phi"].shape[1]),
            "training_seconds": train["seconds"]}
        self.state["local"] = {"acceptance": local["acceptance"], "seconds": local["seconds"],
                               "samples": int(16 * c.local_sweeps)}
        self.state["scale"] = float(np.sqrt(np.mean(phi_train ** 2)))
        self._finish("hmc", time.perf_counter() - t0)

    # -- 2. training -------------------------------------------------------------------------
    def training_data(self) -> ArrayDataset:
        """The training set as x_0 = φ/s (s: the field's r.m.s.), with its mirror image −φ."""
        phi = read_arrays(self.out / "hmc.npz", ["train"])["train"] / self.state["scale"]
        x = np.concatenate([phi, -phi])[:, None].astype(np.float32)
        return ArrayDataset(x, description={"phi4": asdict(self.config), "kind": "lattice",
                                            "shape": [1, self.config.L, self.config.L],
                                            "scaling": {"scale": self.state["scale"]}})

    def stage_train(self):
        c, t0 = self.config, time.perf_counter()
        data, ckpt = self.training_data(), self.out / "model" / "checkpoint.npz"
        if ckpt.exists():
            trainer = Trainer.resume(ckpt, data, log=self.log)
        else:
            model = LatticeEps(c.channels, c.blocks, rng=np.random.default_rng([c.seed, 4]))
            cfg = TrainConfig(steps=c.steps, batch_size=c.batch_size, lr=c.lr,
                              checkpoint_every=c.checkpoint_every, seed=c.seed,
                              warmup_steps=min(100, c.steps // 10))
            trainer = Trainer(model, NoiseSchedule.linear(SCHEDULE_T), data, cfg,
                              self.out / "model",
                              meta={"phi4": asdict(c), "scale": self.state["scale"]})
        self.log(f"training the ε-network ({trainer.model.num_parameters()} parameters) for "
                 f"{c.steps} steps")
        clock = [t0]        # the seconds are counted as the checkpoints keep the work

        def monitor(tr):
            clock[0] = self._lap("train", clock[0], save=False)
            props = self.propose(c.monitor, np.random.default_rng([c.seed, 5, tr.step]))
            _, acc = independence_mh(props["log_w"], np.random.default_rng([c.seed, 6]))
            curve = self.state.setdefault("training_curve", [])
            curve[:] = [row for row in curve if row["step"] < tr.step]
            curve.append({"step": tr.step, "acceptance": float(acc.mean()),
                          "ess_per_sample": ess_per_sample(props["log_w"]),
                          "loss": float(np.mean(tr.log["loss"][-50:]))})
            clock[0] = self._lap("monitor", clock[0])

        try:
            trainer.run(progress=self.progress, on_checkpoint=monitor)
        except TrainingInterrupted as e:
            self._lap("train", clock[0])            # the steps the interruption's save kept
            raise TrainingInterrupted(f"interrupted at step {trainer.step}/{c.steps}; the "
                                      "study is saved: rerun the same ddpm-np phi4 command "
                                      "to continue it", e.signum) from None
        self._finish("train", 0.0)

    def _lap(self, key, since: float, save: bool = True) -> float:
        """Add the seconds since `since` to `key` (and save the record); returns now."""
        now = time.perf_counter()
        self.state["seconds"][key] = self.state["seconds"].get(key, 0.0) + now - since
        if save:
            self._save_state()
        return now

    # -- 3. proposals with their exact density (proposals.py: the two routes) ---------------
    def sampler(self):
        return load_sampler(self)

    def sampler_name(self) -> str:
        return sampler_name(self.config)

    def propose(self, n, rng, sampler=None):
        """n proposals φ ~ q with log q(φ), S(φ) and log w = −S − log q (proposals.py)."""
        return propose(self, n, rng, sampler)

    def stage_sample(self, batch=64):
        c, t0 = self.config, time.perf_counter()
        path = self.out / "proposals.npz"
        have = read_arrays(path, PROPOSAL_ARRAYS) if path.exists() else None
        done = 0 if have is None else len(have["phi"])
        sampler = self.sampler()
        self.log(f"{c.proposals} proposals by {self.sampler_name()} with their exact log q "
                 f"({done} done)")
        with stop_requests() as stop, tqdm(total=c.proposals, initial=done, desc="proposals",
                                           disable=not self.progress) as bar:
            while done < c.proposals:
                n = min(batch, c.proposals - done)
                new = self.propose(n, np.random.default_rng([c.seed, 7, done]), sampler)
                have = new if have is None else {k: np.concatenate([have[k], new[k]])
                                                 for k in new}
                atomic_write(path, lambda f: np.savez(f, **have))
                t0 = self._lap("sample", t0)         # the seconds of the proposals kept
                done += n
                bar.update(n)
                if stop and done < c.proposals:
                    raise TrainingInterrupted(
                        f"interrupted after {done}/{c.proposals} proposals; they are saved: "
                        "rerun the same ddpm-np phi4 command to continue", stop.signum)
        self._finish("sample", 0.0)

    # -- 4. the report -----------------------------------------------------------------------
    def stage_report(self):
        from .report import write_report
        t0 = time.perf_counter()
        write_report(self)
        self.state["seconds"]["report"] = time.perf_counter() - t0
        self._save_state()


def default_out(L: int) -> Path:
    return Path("runs") / f"phi4-L{L}"


def run_phi4(L=6, lam=None, m2=-4.0, out=None, stage="all", quick=False, seed=0,
             progress=True, log=print, **settings) -> dict | None:
    """The whole study (stage "all") or one stage, in `out` (default runs/phi4-L{L}); a rerun
    with the same settings continues it. λ defaults to the benchmark ensemble of L (m² = −4,
    L/ξ ≈ 4). `settings`: any other Phi4Config field (None: its default). Returns the report
    when the report stage ran."""
    Phi4Action(L, m2, 1.0 if lam is None else lam)          # L, m², λ before anything else
    if lam is None:
        if L not in ENSEMBLES or m2 != -4.0:
            known = ", ".join(f"L={k}: {v}" for k, v in ENSEMBLES.items())
            raise ValueError(f"no benchmark λ for L={L}, m2={m2}; give --lam (benchmarks at "
                             f"m2=-4: {known})")
        lam = ENSEMBLES[L]
    given = {k: v for k, v in settings.items() if v is not None}
    if L > MAX_EXACT_L:
        given.setdefault("route", "path")            # the exact Jacobian stops at MAX_EXACT_L
    if given.get("route") == "path" and not quick:
        given.setdefault("monitor", 64)              # each costs path_steps evaluations
    if not quick and L >= 8:
        for k, v in LARGE_L.items():
            given.setdefault(k, v)
    make = Phi4Config.quick if quick else Phi4Config
    config = make(L=L, m2=m2, lam=lam, seed=seed, **given).validate()
    stages = STAGES if stage == "all" else (stage,)
    study = Phi4Study(out or default_out(L), config, progress=progress, log=log)
    return study.run(stages)
