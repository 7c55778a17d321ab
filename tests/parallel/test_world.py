"""The parts of a batch, a sharded model on one process, and the line a user gets when several
processes are asked for without MPI (no MPI needed for these)."""
import sys

import numpy as np
import pytest

from ddpm_np import parallel
from ddpm_np.cli import main
from ddpm_np.parallel import processes as world_module
from ddpm_np.parallel.processes import MPIWorld, Serial, launched_size


@pytest.mark.parametrize("n, k", [(64, 2), (31, 3), (5, 4), (2, 4), (1, 2)])
def test_parts_cover_the_batch_in_order_with_sizes_within_one(n, k):
    parts = []
    for rank in range(k):
        w = MPIWorld.__new__(MPIWorld)
        w.rank, w.size = rank, k
        parts.append(w.part(n))
    assert [p.start for p in parts[1:]] == [p.stop for p in parts[:-1]]
    assert parts[0].start == 0 and parts[-1].stop == n
    sizes = [p.stop - p.start for p in parts]
    assert max(sizes) - min(sizes) <= 1


def test_one_process_is_serial_and_needs_no_mpi(monkeypatch):
    for name in world_module.SIZE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert launched_size() == 1
    w = Serial()
    model = object()
    assert parallel.sharded(model, w) is model
    assert parallel.share(w, 7) == (slice(0, 7), 1.0)
    assert w.root_does(lambda: 5) == 5 and w.allgather(3) == [3] and w.settle(2) == 2


class _TwoRanks(Serial):
    """Rank `rank` of two, with the other rank's rows computed here (for ShardedModel)."""
    size = 2

    def __init__(self, rank, other):
        self.rank, self.other = rank, other

    def part(self, n):
        return slice(n * self.rank // 2, n * (self.rank + 1) // 2)

    def allgather(self, obj):
        return [obj, self.other] if self.rank == 0 else [self.other, obj]


def test_a_sharded_model_computes_its_rows_and_passes_the_rest_through():
    calls = []

    def model(x, t, y=None):
        calls.append((x.copy(), t if np.ndim(t) == 0 else t.copy(), y))
        return 2 * x + np.reshape(t, (-1, 1))

    x, t = np.arange(10.0).reshape(5, 2), np.arange(5)
    other = 2 * x[2:] + t[2:, None]
    out = parallel.ShardedModel(model, _TwoRanks(0, other))(x, t, "label")
    np.testing.assert_array_equal(out, 2 * x + t[:, None])
    np.testing.assert_array_equal(calls[0][0], x[:2])
    np.testing.assert_array_equal(calls[0][1], t[:2])
    assert calls[0][2] == "label"


@pytest.mark.parametrize("value, message", [
    ("2", "started as 2 processes, but mpi4py cannot be imported"),
    ("two", "PMI_SIZE='two' is not a number of processes"),
])
def test_several_processes_without_mpi4py_is_one_line(monkeypatch, capsys, value, message):
    monkeypatch.setenv("PMI_SIZE", value)
    monkeypatch.setitem(sys.modules, "mpi4py", None)          # as if not installed
    monkeypatch.setattr(world_module, "_world", None)
    with pytest.raises(SystemExit) as e:
        main(["train", "--dataset", "moons"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    if value == "2":
        assert 'pip install "ddpm_np[mpi]"' in err[0]


def test_a_failing_process_waits_until_its_message_has_been_read(tmp_path):
    import os
    import threading
    import time

    from ddpm_np.parallel.waiting import read_out
    r, w = os.pipe()
    try:
        os.write(w, b"ddpm-np: process 1 of 2: failed\n")
        assert not read_out(w, seconds=0.2)                    # nobody has read it yet
        reader = threading.Timer(0.3, lambda: os.read(r, 100))
        reader.start()
        t0 = time.monotonic()
        assert read_out(w, seconds=10.0)
        assert time.monotonic() - t0 >= 0.25                # returned once the reader had read
        reader.join()
    finally:
        os.close(r)
        os.close(w)
    with open(tmp_path / "log", "w") as f:                  # a file: nothing to wait for
        assert read_out(f.fileno(), seconds=0.0)


@pytest.mark.parametrize("mine, other, agreed", [
    (0, 0, 0), (2, 0, 2), (0, 2, 2), (15, 2, 2), (2, 15, 2), (15, 0, 15), (0, 15, 15),
    (15, 15, 15)])
def test_every_process_agrees_on_the_same_stop_signal(mine, other, agreed):
    """Ctrl-C reaches the processes at different steps, and batch systems send SIGTERM: the
    all-reduce gives every process the same signal, so that they exit with the same status."""
    from ddpm_np.nn import Parameter
    from ddpm_np.parallel.reduce import GradientReducer

    class Recorder:
        buffer, size = None, 2          # a world of two processes (one reduces nothing)

        def allreduce_sum(self, flat):
            Recorder.buffer = flat.copy()

    class Adder:
        size = 2

        def allreduce_sum(self, flat):
            flat += Recorder.buffer

    def reducer(world):
        p = Parameter(np.zeros(3))
        p.grad = np.ones(3)
        return GradientReducer(world, [p])

    reducer(Recorder())(0.5, other)
    loss, stop = reducer(Adder())(0.25, mine)
    assert (loss, stop) == (0.75, agreed)
