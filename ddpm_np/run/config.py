"""The settings of a training run, all stored in its checkpoint."""
from __future__ import annotations

from dataclasses import dataclass

from ..checks import check_float, check_int
from ..diffusion.hybrid import check_objective
from ..diffusion.learned_variance import LAMBDA
from ..diffusion.losses import WEIGHTINGS
from ..diffusion.param import check_parameterization


@dataclass
class TrainConfig:
    """Hyper-parameters of a run (all stored in the checkpoint)."""
    steps: int = 5000
    batch_size: int = 256
    lr: float = 2e-3
    warmup_steps: int = 100
    cosine_decay: bool = True        # decay to min_lr at `steps`, else constant after warm-up
    min_lr: float = 1e-5
    grad_clip: float = 1.0           # max global gradient norm (0 = off)
    weight_decay: float = 0.0
    ema_decay: float = 0.999
    parameterization: str = "eps"    # what the network predicts: eps | x0 | v
    loss_weighting: str = "none"     # none | min_snr (Hang et al. 2023: min(SNR, γ) per t)
    snr_gamma: float = 5.0           # γ of min_snr
    timesteps: str = "uniform"       # uniform | importance (L_vlb's t, Nichol & Dhariwal §3.3)
    vlb_weight: float = LAMBDA       # λ of L_hybrid = L_simple + λ·L_vlb (learned variance only)
    label_dropout: float = 0.1       # class-conditional models: P(label → "no label")
    checkpoint_every: int = 1000
    seed: int = 0

    def validate(self):
        """Check every field (ValueError naming the first bad one); returns self."""
        for name in ("steps", "batch_size", "checkpoint_every"):
            check_int(getattr(self, name), name)
        check_int(self.warmup_steps, "warmup_steps", low=0)
        check_int(self.seed, "seed", low=0)
        check_float(self.lr, "lr", low=0, strict=True)
        check_float(self.min_lr, "min_lr", low=0)
        check_float(self.grad_clip, "grad_clip", low=0)
        check_float(self.weight_decay, "weight_decay", low=0)
        check_float(self.ema_decay, "ema_decay", low=0, high=0.999999)
        check_float(self.label_dropout, "label_dropout", low=0, high=1)
        check_parameterization(self.parameterization)
        if self.loss_weighting not in WEIGHTINGS:
            raise ValueError(f"loss_weighting must be one of {', '.join(WEIGHTINGS)}, got "
                             f"{self.loss_weighting!r}")
        check_float(self.snr_gamma, "snr_gamma", low=0, strict=True)
        check_float(self.vlb_weight, "vlb_weight", low=0, strict=True)
        check_objective(True, timesteps=self.timesteps)
        return self
