"""Lattice φ⁴ theory: a diffusion sampler trained on HMC data, made exact by independence
Metropolis–Hastings (`ddpm-np phi4`). The study and its stages (`study`), its settings
(`config`), what its folder holds (`state`), its figures (`plots`), its table (`report`) and
the cost against the lattice size (`scaling`).
"""
