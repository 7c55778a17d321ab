"""The benchmarks run and report what they claim (their figures are for reading, not testing)."""
import numpy as np

from ddpm_np.benchmarks import unet as bench


def test_bench_conv_reports_every_tier_and_input_for_every_shape(monkeypatch):
    monkeypatch.setattr(bench, "gemm_gflops", lambda n=2048, repeats=5, rng=None: 100.0)
    lines = []
    rows = bench.bench_conv(batch=2, repeats=1, out=lines.append)
    assert [(r["name"], r["layout"]) for r in rows] == \
        [(s[0], layout) for s in bench.CONV_SHAPES
         for layout in ("fast, channels-last", "fast, NCHW", "reference")]
    for r in rows:
        assert r["fwd_ms"] > 0 and r["bwd_ms"] > 0
        assert abs(r["fwd_frac"] - r["fwd_gflops"] / 100.0) < 1e-12
    assert any("channels-last" in line for line in lines)


def test_model_flops_counts_the_unet_as_laid_out_and_as_performed():
    """352 MFLOP/image as laid out, 194 performed (the up-sampling convolutions at low
    resolution, Winograd's products where it runs), and the layers are left as they were."""
    from ddpm_np.models import UNet
    model = UNet(num_classes=10, rng=np.random.default_rng(0), tier="fast")
    x = np.zeros((2, 1, 28, 28), np.float32)
    performed, literal = bench.model_flops(model, lambda: model(x, np.array([1, 2]),
                                                               np.array([1, 2])))
    assert round(literal / 2e6) == 352 and round(performed / 2e6) == 194
    assert all("forward" not in vars(m) for m in model.modules())
    ref = UNet(num_classes=10, rng=np.random.default_rng(0), tier="reference")
    assert bench.model_flops(ref, lambda: ref(x, np.array([1, 2]), np.array([1, 2]))) == \
        (literal, literal)


def test_conv_flops_of_one_layer(rng):
    from ddpm_np.benchmarks.flops import conv_flops
    from ddpm_np.nn import Conv2d, UpsampleConv2d, fast
    conv = Conv2d(4, 6, 3, stride=2, padding=1, rng=rng)
    assert conv_flops(conv, (5, 4, 9, 8)) == 2 * 5 * 5 * 4 * 6 * 4 * 9    # 5×4 outputs
    up, quick = UpsampleConv2d(4, 5, rng=rng), fast.UpsampleConv2d(4, 5, rng=rng)
    literal = conv_flops(Conv2d(4, 5, 3, padding=1, rng=rng), (2, 4, 12, 12))
    assert conv_flops(up, (2, 4, 6, 6)) == conv_flops(quick, (2, 4, 6, 6), False) == literal
    assert conv_flops(quick, (2, 4, 6, 6)) < 0.7 * literal
    wino = fast.Conv2d(32, 32, 3, padding=1, rng=rng)                       # F(4×4) at 28×28
    assert conv_flops(wino, (1, 32, 28, 28)) == 2 * 49 * 36 * 32 * 32


def test_the_gemm_floor_covers_every_convolution_and_the_unet_bench_reports_it(monkeypatch):
    from ddpm_np.benchmarks.bounds import conv_gemm_shapes, gemm_floor
    from ddpm_np.models import UNet
    model = UNet(num_classes=10, rng=np.random.default_rng(0))
    x = np.zeros((2, 1, 28, 28), np.float32)
    shapes = conv_gemm_shapes(model, lambda: model(x, np.array([1, 2]), np.array([1, 2])))
    # the im2col route's products: 299 MFLOP/image (the up-sampling at low resolution)
    assert round(sum(2 * M * K * N for M, K, N, C in shapes) / 2 / 1e6) == 299
    assert all("forward" not in vars(m) for m in model.modules())
    f = gemm_floor(shapes[:3], repeats=1)
    assert 0 < f["forward_s"] < f["step_s"]
    monkeypatch.setattr(bench, "gemm_gflops", lambda n=2048, repeats=5, rng=None: 100.0)
    lines = []
    r = bench.bench_unet(batch=2, repeats=1, out=lines.append)
    assert r["floor_step_s"] > 0 and 0 < r["forward2_s"] and r["forward2_peak_mib"] > 0
    assert abs(r["fraction"] - 3 * 352e-3 * 2 / r["step_s"] / 100.0) < 1e-3
    assert "GEMM floor" in lines[-1]


def test_bench_scaling_prints_the_table_and_draws_the_curves(monkeypatch, tmp_path):
    from ddpm_np.benchmarks import scaling
    monkeypatch.setattr(scaling, "BATCHES", (2, 4))
    monkeypatch.setattr(scaling, "SIZES", (28, 32))
    monkeypatch.setattr(scaling, "step_seconds",
                        lambda batch, size, repeats=2: 0.01 * batch * size ** 2 / 784)
    lines = []
    r = scaling.bench_scaling(figure=tmp_path / "s.png", repeats=1, out=lines.append)
    assert r["by_batch"] == {2: 0.02, 4: 0.04} and set(r["by_size"]) == {28, 32}
    assert (tmp_path / "s.png").stat().st_size > 10_000 and len(lines) == 7


