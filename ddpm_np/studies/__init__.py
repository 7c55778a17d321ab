"""The studies that regenerate docs/results.md: lattice φ⁴ made exact (`phi4`), the Boltzmann
sampler of a double well (`boltzmann`), quality per minute of training (`quality_minutes`) and
samplers with few steps (`few_steps`). Each says at its top how to run it.
"""
