"""ddpm_np — denoising diffusion probabilistic models from scratch in NumPy.

Three layers, bottom up: `nn` (layers with hand-written backward in two tiers: the reference
tier in `nn` itself, written to be read, and the fast tier in `nn.fast`; optimizers; gradient
checks), `diffusion` (schedules, forward process, losses, samplers, guidance, the variational
bound) with `models` and `data` beside it, then `train` and the run's files `run`; on top,
`tasks` (what the commands do: demos, runs, sampling, editing, evaluation), `studies` (the
studies behind docs/results.md), `benchmarks`, and the command line `cli`. Time steps are
1-based as in Ho et al. 2020: t ∈ {1..T}, index 0 of every schedule array is a sentinel (β_0 = 0, ᾱ_0 = 1).
"""
__version__ = "0.1.0"

__all__ = ["train_on"]


def __getattr__(name):
    """`ddpm_np.train_on(ddpm_np.data.load(PATH), out=...)`: your own data, trained with the
    defaults `ddpm-np train --data` uses (tasks/own_train.py), imported on first use."""
    if name == "train_on":
        from .tasks.own_train import train_on
        return train_on
    raise AttributeError(f"module 'ddpm_np' has no attribute {name!r}")
