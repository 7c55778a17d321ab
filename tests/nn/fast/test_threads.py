"""Chunked, threaded kernels: same results as the reference tier whatever the chunking and the
number of threads, chunks that balance, the BLAS held to one thread and restored (threadpoolctl),
work really spread over threads, errors surfaced."""
import functools
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from ddpm_np.nn import conv2d_naive, conv2d_naive_backward
from ddpm_np.nn.fast import conv, modules, threads, upconv
from ddpm_np.nn.fast import conv2d_backward, conv2d_forward, upconv2d_backward, upconv2d_forward

from ..layouts import channels_last as to_channels_last

ORDERS = {"NCHW": np.asarray, "channels-last": to_channels_last}


def blas_threads():
    """The thread counts of every BLAS loaded in this process."""
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def _uneven(n_items, item_bytes):
    """Chunks of unequal sizes, the first one smaller (scratch is sized by the largest)."""
    bounds = [0] + [k for k in (1, 3) if k < n_items] + [n_items]
    return list(zip(bounds[:-1], bounds[1:]))


@pytest.fixture(params=["one image each", "uneven"])
def one_image_chunks(monkeypatch, request):
    """Several chunks even for small test batches, so that they exercise the threaded path:
    every image its own chunk, or chunks of sizes 1, 2, rest."""
    split = (functools.partial(threads.chunk_bounds, target_bytes=1)
             if request.param == "one image each" else _uneven)
    monkeypatch.setattr(conv, "chunk_bounds", split)
    monkeypatch.setattr(upconv, "chunk_bounds", split)


@pytest.mark.parametrize("n", [1, 3, 4, 7, 64, 160])
@pytest.mark.parametrize("item_bytes", [1, 300_000, 1 << 20, 1 << 30])
def test_chunks_cover_the_range_in_balanced_pieces(monkeypatch, n, item_bytes):
    monkeypatch.setenv("DDPM_NP_THREADS", "2")
    chunks = threads.chunk_bounds(n, item_bytes)
    assert chunks[0][0] == 0 and chunks[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))
    sizes = [e - s for s, e in chunks]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1
    if threads.num_threads() > 1:
        assert len(chunks) % 4 == 0 or len(chunks) == n, sizes


def test_one_thread_means_one_chunk(monkeypatch):
    monkeypatch.setenv("DDPM_NP_THREADS", "1")
    assert threads.chunk_bounds(64, 1 << 20) == [(0, 64)]


@pytest.mark.parametrize("bad", ["two", "0", "-3", "1.5"])
def test_bad_thread_count_is_a_clear_error(monkeypatch, bad):
    monkeypatch.setenv("DDPM_NP_THREADS", bad)
    with pytest.raises(ValueError, match="DDPM_NP_THREADS must be a positive integer"):
        threads.num_threads()


def test_an_empty_thread_count_counts_as_unset(monkeypatch):
    monkeypatch.setenv("DDPM_NP_THREADS", " ")
    monkeypatch.delenv("DDPM_NP_THREADS")
    unset = threads.num_threads()
    monkeypatch.setenv("DDPM_NP_THREADS", "")
    assert threads.num_threads() == unset


GEOMETRIES = [  # (N, C, O, H, W, k, stride, padding)
    (5, 3, 4, 6, 7, 3, 1, 1),
    (5, 4, 2, 7, 6, 3, 2, 1),
    (5, 3, 4, 5, 5, 1, 1, 0),
]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("workers", ["2", "3"])
@pytest.mark.parametrize("N,C,O,H,W,k,stride,padding", GEOMETRIES)
def test_threaded_conv_matches_naive_loops(rng, monkeypatch, one_image_chunks, workers,
                                           N, C, O, H, W, k, stride, padding, order):
    monkeypatch.setenv("DDPM_NP_THREADS", workers)
    x = rng.standard_normal((N, C, H, W))
    Wt = rng.standard_normal((O, C, k, k))
    b = rng.standard_normal(O)
    ws = {}                                     # per-thread scratch buffers, as in Conv2d
    y, cache = conv2d_forward(ORDERS[order](x), Wt, b, stride, padding, ws)
    np.testing.assert_allclose(y, conv2d_naive(x, Wt, b, stride, padding), rtol=1e-10, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    got = conv2d_backward(ORDERS[order](dy), cache)
    want = conv2d_naive_backward(dy, x, Wt, stride, padding)
    for name, a, e in zip(("dx", "dW", "db"), got, want):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12, err_msg=name)


