"""Keep freed memory inside the process, so that big temporary arrays stop page-faulting.

A training step allocates and frees hundreds of arrays of a few megabytes: layer outputs,
gradients, temporaries. By default glibc's malloc hands blocks of 128 KiB and more back to the
operating system when they are freed (and trims the top of its heap once 128 KiB are free), so
the next array of that size starts as untouched pages, and the first write to each 4 KiB page
costs a page fault, paid again on every call. `keep_freed_memory()` raises both thresholds
(mallopt M_MMAP_THRESHOLD to 32 MiB, glibc's ceiling, and M_TRIM_THRESHOLD to 1 GiB), so freed
blocks stay in the heap and are reused (its effect on a UNet step: docs/performance.md). The
price: the process keeps its peak heap size instead of returning it between steps.

The `ddpm-np` command calls it at start, and the fast tier the first time one of its layers
runs (`once`), like the BLAS's threads (threads.hold_blas): a program that runs the fast tier
gets the speed of the command. Not on import, since it changes the whole process's allocator;
`keep_freed_memory(128 << 10, 128 << 10)` gives glibc's defaults back.
"""
import ctypes
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3     # glibc's malloc.h
_done = False


def keep_freed_memory(mmap_threshold: int = 32 << 20, trim_threshold: int = 1 << 30) -> bool:
    """Tell glibc's malloc to keep freed blocks for reuse; True if it took effect (False on
    systems without glibc's mallopt, where nothing changes)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))) and \
        bool(mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)))


def once():
    """keep_freed_memory() the first time it is called in the process (by a fast layer)."""
    global _done
    if not _done:
        _done = True
        keep_freed_memory()
