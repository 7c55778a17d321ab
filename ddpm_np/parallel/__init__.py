"""Several processes (MPI, through mpi4py; optional: pip install "ddpm_np[mpi]").

processes.py: which process this is and the few collective calls the project makes;
sharding.py: how a batch is split so that results do not depend on the number of processes;
reduce.py: the one all-reduce of a training step (gradients, loss, stop requests).
"""
from .reduce import GradientReducer
from .sharding import ShardedModel, share, sharded
from .processes import (INSTALL_HINT, MPIWorld, ParallelError, Serial, launched_size, on_root,
                    world)

__all__ = ["GradientReducer", "INSTALL_HINT", "MPIWorld", "ParallelError", "Serial", "ShardedModel",
           "launched_size", "on_root", "share", "sharded", "world"]
