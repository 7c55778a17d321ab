from ..cli.conftest import tiny_checkpoint  # noqa: F401  (a tiny 28×28 UNet checkpoint)
