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
