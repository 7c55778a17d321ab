"""Data: toy 2-D distributions (exact samplers and densities), the MNIST reader, batching."""
from . import toy2d
from .batching import ArrayDataset
