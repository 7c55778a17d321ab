"""What a physicist brings: the lattice φ⁴ action, Hybrid Monte Carlo and local Metropolis,
observables, honest errors (Γ-method, jackknife), the exact density of a deterministic DDIM
sampler and the Metropolis–Hastings correction that makes the sampler exact."""
from .action import ENSEMBLES, Phi4Action
from .correction import ess_per_sample, independence_mh, reweight
from .errors import gamma_method, jackknife
from .hmc import hmc, local_metropolis
from .observables import OBSERVABLES, REPORTED, estimate_all, per_config

__all__ = ["ENSEMBLES", "Phi4Action", "ess_per_sample", "independence_mh", "reweight",
           "gamma_method", "jackknife", "hmc", "local_metropolis", "OBSERVABLES", "REPORTED",
           "estimate_all", "per_config"]
