"""The ResBlock on both tiers: float64 gradient checks of both inputs and every parameter, and
the fast twin against the reference block with the same parameters."""
import numpy as np
import pytest

import ddpm_np.nn as ref
from ddpm_np.nn import fast
from ddpm_np.nn.gradcheck import check_module

from .layouts import channels_last


def randomised(block, rng):
    """conv₂ starts at zero (the block starts as its skip); give every parameter a value."""
    for _, p in block.named_parameters():
        p.data[...] = rng.standard_normal(p.shape) * 0.3
    return block


@pytest.mark.parametrize("N", [1, 3])
@pytest.mark.parametrize("cin,cout", [(4, 4), (4, 6)])
def test_resblock_gradcheck(rng, L, N, cin, cout):
    block = randomised(L.ResBlock(cin, cout, 5, groups=2, rng=rng, dtype=np.float64), rng)
    x, temb_act = rng.standard_normal((N, cin, 5, 7)), rng.standard_normal((N, 5))
    errors = check_module(block, (x, temb_act), rng, max_per_param=20)
    want = {"input0", "input1"} | {n for n, _ in block.named_parameters()}
    assert set(errors) == want
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


@pytest.mark.parametrize("cin,cout", [(32, 32), (32, 64)])
def test_fast_resblock_matches_the_reference(rng, cin, cout):
    """The same parameters give the same output and gradients (float64, channels-last input as
    the fast UNet feeds it), epilogue adds and GEMV channel sums included."""
    blocks = {}
    for name, tier in (("ref", ref), ("fast", fast)):
        blocks[name] = tier.ResBlock(cin, cout, 16, rng=np.random.default_rng(1), dtype=np.float64)
    randomised(blocks["ref"], rng)
    blocks["fast"].load_state_dict(blocks["ref"].state_dict())
    x, temb_act = rng.standard_normal((3, cin, 14, 14)), rng.standard_normal((3, 16))
    dout = rng.standard_normal((3, cout, 14, 14))
    want = blocks["ref"](x, temb_act)
    got = blocks["fast"](channels_last(x), temb_act)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    (dx_r, dt_r), (dx_f, dt_f) = (b.backward(dout) for b in (blocks["ref"], blocks["fast"]))
    np.testing.assert_allclose(dx_f, dx_r, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dt_f, dt_r, rtol=1e-10, atol=1e-10)
    for (name, pr), (_, pf) in zip(blocks["ref"].named_parameters(),
                                   blocks["fast"].named_parameters()):
        np.testing.assert_allclose(pf.grad, pr.grad, rtol=1e-9, atol=1e-9, err_msg=name)


def test_resblock_backward_before_forward_is_a_clear_error(rng, L):
    with pytest.raises(RuntimeError, match="backward called before forward"):
        L.ResBlock(4, 4, 5, groups=2, rng=rng).backward(np.zeros((1, 4, 3, 3), np.float32))
