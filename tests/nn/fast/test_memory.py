"""keep_freed_memory: freed arrays are reused instead of page-faulted in again."""
import resource
import sys

import numpy as np
import pytest

from ddpm_np.nn.fast.memory import keep_freed_memory


def _minor_faults(fn):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    fn()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_arrays_are_reused_without_page_faults():
    assert keep_freed_memory() is True

    def churn():                 # what a training step does: big temporaries, made and freed
        for _ in range(5):
            a = np.ones(2 << 20, np.float32)            # 8 MiB each, written page by page
            b = a * 2
            del a, b

    churn()                      # the heap grows once...
    pages = 5 * 2 * (8 << 20) // 4096
    faults = _minor_faults(churn)
    assert faults < pages // 10, f"{faults} page faults for {pages} pages written"   # ...then reuses