def test_threaded_upconv_matches_naive_loops(rng, monkeypatch, one_image_chunks):
    monkeypatch.setenv("DDPM_NP_THREADS", "2")
    x = rng.standard_normal((5, 3, 3, 4))
    Wt = rng.standard_normal((2, 3, 3, 3))
    b = rng.standard_normal(2)
    up = x.repeat(2, axis=2).repeat(2, axis=3)
    y, cache = upconv2d_forward(x, Wt, b, {})
    np.testing.assert_allclose(y, conv2d_naive(up, Wt, b, 1, 1), rtol=1e-10, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx, dW, db = upconv2d_backward(dy, cache)
    ndxu, ndW, ndb = conv2d_naive_backward(dy, up, Wt, 1, 1)
    np.testing.assert_allclose(dx, ndxu.reshape(5, 3, 3, 2, 4, 2).sum(axis=(3, 5)), rtol=1e-10)
    np.testing.assert_allclose(dW, ndW, rtol=1e-10)
    np.testing.assert_allclose(db, ndb, rtol=1e-10)


def test_results_do_not_depend_on_the_thread_count(rng, monkeypatch):
    """Bit for bit: chunks depend on the sizes only, partial sums are added in chunk order."""
    x = rng.standard_normal((64, 32, 28, 28), dtype=np.float32)
    layer = modules.Conv2d(32, 32, 3, padding=1, rng=rng)
    dy = rng.standard_normal((64, 32, 28, 28), dtype=np.float32)
    results = []
    for workers in ("2", "3"):
        monkeypatch.setenv("DDPM_NP_THREADS", workers)
        layer.zero_grad()
        y = layer(x)
        dx = layer.backward(dy)
        results.append((y, dx, layer.W.grad.copy(), layer.b.grad.copy()))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_blas_is_held_to_one_thread_in_parallel_regions_even_after_errors(monkeypatch):
    monkeypatch.setenv("DDPM_NP_THREADS", "2")
    threads.release_blas()
    before = blas_threads()
    inside = []

    def task(i, start, stop, worker):
        inside.append(blas_threads())
        if i == 3:
            raise RuntimeError("chunk 3 failed")

    with pytest.raises(RuntimeError, match="chunk 3 failed"):
        threads.run_chunks(task, [(k, k + 1) for k in range(8)])
    assert all(all(n == 1 for n in counts) for counts in inside)
    assert all(n == 1 for n in blas_threads()) and threads.blas_held()   # held: decided once
    threads.hold_blas()                                                  # a second call: nothing
    threads.release_blas()
    assert blas_threads() == before


def test_chunks_really_run_on_several_threads_at_once(monkeypatch):
    """Two chunks that each wait for the other can only finish if two threads run them."""
    monkeypatch.setenv("DDPM_NP_THREADS", "2")
    barrier = threading.Barrier(2, timeout=120)
    names = set()

    def task(i, start, stop, worker):
        names.add(threading.current_thread().name)
        barrier.wait()

    threads.run_chunks(task, [(0, 1), (1, 2)])
    assert len(names) == 2


def test_every_chunk_runs_once(monkeypatch):
    monkeypatch.setenv("DDPM_NP_THREADS", "2")
    seen = np.zeros(50, int)

    def task(i, start, stop, worker):
        seen[start:stop] += 1

    threads.run_chunks(task, [(k, k + 1) for k in range(50)])
    assert (seen == 1).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("workers", ["1", "2", "3"])
@pytest.mark.parametrize("order", ORDERS)
def test_per_sample_layers_give_the_same_bits_in_chunks(rng, monkeypatch, workers, order, dtype):
    """GroupNorm and SiLU run slices of the batch on every core (threads.over_batch): whatever
    the slices and the thread count, every number equals the one-call result."""
    from ddpm_np.nn.fast import GroupNorm, SiLU, activations, norm
    shape = (6, 8, 28, 28)
    x = ORDERS[order]((rng.standard_normal(shape) * 2 + 1).astype(dtype))
    dy = ORDERS[order](rng.standard_normal(shape).astype(dtype))

    def run():
        gn = GroupNorm(4, 8, dtype=dtype)
        gn.scale.data[:] = np.linspace(0.5, 2, 8)
        act = SiLU()
        y = act(gn(x))
        dx = gn.backward(act.backward(dy))
        return y, dx, gn.scale.grad, gn.shift.grad

    monkeypatch.setenv("DDPM_NP_THREADS", "1")
    want = run()
    monkeypatch.setenv("DDPM_NP_THREADS", workers)
    calls = []

    def every_sample_a_chunk(task, n_items, item_bytes):
        calls.append(n_items)
        threads.run_chunks(lambda i, s, e, w: task(s, e), [(k, k + 1) for k in range(n_items)])

    for module in (norm, activations):
        monkeypatch.setattr(module, "over_batch", every_sample_a_chunk)
    got = run()
    assert calls == [6] * 4                  # GN and SiLU, forward and backward
    for name, a, e in zip(("y", "dx", "dscale", "dshift"), got, want):
        np.testing.assert_array_equal(a, e, err_msg=name)


def test_over_batch_covers_every_sample_once(monkeypatch):
    monkeypatch.setenv("DDPM_NP_THREADS", "2")
    for n, item_bytes in ((0, 10), (1, 1 << 30), (5, 10), (64, 1 << 20)):
        seen = np.zeros(n, int)

        def task(start, stop):
            seen[start:stop] += 1

        threads.over_batch(task, n, item_bytes)
        assert (seen == 1).all()
