"""The benchmarks run and report what they claim (their figures are for reading, not testing)."""
from ddpm_np import bench


def test_bench_conv_reports_both_layouts_for_every_shape(monkeypatch):
    monkeypatch.setattr(bench, "gemm_gflops", lambda n=2048, repeats=5, rng=None: 100.0)
    lines = []
    rows = bench.bench_conv(batch=2, repeats=1, out=lines.append)
    assert [(r["name"], r["layout"]) for r in rows] == \
        [(s[0], layout) for s in bench.CONV_SHAPES for layout in ("NHWC", "NCHW")]
    for r in rows:
        assert r["fwd_ms"] > 0 and r["bwd_ms"] > 0
        assert abs(r["fwd_frac"] - r["fwd_gflops"] / 100.0) < 1e-12
    assert any("channels-last" in line for line in lines)