def test_a_training_step_of_a_larger_image_runs():
    from ddpm_np.benchmarks.scaling import step_seconds
    assert step_seconds(2, 32, repeats=1) > 0


def test_bench_profile_lists_every_kind_of_layer_and_removes_its_timers(monkeypatch, fast_tier):
    from ddpm_np.benchmarks import profile as bp
    made = []
    real_unet = __import__("ddpm_np.models", fromlist=["UNet"]).UNet

    def unet(**kw):
        made.append(real_unet(**kw))
        return made[-1]

    monkeypatch.setattr("ddpm_np.models.UNet", unet)
    lines = []
    r = bp.bench_profile(batch=2, repeats=1, out=lines.append)
    assert set(r) == {"step", "forward", "trainer"}
    assert set(r["trainer"]) >= {"the whole step", "EMA update", "batch drawn from the data"}
    assert any(line.startswith("a Trainer step at batch 2") for line in lines)
    kinds = {k for k, _ in r["step"]["layers"]}
    assert "GroupNormSiLU" in kinds and "Conv2d 3×3 32→32 @28 F(4×4)" in kinds
    assert "Conv2d 3×3 128→128 @7" in kinds and "UpsampleConv2d 3×3 64→64 @14" in kinds
    assert any(line.startswith("training step") for line in lines)
    assert all("forward" not in vars(m) and "backward" not in vars(m)
               for m in made[0].modules())


def test_bench_levers_compares_every_lever_without_touching_the_rules():
    from ddpm_np.benchmarks.levers import CONV_SHAPES, NORM_SHAPES, bench_levers
    from ddpm_np.nn.fast import conv, conv_narrow
    rule, narrow = conv.use_winograd, conv_narrow.NARROW_CHANNELS
    lines = []
    bench_levers(batch=1, repeats=1, out=lines.append)
    assert conv.use_winograd is rule and conv_narrow.NARROW_CHANNELS == narrow
    assert sum("@" in line and "rule" not in line for line in lines) == \
        len(CONV_SHAPES) + len(NORM_SHAPES) + 4 + 3


def test_bench_busy_times_each_workload_quiet_and_busy_and_ends_its_loops(monkeypatch):
    """The mechanism, on stand-in workloads: two rows of positive times, and the busy loops
    are gone afterwards (the figures themselves are measured by hand, not in tests)."""
    import subprocess
    import sys

    from ddpm_np.benchmarks import busy
    monkeypatch.setattr(busy, "workloads", lambda quick, folder: [
        ("wall", [sys.executable, "-c", "pass"], {}, "wall"),
        ("stdout", [sys.executable, "-c", "print(0.25)"], {}, "stdout")])
    started = []
    real = subprocess.Popen
    monkeypatch.setattr(busy.subprocess, "Popen",
                        lambda *a, **k: started.append(real(*a, **k)) or started[-1])
    lines = []
    rows = busy.bench_busy(quick=True, out=lines.append)
    assert [r["workload"] for r in rows] == ["wall", "stdout"]
    assert rows[1]["quiet_s"] == rows[1]["busy_s"] == 0.25 and rows[0]["quiet_s"] > 0
    loops = [p for p in started if busy.LOOP in p.args]
    assert len(loops) == 4 and all(p.poll() is not None for p in started)
    assert len(lines) == 3


def test_bench_calibrate_measures_the_default_shapes_again_and_prints_every_candidate(
        monkeypatch, tmp_path, capsys):
    from ddpm_np.benchmarks import calibrate
    from ddpm_np.cli import main
    from ddpm_np.nn.fast import tuning
    assert (32, 32, 28, 28) in calibrate.default_conv_shapes()
    assert all(C > 3 and O > 3 for C, O, _, _ in calibrate.default_conv_shapes())
    monkeypatch.setattr(calibrate, "default_conv_shapes", lambda batch: [(16, 16, 8, 8)])
    monkeypatch.setenv("DDPM_NP_CACHE_DIR", str(tmp_path))
    timings = []
    monkeypatch.setattr(tuning, "best_seconds", lambda fn, repeats=5: timings.append(1) or 1e-3)
    tuning.forget()
    try:
        for runs in (1, 2):                                 # again: measured both times
            assert main(["bench", "calibrate", "--batch", "4"]) == 0
            assert len(timings) == 6 * runs                 # 3 chunk sizes, 3 routes
            out = capsys.readouterr().out
            assert "DDPM_NP_CALIBRATE is off" in out        # the tests' setting
            row = next(line for line in out.splitlines() if "conv 3x3 16->16 @8x8, batch 4" in line)
            assert "im2col 1.0, F(2×2) 1.0, F(4×4) 1.0" in row and "| im2col |" in row
            assert "1 MiB 1.0, 2 MiB 1.0, 4 MiB 1.0" in out
        assert not tuning.enabled()
        assert len(tuning.table()) == 2
    finally:
        tuning.forget()
