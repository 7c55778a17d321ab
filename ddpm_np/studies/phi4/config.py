"""A φ⁴ study's settings: everything a study depends on (stored in study.json; a rerun must
match it), checked before HMC spends minutes on them."""
from __future__ import annotations

from dataclasses import dataclass, fields

from ...checks import check_float, check_int, check_memory
from ...diffusion.path_density import PathVariances
from ...physics import Phi4Action
from ...physics.action import MAX_EXACT_L

# from L = 8 the proposal is harder to get right (more sampler steps keep the acceptance up) and
# each one costs (64/36)² more than at L = 6 (fewer acceptance checks during training)
LARGE_L = {"sampler_steps": 16, "checkpoint_every": 1000}
SCHEDULE_T = 1000       # the ε-network's linear schedule; a sampler takes at most T steps
MIN_PROPOSALS = 16      # the Γ-method needs a series to estimate its autocorrelation
MAX_L = 64              # V = 4096: HMC's training set alone is 1.6 GB at the defaults
ROUTES = ("flow", "path")
PATH_FIELDS = ("path_steps", "path_v", "path_c")     # what only route path reads
M2_BOUND, LAM_BOUND = 100.0, 1000.0     # far around the benchmark ensembles (m² = −4, λ ≈ 5–10)


@dataclass
class Phi4Config:
    """Everything a study depends on (stored in study.json; a rerun must match it)."""
    L: int = 6
    m2: float = -4.0
    lam: float = 6.975
    seed: int = 0
    train_configs: int = 32768       # HMC configurations to learn from (and their mirror images)
    reference_configs: int = 32768   # HMC configurations of the reference run (16 chains)
    local_sweeps: int = 4000         # local Metropolis sweeps per chain (16 chains)
    steps: int = 4000                # training steps
    batch_size: int = 256
    lr: float = 2e-3
    channels: int = 32
    blocks: int = 3
    checkpoint_every: int = 500
    monitor: int = 128               # proposals drawn at each checkpoint (acceptance, ESS)
    proposals: int = 1024
    sampler_steps: int = 12          # network evaluations of the deterministic sampler
    order: int = 2                   # 2: DPM-Solver++(2M), 1: DDIM (both on log-SNR spacing)
    route: str = "flow"              # the density: "flow" (exact Jacobian) or "path" (O(V))
    path_steps: int = 1000           # the ancestral chain's steps (route "path")
    path_v: float = 1.0              # its variances: β̃ + v(β − β̃), the last step c·β
    path_c: float = 1.0

    @classmethod
    def quick(cls, **kw) -> "Phi4Config":
        """A study of seconds (smoke tests and a first look): small everything."""
        small = dict(train_configs=1024, reference_configs=1024, local_sweeps=200, steps=40,
                     channels=8, blocks=1, checkpoint_every=20, monitor=16, proposals=64,
                     sampler_steps=4, path_steps=50)
        small.update(kw)
        return cls(**small)

    def validate(self) -> "Phi4Config":
        self.action()                    # L, m², λ
        if self.L % 2:
            raise ValueError(f"L must be even (the local Metropolis baseline updates the "
                             f"lattice in two checkerboard halves), got {self.L}")
        if self.route not in ROUTES:
            raise ValueError(f"route must be one of {', '.join(ROUTES)}, got {self.route!r}")
        if self.route == "flow" and self.L > MAX_EXACT_L:
            raise ValueError(f"L={self.L} is too large for the exact Jacobian (route flow): the "
                             f"density of a proposal needs V = L² = {self.L ** 2} tangents a "
                             f"sampler step (cost ∝ V²); L ≤ {MAX_EXACT_L} is allowed there, "
                             "and route path (O(V)) takes any L")
        if self.L > MAX_L:
            raise ValueError(f"L must be at most {MAX_L}, got {self.L}")
        for f in fields(self):
            if f.type == "int" and f.name not in ("L", "seed"):
                check_int(getattr(self, f.name), f.name)
        check_int(self.seed, "seed", low=0)
        if self.order not in (1, 2):
            raise ValueError(f"order must be 1 (DDIM) or 2 (DPM-Solver++(2M)), got {self.order}")
        # what the later stages need, checked before HMC spends minutes
        check_float(self.m2, "m2", low=-M2_BOUND, high=M2_BOUND)
        check_float(self.lam, "lam (λ)", low=0, high=LAM_BOUND)
        check_int(self.sampler_steps, "sampler_steps", high=SCHEDULE_T)
        check_int(self.path_steps, "path_steps", high=SCHEDULE_T)
        PathVariances(self.path_v, self.path_c)
        check_int(self.proposals, "proposals", low=MIN_PROPOSALS)
        check_int(self.monitor, "monitor (proposals at each checkpoint)", low=2)
        configs = self.train_configs * 3 + self.reference_configs + 16 * self.local_sweeps
        jacobians = 8 * self.L ** 4 * 64 if self.route == "flow" else 0
        check_memory(8 * self.L ** 2 * configs + jacobians,
                     f"a study of {configs} configurations at L={self.L}")
        return self

    def action(self) -> Phi4Action:
        return Phi4Action(self.L, self.m2, self.lam)
