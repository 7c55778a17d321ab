"""Running the per-chunk work of the fast layers on every core.

Why: one big im2col followed by one big GEMM leaves a core idle during the copy (NumPy copies run
on one thread) and makes the GEMM stream a patch matrix far larger than the caches. Splitting
the batch into chunks of a few images and giving each core whole chunks (pad → im2col → GEMM,
with a single-threaded BLAS) runs the copies on all cores and feeds each GEMM a patch matrix that
was written a moment ago and is still in cache.

NumPy releases the GIL in copies and in BLAS calls, so plain Python threads suffice. The BLAS
runs on one thread (two threads each asking a multi-threaded BLAS for every core would
oversubscribe them), decided once per process (`hold_blas`): from the first call of a fast layer
on, the fast tier's threads are the parallelism, every large product runs in chunks on them, and
every small one runs on the calling thread. A BLAS thread pool is little help to those, and on a
busy machine its threads, spinning while they wait for work, cost several times the work itself
(`ddpm-np bench busy`, docs/performance.md). `release_blas()` gives the BLAS its threads back.
`threadpoolctl` does the holding, for whichever BLAS or OpenMP runtime NumPy is built with, on
every OS.

Results do not depend on the number of threads nor on which thread ran which chunk: chunks are
fixed by the batch size alone (one chunk when threading is off), and per-chunk partial sums are
added in chunk order by the caller.

What a chunk costs: the Python between NumPy calls runs under the GIL, one thread at a time, and
each NumPy call that releases the GIL is a hand-off where a thread may wait for the other. So a
chunk should do few NumPy calls on much data (chunks of about 2 MiB), and nothing that could be
done once per buffer instead of once per chunk (zeroing padding, for instance). The per-sample
layers (GroupNorm, SiLU) have no partial sums to keep in order, so `over_batch` gives each thread
one slice of the batch, and leaves work under 2 MiB to one call.

Environment: DDPM_NP_THREADS=k uses k threads (1 turns the threading off).
"""
import itertools
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

from threadpoolctl import ThreadpoolController

from ... import environment

_lock = threading.Lock()           # one parallel region at a time
_depth_lock = threading.Lock()      # guards _held
_held = None                        # [(BLAS library, its threads before)] while hold_blas() holds
_blas = None                        # the BLAS libraries of this process, found once
_controller = None                  # the BLAS and OpenMP runtimes of this process, found once
_pool = None                        # worker threads beyond the calling one, made on first use
_pool_size = 0
_parallel_seconds = [0.0]           # wall time inside run_chunks (parallel_seconds)


def _runtimes() -> ThreadpoolController:
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def num_threads() -> int:
    """Threads used for chunked work: DDPM_NP_THREADS, else the cores this process may use."""
    n = environment.number("DDPM_NP_THREADS")
    if n is None:
        n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, n or 1)


CHUNK_BYTES = 2 << 20                   # the rule; calibrated: one of CHUNK_CANDIDATES
CHUNK_CANDIDATES = (1 << 20, 2 << 20, 4 << 20)


def chunk_bytes(measure=None) -> int:
    """Work memory per chunk: CHUNK_BYTES, or this machine's fastest (tuning.py) once measured
    by `measure(candidate) -> seconds` (conv.calibrated_chunk_bytes times a convolution)."""
    from . import tuning
    return tuning.choose(f"chunk bytes, {num_threads()} threads", CHUNK_CANDIDATES,
                         CHUNK_BYTES, measure)


