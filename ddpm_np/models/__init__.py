"""Networks: the linear ε-model (a matrix per time step), the timestep embedding, the MLP for 2-D data, the UNet for images, and the digit
classifier behind the MNIST metrics."""
from .classifier import Classifier
from .embedding import TimeEmbedding
from .linear import LinearEps, optimal_linear_eps
from .mlp import MLP
from .unet import UNet, ResBlock

MODELS = {"linear": LinearEps, "mlp": MLP, "unet": UNet, "classifier": Classifier}


def build_model(kind: str, config: dict, rng, dtype=None, tier=None):
    """Rebuild a model from its kind and `config()` (as stored in checkpoints)."""
    import numpy as np
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(MODELS)}")
    return MODELS[kind](**config, rng=rng, dtype=dtype or np.float32, tier=tier)


def model_kind(model) -> str:
    for kind, cls in MODELS.items():
        if type(model) is cls:
            return kind
    raise ValueError(f"{type(model).__name__} is not a registered model")
