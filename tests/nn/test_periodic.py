"""Periodic convolution and tanh on both tiers: against a naive wrap-around loop, float64
gradient checks, translation equivariance, and the fast twin against the reference."""
import numpy as np
import pytest

import ddpm_np.nn as ref
from ddpm_np.nn import fast
from ddpm_np.nn.gradcheck import check_module
from ddpm_np.nn.periodic import circular_fold, circular_pad


def naive_periodic_conv(x, W, b):
    N, C, H, Wd = x.shape
    O, _, k, _ = W.shape
    p = k // 2
    y = np.zeros((N, O, H, Wd))
    for n in range(N):
        for o in range(O):
            for i in range(H):
                for j in range(Wd):
                    for u in range(k):
                        for v in range(k):
                            y[n, o, i, j] += W[o, :, u, v] @ x[n, :, (i + u - p) % H,
                                                               (j + v - p) % Wd]
                    y[n, o, i, j] += b[o]
    return y


@pytest.mark.parametrize("k", [1, 3])
def test_periodic_conv_against_loops(L, rng, k):
    layer = L.PeriodicConv2d(2, 3, k, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 2, 5, 4))
    np.testing.assert_allclose(layer(x), naive_periodic_conv(x, layer.W.data, layer.b.data),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("N", [1, 3])
def test_periodic_conv_gradcheck(L, rng, bias, N):
    layer = L.PeriodicConv2d(2, 3, 3, bias=bias, rng=rng, dtype=np.float64)
    errors = check_module(layer, (rng.standard_normal((N, 2, 5, 7)),), rng)
    assert set(errors) == {"input0", "W"} | ({"b"} if bias else set())
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_pad_and_fold_are_adjoint(rng):
    """⟨pad(x), y⟩ = ⟨x, fold(y)⟩ for random x, y."""
    x, y = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 8, 9))
    assert np.sum(circular_pad(x, 2) * y) == pytest.approx(np.sum(x * circular_fold(y, 2)))


def test_translation_equivariance(L, rng):
    layer = L.PeriodicConv2d(1, 2, 3, rng=rng, dtype=np.float64)
    x = rng.standard_normal((1, 1, 6, 6))
    np.testing.assert_allclose(layer(np.roll(x, (2, -1), axis=(2, 3))),
                               np.roll(layer(x), (2, -1), axis=(2, 3)), atol=1e-13)


def test_fast_twin_matches_reference(rng):
    layers = [tier.PeriodicConv2d(4, 4, 3, rng=np.random.default_rng(0), dtype=np.float64)
              for tier in (ref, fast)]
    x, dout = rng.standard_normal((3, 4, 6, 6)), rng.standard_normal((3, 4, 6, 6))
    out = [layer(x) for layer in layers]
    np.testing.assert_allclose(out[1], out[0], rtol=1e-12, atol=1e-13)
    dx = [layer.backward(dout) for layer in layers]
    np.testing.assert_allclose(dx[1], dx[0], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(layers[1].W.grad, layers[0].W.grad, rtol=1e-12, atol=1e-12)


def test_even_kernel_and_oversized_padding_are_refused(rng):
    with pytest.raises(ValueError, match="odd"):
        ref.PeriodicConv2d(1, 1, 2, rng=rng)
    with pytest.raises(ValueError, match="larger than the field"):
        circular_pad(np.zeros((1, 1, 2, 2)), 3)


def test_tanh_gradcheck(rng):
    errors = check_module(ref.Tanh(), (rng.standard_normal((3, 4)),), rng)
    assert errors["input0"] < 1e-6
