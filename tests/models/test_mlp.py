import numpy as np
import pytest

from ddpm_np.models import MLP, TimeEmbedding
from ddpm_np.nn.gradcheck import check_module, random_direction_check


def small_mlp(rng, **kw):
    m = MLP(hidden=8, num_blocks=2, emb_dim=4, fourier_features=3, rng=rng, dtype=np.float64, **kw)
    m.out.W.data[:] = rng.standard_normal(m.out.W.shape)  # zero-init would hide the rest
    return m


@pytest.mark.parametrize("N", [1, 3])
def test_mlp_elementwise_gradcheck(rng, N):
    m = small_mlp(rng)
    errors = check_module(m, (rng.standard_normal((N, 2)), rng.integers(1, 1000, N)), rng)
    assert len(errors) == 1 + len(m.parameters())
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_mlp_without_fourier_features_and_default_size_random_direction(rng):
    small = MLP(hidden=8, num_blocks=1, emb_dim=4, fourier_features=0, rng=rng, dtype=np.float64)
    small.out.W.data[:] = 1.0
    assert max(check_module(small, (rng.standard_normal((2, 2)), np.array([1, 7])),
                            rng).values()) < 1e-6
    big = MLP(rng=rng, dtype=np.float64)
    big.out.W.data[:] = rng.standard_normal(big.out.W.shape) * 0.1
    errors = random_direction_check(big, (rng.standard_normal((16, 2)),
                                          rng.integers(1, 200, 16)), rng)
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_mlp_shapes_dtypes_and_zero_init(rng):
    m = MLP(rng=rng)
    x = rng.standard_normal((5, 2)).astype(np.float32)
    y = m(x, np.arange(1, 6))
    assert y.shape == (5, 2) and y.dtype == np.float32
    np.testing.assert_array_equal(y, 0)   # zero-initialised output layer
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        m(x[:, :1].copy(), np.arange(1, 6))
    with pytest.raises(TypeError, match="dtype"):
        m(x.astype(np.float64), np.arange(1, 6))


def test_time_embedding_class_labels(rng):
    te = TimeEmbedding(8, 6, num_classes=3, rng=rng, dtype=np.float64)
    t, y = np.array([1, 5, 9]), np.array([0, 3, 2])
    out = te(t, y)
    dout = rng.standard_normal(out.shape)
    te.zero_grad()
    te.backward(dout)
    expected = np.zeros_like(te.class_emb.data)
    for i, k in enumerate(y):
        expected[k] += dout[i]
    np.testing.assert_allclose(te.class_emb.grad, expected)
    with pytest.raises(ValueError, match="0..3"):
        te(t, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="unconditional"):
        TimeEmbedding(8, 6, rng=rng)(t, y)