def chunk_bounds(n_items: int, item_bytes: int, target_bytes: int | None = None):
    """Split range(n_items) into consecutive (start, stop) chunks of about `target_bytes` of
    work memory each (default: `chunk_bytes()`; at least one item per chunk). Depends on the
    sizes only, never on which thread runs a chunk, so that results are the same run after run;
    with threading off it is one chunk: one big GEMM on the BLAS's own threads."""
    if n_items == 0:
        return []
    if num_threads() <= 1:
        return [(0, n_items)]
    if target_bytes is None:
        target_bytes = chunk_bytes()
    per = max(1, min(n_items, round(target_bytes / max(item_bytes, 1))))
    # a count of chunks that is a multiple of 4 where possible, sizes differing by at most one,
    # so that 2 or 4 threads finish together (64 items by 14 would leave 36 to one thread, 28
    # to the other)
    count = -(-n_items // per)                          # ⌈n/per⌉
    count = min(n_items, count + (-count) % 4)          # up to a multiple of 4
    bounds = [n_items * k // count for k in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def largest(chunks) -> int:
    """The largest chunk's size, for sizing per-thread scratch buffers (0 for no chunks)."""
    return max((e - s for s, e in chunks), default=0)


def run_chunks(task, chunks):
    """Call task(i, start, stop, worker) for every chunk (worker: 0 … threads−1, for per-thread
    scratch buffers); in parallel when more than one thread is available and there is more than
    one chunk, each chunk on the next free thread. Exceptions propagate after all threads stop.
    A task must not call run_chunks itself (one parallel region at a time: it would deadlock)."""
    start = time.perf_counter()
    try:
        _run(task, chunks)
    finally:
        _parallel_seconds[0] += time.perf_counter() - start


def parallel_seconds() -> float:
    """Wall seconds spent inside run_chunks since the process started (the benchmarks' measure
    of the time the cores work together; the rest of a pass runs on one core)."""
    return _parallel_seconds[0]


def _run(task, chunks):
    n_threads = min(num_threads(), len(chunks))
    if n_threads <= 1:
        for i, (s, e) in enumerate(chunks):
            task(i, s, e, 0)
        return

    take = itertools.count()                   # next() on it is atomic under the GIL

    def worker(w):
        for i in iter(lambda: next(take), None):   # each worker takes the next free chunk
            if i >= len(chunks):
                return
            task(i, *chunks[i], w)

    global _pool, _pool_size
    hold_blas()
    with _lock:
        if _pool_size < n_threads - 1:
            if _pool is not None:
                _pool.shutdown()
            _pool = ThreadPoolExecutor(max_workers=n_threads - 1, thread_name_prefix="ddpm_np")
            _pool_size = n_threads - 1
        futures = []
        try:
            futures = [_pool.submit(worker, w) for w in range(1, n_threads)]
            worker(0)                           # the calling thread is worker 0
        finally:
            wait(futures)
        for f in futures:
            f.result()                          # re-raise a worker's exception


def over_batch(task, n_items: int, item_bytes: int, min_bytes: int = 2 << 20):
    """Call task(start, stop) on slices of a batch in parallel, for work whose every number
    depends on its own sample only (elementwise layers, per-sample normalisation), so that any
    split gives the same results: one slice per thread, the fewest GIL hand-offs. Work under
    `min_bytes` in all runs in one call: for it, waking a thread costs more than it saves."""
    n_threads = min(num_threads(), n_items)
    if n_items * item_bytes < min_bytes or n_threads < 2:
        if n_items:
            task(0, n_items)
        return
    bounds = [n_items * k // n_threads for k in range(n_threads + 1)]
    run_chunks(lambda i, start, stop, w: task(start, stop), list(zip(bounds[:-1], bounds[1:])))


def _blas_libraries() -> list:
    """threadpoolctl's handles of the BLAS libraries NumPy uses, found once."""
    global _blas
    if _blas is None:
        _blas = [lib for lib in _runtimes().lib_controllers if lib.user_api == "blas"]
    return _blas


def hold_blas():
    """Hold the BLAS to one thread for the rest of the process, once, when the fast tier runs
    on several threads (see the top of this file); every fast layer and parallel region calls
    it. Cheap after the first call."""
    global _held
    if _held is None and num_threads() > 1:
        with _depth_lock:
            if _held is None:
                _held = [(lib, lib.num_threads) for lib in _blas_libraries()]
                for lib, _ in _held:
                    lib.set_num_threads(1)


def release_blas():
    """Give the BLAS back the threads it had before `hold_blas` (for other work in the same
    process, e.g. large products of one's own on a quiet machine)."""
    global _held
    with _depth_lock:
        for lib, n in _held or ():
            lib.set_num_threads(n)
        _held = None


def blas_held() -> bool:
    return _held is not None
