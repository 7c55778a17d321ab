"""Choices made by measurement (nn/fast/tuning.py): the fastest candidate is kept and
remembered, a slow one never chosen, a changed machine key recalibrates, a bad cache is one
warning line and never an error, concurrent writers do not corrupt the cache, and off means
the rules."""
import json
import multiprocessing
import os
import time
import warnings

import numpy as np
import pytest

from ddpm_np.nn.fast import conv, tuning


@pytest.fixture
def calibrating(tmp_path, monkeypatch):
    """Calibration on, with a cache folder of the test's own; the process's table forgotten
    before and after."""
    monkeypatch.setenv("DDPM_NP_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("DDPM_NP_CALIBRATE", "1")
    tuning.forget()
    yield tuning.cache_path()
    tuning.forget()


def fake_times(times, calls=None):
    def measure(c):
        if calls is not None:
            calls.append(c)
        return times[c]
    return measure


def test_the_fastest_candidate_is_chosen_and_remembered(calibrating):
    calls = []
    assert tuning.choose("k", (0, 2, 4), 0, fake_times({0: 1.0, 2: 0.5, 4: 2.0}, calls)) == 2
    assert tuning.choose("k", (0, 2, 4), 0, fake_times({0: 1.0, 2: 9.0, 4: 2.0}, calls)) == 2
    assert calls == [0, 2, 4]                               # measured once
    tuning.forget()                                         # a new process reads the cache
    assert tuning.choose("k", (0, 2, 4), 0, None) == 2
    stored = json.loads(calibrating.read_text())
    assert stored["machine"] == tuning.machine_key()
    assert stored["choices"]["k"]["seconds"] == {"0": 1.0, "2": 0.5, "4": 2.0}


def test_the_rule_stays_when_the_others_are_within_the_noise(calibrating):
    assert tuning.choose("k", (0, 2), 0, fake_times({0: 1.0, 2: 0.98})) == 0


def test_off_means_the_rule_and_no_measuring(calibrating, monkeypatch):
    monkeypatch.setenv("DDPM_NP_CALIBRATE", "0")
    assert tuning.choose("k", (0, 2), 0, fake_times({0: 9.0, 2: 1.0})) == 0
    assert not calibrating.exists()
    tuning.set_enabled(True)                                # the setting wins over the variable
    try:
        assert tuning.choose("k", (0, 2), 0, fake_times({0: 9.0, 2: 1.0})) == 2
    finally:
        tuning.set_enabled(None)


def test_a_deliberately_slow_route_is_never_chosen(calibrating, monkeypatch):
    """The real measurement of a convolution's routes, with F(4×4) slowed down."""
    slow = conv.winograd_forward

    def slowed(x, W, b, ws, m, add):
        if m == 4:
            time.sleep(0.05)
        return slow(x, W, b, ws, m, add)

    monkeypatch.setattr(conv, "winograd_forward", slowed)
    for C, O, H in [(32, 32, 8), (64, 64, 4)]:
        name, m = conv.route(3, 3, 1, 1, C, O, H, H, N=4)
        assert m != 4
        seconds = tuning.table()[conv.winograd_key(C, O, H, H, 4, np.float32)]["seconds"]
        assert seconds["4"] > 0.05 > max(seconds["0"], seconds["2"])


def test_a_calibrated_route_gives_the_same_numbers(calibrating, rng):
    x = rng.standard_normal((4, 16, 8, 8)).astype(np.float32)
    W = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    for m in (0, 2, 4):
        tuning.install({conv.winograd_key(16, 16, 8, 8, 4, np.float32):
                        {"choice": m, "seconds": {}}}, frozen=True)
        assert conv.route(3, 3, 1, 1, 16, 16, 8, 8, N=4) == (("winograd", m) if m else
                                                              ("im2col", 0))
        y, _ = conv.conv2d_forward(x, W, b, 1, 1)
        expected, _ = conv.conv2d_forward(x, W, b, 1, 1, winograd=0)
        np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def test_a_changed_key_recalibrates(calibrating, monkeypatch):
    tuning.choose("k", (0, 2), 0, fake_times({0: 1.0, 2: 0.5}))
    other = dict(tuning.machine_key(), cpu="another CPU")
    monkeypatch.setattr(tuning, "machine_key", lambda: other)
    tuning.forget()
    calls = []
    assert tuning.choose("k", (0, 2), 0, fake_times({0: 0.5, 2: 1.0}, calls)) == 0
    assert calls == [0, 2]
    assert json.loads(tuning.cache_path().read_text())["machine"]["cpu"] == "another CPU"
    first = json.loads(calibrating.read_text())             # the other environment's, kept
    assert first["machine"]["cpu"] != "another CPU" and first["choices"]["k"]["choice"] == 2


@pytest.mark.parametrize("content", ["{not json", json.dumps([1, 2]),
                                     json.dumps({"format": "something else", "choices": {}}),
                                     "\x00\x01binary"])
def test_a_corrupt_or_foreign_cache_is_one_warning_and_is_replaced(calibrating, content):
    calibrating.parent.mkdir(parents=True, exist_ok=True)
    calibrating.write_text(content)
    with pytest.warns(RuntimeWarning, match="not usable") as caught:
        assert tuning.choose("k", (0, 2), 0, fake_times({0: 1.0, 2: 0.5})) == 2
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert json.loads(calibrating.read_text())["choices"]["k"]["choice"] == 2


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root may write anywhere")
def test_an_unwritable_cache_is_one_warning_and_the_choice_is_kept(calibrating):
    calibrating.parent.chmod(0o500)
    try:
        with pytest.warns(RuntimeWarning, match="cannot be written"):
            assert tuning.choose("k", (0, 2), 0, fake_times({0: 1.0, 2: 0.5})) == 2
        assert tuning.choose("k", (0, 2), 0, None) == 2
    finally:
        calibrating.parent.chmod(0o700)


def test_a_cache_folder_that_is_a_file_is_one_warning(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("DDPM_NP_CACHE_DIR", str(blocker / "ddpm_np"))
    monkeypatch.setenv("DDPM_NP_CALIBRATE", "1")
    tuning.forget()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert tuning.choose("k", (0, 2), 0, fake_times({0: 1.0, 2: 0.5})) == 2
            assert tuning.choose("j", (0, 2), 0, fake_times({0: 1.0, 2: 0.5})) == 2
        assert len(caught) == 1 and "cannot be written" in str(caught[0].message)
    finally:
        tuning.forget()


def _writer(folder, i, n):
    os.environ["DDPM_NP_CACHE_DIR"] = folder
    os.environ["DDPM_NP_CALIBRATE"] = "1"
    tuning.forget()
    for j in range(n):
        tuning.choose(f"process {i} key {j}", (0, 2), 0, lambda c: 1.0 - c / 4)


def test_processes_calibrating_at_once_keep_every_choice(calibrating):
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_writer, args=(str(calibrating.parent), i, 10))
               for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    choices = json.loads(calibrating.read_text())["choices"]
    assert len(choices) == 40 and all(c["choice"] == 2 for c in choices.values())
    assert not list(calibrating.parent.glob("*.tmp"))


def test_the_key_names_numpys_blas_whatever_else_is_loaded():
    """SciPy brings an OpenBLAS of its own; the key must not depend on whether it is loaded."""
    import scipy.linalg  # noqa: F401
    tuning.machine_key.cache_clear()
    try:
        key = tuning.machine_key()
        assert key["blas"].count(";") == 0 and key["numpy"] == np.__version__
    finally:
        tuning.machine_key.cache_clear()
