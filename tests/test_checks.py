"""The one integer check every layer uses."""
import numpy as np
import pytest

from ddpm_np.checks import check_int


def test_accepts_ints_in_range():
    assert check_int(3, "n") == 3 and type(check_int(np.int64(3), "n")) is int
    assert check_int(0, "padding", low=0) == 0
    assert check_int(5, "steps", high=5) == 5


@pytest.mark.parametrize("value,kw,message", [
    (0, {}, "n must be a positive integer, got 0"),
    (True, {}, "n must be a positive integer, got True"),
    (2.0, {}, "n must be a positive integer, got 2.0"),
    ("3", {}, "n must be a positive integer, got '3'"),
    (-1, {"low": 0}, "n must be an integer ≥ 0, got -1"),
    (6, {"high": 5}, "n must be an integer in 1..5, got 6"),
])
def test_refuses_with_a_message_naming_value_and_range(value, kw, message):
    with pytest.raises(ValueError, match=message):
        check_int(value, "n", **kw)


@pytest.mark.parametrize("value,kw,message", [
    (float("nan"), {}, "x must be a finite number, got nan"),
    (float("inf"), {"low": 0}, "x must be a finite number ≥ 0, got inf"),
    (0.0, {"low": 0, "strict": True}, "x must be a finite number > 0, got 0.0"),
    (1.5, {"low": 0, "high": 1}, "x must be a finite number ≥ 0 and ≤ 1, got 1.5"),
    (True, {}, "x must be a finite number, got True"),
    ("1", {}, "x must be a finite number, got '1'"),
])
def test_check_float_refuses_with_the_range(value, kw, message):
    from ddpm_np.checks import check_float
    with pytest.raises(ValueError, match=message):
        check_float(value, "x", **kw)


def test_check_float_and_memory_accept_what_fits():
    from ddpm_np.checks import check_float, check_memory
    assert check_float(np.float32(0.5), "x", low=0, high=1) == 0.5
    check_memory(10 * 2**30, "a job", limit=16 * 2**30)           # 10 of 16 GiB: under 75%
    with pytest.raises(MemoryError, match="a job needs about 13.0 GiB, more than this "
                                          "machine's 16 GiB allow"):
        check_memory(13 * 2**30, "a job", limit=16 * 2**30)
