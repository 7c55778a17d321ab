"""Running the per-chunk work of a convolution (and of the per-sample layers) on every core.

Why: one big im2col followed by one big GEMM leaves a core idle during the copy (NumPy copies run
on one thread) and makes the GEMM stream a patch matrix far larger than the caches from memory.
Splitting the batch into chunks of a few images and giving each core whole chunks
(pad → im2col → GEMM → transpose, with a single-threaded BLAS) runs the copies on all cores and
feeds each GEMM a patch matrix that was written a moment ago and is still in cache. On the
2-core machine this was developed on (`ddpm-np bench conv`), a 32→32 3×3 conv at 28×28, batch
64, went from 15.0 to 8.2 ms forward and from 24.2 to 15.3 ms backward.

NumPy releases the GIL in copies and in BLAS calls, so plain Python threads suffice. While the
threads run, the BLAS library is switched to one thread (two threads each asking a multi-threaded
BLAS for every core would oversubscribe), and switched back afterwards. NumPy exposes no switch,
so `_find_blas_threads` looks for OpenBLAS's own `*_set_num_threads` in the library NumPy's
wheels bundle. When it is not found (NumPy built against MKL or Accelerate, say), threading is
off: each convolution is one chunk, one big GEMM on the BLAS's own threads.

Results do not depend on the number of threads nor on which thread ran which chunk: chunks are
fixed by the batch size alone (one chunk when threading is off), and per-chunk partial sums are
added in chunk order by the caller.

What chunks cost: the Python between NumPy calls runs under the GIL, one thread at a time, and
each NumPy call that releases the GIL is a hand-off where a thread may wait for the other. So a
chunk should do few NumPy calls on much data: chunks of about 2 MiB (smaller ones measured
slower at every shape here, 4× slower for the stride-2 backward at 256 KiB), and no call that
could be done once per buffer instead of once per chunk (zeroing padding, for instance).
The per-sample layers (GroupNorm, SiLU) have no partial sums to keep in order, so `over_batch`
gives each thread one slice of the batch (for GroupNorm at 28×28×32, 1.4 → 0.9 ms forward and
2.7 → 1.5 ms backward; chunks of 2 MiB there were no faster than one thread) and leaves work
under 2 MiB to one call.

Environment: DDPM_NP_THREADS=k uses k threads (1 turns the threading off).
"""
import contextlib
import ctypes
import glob
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

_lock = threading.Lock()           # one parallel region at a time
_depth_lock = threading.Lock()
_depth = 0                          # nesting depth of one_blas_thread()
_saved = []                         # BLAS thread count to restore when the depth returns to 0
_pool = None                        # worker threads beyond the calling one, made on first use
_pool_size = 0


def _find_blas_threads():
    """(get_num_threads, set_num_threads) of the OpenBLAS that NumPy bundles, or None."""
    root = os.path.dirname(np.__file__)
    candidates = []
    for folder in (os.path.join(root, os.pardir, "numpy.libs"), os.path.join(root, ".dylibs")):
        candidates += sorted(glob.glob(os.path.join(folder, "*openblas*")))
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                try:
                    get = getattr(lib, f"{prefix}get_num_threads{suffix}")
                    set_ = getattr(lib, f"{prefix}set_num_threads{suffix}")
                except AttributeError:
                    continue
                get.restype, get.argtypes = ctypes.c_int, []
                set_.restype, set_.argtypes = None, [ctypes.c_int]
                return get, set_
    return None


_BLAS = _find_blas_threads()


def num_threads() -> int:
    """Threads used for chunked work: DDPM_NP_THREADS, else the cores this process may use;
    1 when the BLAS thread count cannot be controlled."""
    env = os.environ.get("DDPM_NP_THREADS")
    if env is not None:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"DDPM_NP_THREADS must be an integer, got {env!r}") from None
    else:
        n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, n or 1) if _BLAS is not None else 1


def chunk_bounds(n_items: int, item_bytes: int, target_bytes: int = 2 << 20):
    """Split range(n_items) into consecutive (start, stop) chunks of about `target_bytes` of
    work memory each (at least one item per chunk). Depends on the sizes only, never on the
    thread count, so that results are the same however many threads run them; with threading
    off (one thread, or no BLAS control) it is one chunk, the single big GEMM of old."""
    if num_threads() <= 1:
        return [(0, n_items)]
    per = max(1, min(n_items, round(target_bytes / max(item_bytes, 1))))
    # a count of chunks that is a multiple of 4 where possible, sizes differing by at most one,
    # so that 2 or 4 threads finish together (64 items by 14 would leave 36 to one thread, 28
    # to the other)
    count = -(-n_items // per)                          # ⌈n/per⌉
    count = min(n_items, count + (-count) % 4)          # up to a multiple of 4
    bounds = [n_items * k // count for k in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def largest(chunks) -> int:
    """The largest chunk's size, for sizing per-thread scratch buffers."""
    return max(e - s for s, e in chunks)


def run_chunks(task, chunks):
    """Call task(i, start, stop, worker) for every chunk (worker: 0 … threads−1, for per-thread
    scratch buffers); in parallel when more than one thread is available and there is more than
    one chunk, each chunk on the next free thread. Exceptions propagate after all threads stop.
    A task must not call run_chunks itself (one parallel region at a time: it would deadlock)."""
    T = min(num_threads(), len(chunks))
    if T <= 1:
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
    with _lock, one_blas_thread():
        if _pool_size < T - 1:
            if _pool is not None:
                _pool.shutdown()
            _pool = ThreadPoolExecutor(max_workers=T - 1, thread_name_prefix="ddpm_np")
            _pool_size = T - 1
        futures = []
        try:
            futures = [_pool.submit(worker, w) for w in range(1, T)]
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
    T = min(num_threads(), n_items)
    if n_items * item_bytes < min_bytes or T < 2:
        if n_items:
            task(0, n_items)
        return
    bounds = [n_items * k // T for k in range(T + 1)]
    run_chunks(lambda i, start, stop, w: task(start, stop), list(zip(bounds[:-1], bounds[1:])))


@contextlib.contextmanager
def one_blas_thread():
    """Run the BLAS on one thread inside the block (nestable; a no-op without BLAS control).

    `run_chunks` enters it for each call. A whole model pass should enter it once around all of
    its layers (the UNet does): OpenBLAS's own threads busy-wait for about 0.1 s after each
    multi-threaded call, and while they spin they take the cores our chunk threads need (a UNet
    training step measured 0.89 s with per-call switching, 0.61 s with one switch per pass).
    Inside the block every large product should go through `run_chunks`, or it runs on one core.
    """
    global _depth
    if num_threads() <= 1:
        yield
        return
    get, set_ = _BLAS
    with _depth_lock:
        if _depth == 0:
            _saved.append(get())
            set_(1)
        _depth += 1
    try:
        yield
    finally:
        with _depth_lock:
            _depth -= 1
            if _depth == 0:
                set_(_saved.pop())
