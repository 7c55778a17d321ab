"""ddpm_np — denoising diffusion probabilistic models from scratch in NumPy.

Subpackages: `nn` (layers with hand-written backward, optimizers, gradient checks),
`diffusion` (schedules, forward process, losses, samplers, variational bound), `models`,
`data`. Time steps are 1-based as in Ho et al. 2020: t ∈ {1..T}, index 0 of every schedule
array is a sentinel (β_0 = 0, ᾱ_0 = 1).
"""
__version__ = "0.1.0"
