"""Data: your own (points, images, lattice fields: `load`), toy 2-D distributions (exact samplers
and densities), the MNIST and Fashion-MNIST reader, batching."""
from . import toy2d
from .batching import ArrayDataset
from .own import UserData, load
