"""Data: toy 2-D distributions (exact samplers and densities) and the MNIST reader."""
from . import toy2d
