"""Two tiers of the same layers, and how a model picks one.

- reference: `ddpm_np.nn` itself. Plain, pure, the textbook form: what a learner reads, the
  oracle of every test, and the default: a model built without a `tier` runs what you read.
- fast: `ddpm_np.nn.fast`. The same names, the same parameters and the same numbers within float
  rounding, computed with whatever speed needs. Chosen where speed is the point: the `ddpm-np`
  command picks it for the convolutional models (cli/tiers.py).

A model takes `tier=` ("reference" or "fast"; None means `default_tier()`) and builds itself from
`layers(tier)`: `L.Conv2d`, `L.GroupNormSiLU`, `L.SelfAttention2d`, `L.ResBlock`, … That is all
a model knows of tiers: the fast twins bring whatever they need for speed (threads, memory
layout, the BLAS's threads) inside their own calls.
"""
import importlib

from .. import environment

TIERS = ("fast", "reference")
_MODULES = {"fast": "ddpm_np.nn.fast", "reference": "ddpm_np.nn"}
_program = {"tier": None}       # a program's own default (set_program_tier)


def default_tier() -> str:
    """$DDPM_NP_TIER if set (and not empty), else the program's choice (`set_program_tier`),
    else "reference"."""
    return environment.choice("DDPM_NP_TIER", _program["tier"] or "reference")


def set_program_tier(tier):
    """The tier a program runs when $DDPM_NP_TIER does not say (None: back to "reference")."""
    _program["tier"] = None if tier is None else check_tier(tier)


def check_tier(tier, what="tier") -> str:
    if tier not in TIERS:
        raise ValueError(f"{what} must be one of {', '.join(TIERS)}, got {tier!r}")
    return tier


def layers(tier=None):
    """The namespace of layers of `tier` (None: default_tier())."""
    tier = default_tier() if tier is None else check_tier(tier)
    return importlib.import_module(_MODULES[tier])
