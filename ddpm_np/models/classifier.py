"""A small CNN classifier for 28×28 digits, trained with the project's own stack
(`ddpm_np.tasks.classifier`); its penultimate features drive the Fréchet distance of
`ddpm_np.metrics`.

    x ─ conv 1→32 ─ ReLU ─ avgpool ─ conv 32→64 ─ ReLU ─ avgpool ─ conv 64→64 ─ ReLU
      ─ flatten (64·7·7) ─ Linear(3136, 128) ─ ReLU ─ [features] ─ Linear(128, 10) ─ logits
"""
from __future__ import annotations

import numpy as np

from ..nn import Module, check_dtype, layers, softmax_forward


class Classifier(Module):
    """`tier` chooses the layers (`nn.layers`); weights are the same on either."""

    def __init__(self, num_classes: int = 10, *, rng, dtype=np.float32, tier=None):
        nn, kw = layers(tier), dict(rng=rng, dtype=dtype)
        self.body = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1, **kw), nn.ReLU(), nn.AvgPool2x(),
                                  nn.Conv2d(32, 64, 3, padding=1, **kw), nn.ReLU(), nn.AvgPool2x(),
                                  nn.Conv2d(64, 64, 3, padding=1, **kw), nn.ReLU())
        self.fc = nn.Linear(64 * 7 * 7, 128, **kw)
        self.fc_act = nn.ReLU()
        self.head = nn.Linear(128, num_classes, **kw)

    def config(self) -> dict:
        return {"num_classes": self.head.out_features}

    def features(self, x):
        """Penultimate activations (N, 128): what the Fréchet distance compares."""
        check_dtype(x, self.fc.W.dtype, "Classifier")
        if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
            raise ValueError(f"Classifier expects (N, 1, 28, 28) images, got {x.shape}")
        h = self.body(x)
        self._cache = h.shape
        return self.fc_act(self.fc(h.reshape(len(x), -1)))

    def forward(self, x):
        return self.head(self.features(x))

    def backward(self, dlogits):
        shape = self._need_cache()
        dh = self.fc.backward(self.fc_act.backward(self.head.backward(dlogits)))
        return self.body.backward(dh.reshape(shape))

    def predict(self, x, batch_size: int = 500):
        """(probabilities (N, 10), features (N, 128)) in batches, float64."""
        probs, feats = [], []
        for i in range(0, len(x), batch_size):
            f = self.features(x[i:i + batch_size])
            probs.append(softmax_forward(self.head(f).astype(np.float64)))
            feats.append(f.astype(np.float64))
        return np.concatenate(probs), np.concatenate(feats)
