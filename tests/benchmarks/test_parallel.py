"""The data-parallel benchmark runs and its scaling model is the formula in docs/scaling.md."""
import pytest

from ddpm_np.benchmarks.parallel import (bench_train, comm_seconds, efficiency,
                                                scaling_table)


def test_ring_all_reduce_time_is_the_formula():
    g = 4.74e6                                     # bytes
    assert comm_seconds(2, g, 1, latency_s=0) == pytest.approx(g * 8 / 1e9)
    assert comm_seconds(32, g, 10, latency_s=0) == pytest.approx(2 * 31 / 32 * g * 8 / 1e10)
    assert comm_seconds(4, 0, 1, latency_s=1e-3) == pytest.approx(6e-3)


def test_overlap_hides_what_fits_in_the_backward_pass():
    assert efficiency(1.0, 0.6, 0.5, overlap=False) == pytest.approx(1 / 1.5)
    assert efficiency(1.0, 0.6, 0.5, overlap=True) == 1.0
    assert efficiency(1.0, 0.6, 0.8, overlap=True) == pytest.approx(1 / 1.2)


def test_bench_train_prints_its_figures_and_the_table():
    lines = []
    r = bench_train(batch=4, repeats=1, out=lines.append)
    assert r["processes"] == 1 and r["step_s"] > 0 and 0 < r["backward_share"] < 1
    assert r["gradient_mib"] == pytest.approx(4.52, abs=0.01)
    assert "1 process" in lines[0]
    table = scaling_table(r["step_s"], r["backward_share"], r["gradient_mib"] * 2**20)
    assert lines[-len(table):] == table and len(table) == 2 + 6
