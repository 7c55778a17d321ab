"""Networks: the linear ε-model (a matrix per time step), the timestep embedding, the MLP for
2-D data, the UNet for images, the periodic network for lattice fields, and the digit
classifier behind the MNIST metrics."""
import numpy as np

from .classifier import Classifier
from .embedding import TimeEmbedding
from .lattice import LatticeEps
from .linear import LinearEps, optimal_linear_eps
from .mlp import MLP
from .unet import UNet

MODELS = {"linear": LinearEps, "mlp": MLP, "unet": UNet, "classifier": Classifier,
          "lattice": LatticeEps}


def build_model(kind: str, config: dict, rng, dtype=None, tier=None):
    """Rebuild a model from its kind and `config()` (as stored in checkpoints); `tier` goes to
    the models built from layers (the linear model has none)."""
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(MODELS)}")
    extra = {} if MODELS[kind] is LinearEps else {"tier": tier}
    return MODELS[kind](**config, rng=rng, dtype=dtype or np.float32, **extra)


def model_kind(model) -> str:
    for kind, cls in MODELS.items():
        if type(model) is cls:
            return kind
    raise ValueError(f"{type(model).__name__} is not a registered model")
