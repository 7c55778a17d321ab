"""The Module contract: dtypes, no input mutation, gradient accumulation, state round trips."""
import numpy as np
import pytest

from ddpm_np.nn import (AvgPool2x, Conv2d, GELU, GroupNorm, Linear, ReLU, SelfAttention2d,
                        Sequential, SiLU, Upsample2x, concat_channels, mse_loss,
                        sinusoidal_embedding, split_channels)
from ddpm_np.nn.gradcheck import numerical_gradient, rel_error


def make_layers(rng, dtype=np.float32):
    return [
        (Linear(4, 3, rng=rng, dtype=dtype), (3, 4)),
        (Conv2d(4, 2, 3, padding=1, rng=rng, dtype=dtype), (2, 4, 6, 6)),
        (GroupNorm(2, 4, dtype=dtype), (2, 4, 6, 6)),
        (SelfAttention2d(4, num_groups=2, rng=rng, dtype=dtype), (2, 4, 2, 2)),
        (SiLU(), (2, 4, 6, 6)), (ReLU(), (2, 4, 6, 6)), (GELU(), (2, 4, 6, 6)),
        (Upsample2x(), (2, 4, 3, 3)), (AvgPool2x(), (2, 4, 6, 6)),
    ]


@pytest.mark.parametrize("index", range(9))
def test_float32_in_out_no_mutation_and_accumulation(rng, index):
    layer, shape = make_layers(rng)[index]
    x = rng.standard_normal(shape).astype(np.float32)
    x0 = x.copy()
    y = layer(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(x, x0)
    dout = rng.standard_normal(y.shape).astype(np.float32)
    dout0 = dout.copy()
    dx1 = layer.backward(dout)
    assert dx1.dtype == np.float32 and dx1.shape == x.shape
    np.testing.assert_array_equal(dout, dout0)
    grads1 = [p.grad.copy() for p in layer.parameters()]
    assert all(g.dtype == np.float32 for g in grads1)
    layer.backward(dout)
    for g1, p in zip(grads1, layer.parameters()):
        np.testing.assert_allclose(p.grad, 2 * g1, rtol=1e-6)
    layer.zero_grad()
    assert all(not p.grad.any() for p in layer.parameters())


@pytest.mark.parametrize("index", range(9))
def test_backward_before_forward_raises(rng, index):
    layer, shape = make_layers(rng)[index]
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros(shape, np.float32))


def test_named_parameters_are_deterministic_and_nested(rng):
    net = Sequential(Linear(2, 3, rng=rng), SiLU(), Linear(3, 1, rng=rng))
    assert [n for n, _ in net.named_parameters()] == ["layers.0.W", "layers.0.b",
                                                      "layers.2.W", "layers.2.b"]
    assert net.num_parameters() == 2 * 3 + 3 + 3 + 1
    attn = SelfAttention2d(4, num_groups=2, rng=rng)
    assert [n for n, _ in attn.named_parameters()] == [
        "norm.scale", "norm.shift", "qkv.W", "qkv.b", "proj.W", "proj.b"]


def test_state_dict_npz_round_trip(rng, tmp_path):
    a = Sequential(Conv2d(1, 2, 3, rng=rng), GroupNorm(1, 2))
    b = Sequential(Conv2d(1, 2, 3, rng=np.random.default_rng(99)), GroupNorm(1, 2))
    path = tmp_path / "w.npz"
    a.save(path)
    b.load(path)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb
        np.testing.assert_array_equal(pa.data, pb.data)
    with np.load(path, allow_pickle=False) as f:   # plain arrays, no pickle needed
        assert sorted(f.files) == sorted(a.state_dict())


def test_load_mismatched_state_names_parameter_and_shapes(rng):
    net = Sequential(Linear(2, 3, rng=rng))
    state = net.state_dict()
    state["layers.0.W"] = np.zeros((3, 3), np.float32)
    before = net.layers[0].b.data.copy()
    state["layers.0.b"] = np.ones(3, np.float32)
    with pytest.raises(ValueError, match=r"layers\.0\.W.*\(2, 3\).*\(3, 3\)"):
        net.load_state_dict(state)
    np.testing.assert_array_equal(net.layers[0].b.data, before)  # nothing half-loaded
    with pytest.raises(KeyError, match="missing"):
        net.load_state_dict({"layers.0.W": np.zeros((2, 3))})


def test_concat_split_round_trip(rng):
    a, b = rng.standard_normal((2, 3, 4, 4)), rng.standard_normal((2, 5, 4, 4))
    c = concat_channels(a, b)
    da, db = split_channels(c, 3)
    np.testing.assert_array_equal(da, a)
    np.testing.assert_array_equal(db, b)
    with pytest.raises(ValueError, match="differ"):
        concat_channels(a, b[:, :, :2])


def test_sinusoidal_embedding_closed_form():
    t = np.array([0, 1, 500])
    emb = sinusoidal_embedding(t, 8)
    assert emb.shape == (3, 8) and emb.dtype == np.float32
    omega = 10000.0 ** (-np.arange(4) / 4)
    np.testing.assert_allclose(emb[2, :4], np.sin(500 * omega), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(emb[2, 4:], np.cos(500 * omega), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(emb[0], [0, 0, 0, 0, 1, 1, 1, 1])
    with pytest.raises(ValueError, match="even"):
        sinusoidal_embedding(t, 7)


def test_mse_loss_value_and_gradient(rng):
    pred, target = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    loss, dpred = mse_loss(pred, target)
    assert loss == pytest.approx(np.mean((pred - target) ** 2), rel=1e-14)
    num = numerical_gradient(lambda: mse_loss(pred, target)[0], pred)
    assert rel_error(dpred, num) < 1e-6
    w = np.array([1.0, 0.0, 2.0])
    lw, dw = mse_loss(pred, target, w)
    assert lw == pytest.approx(np.sum(w[:, None] * (pred - target) ** 2) / pred.size)
    assert rel_error(dw, numerical_gradient(lambda: mse_loss(pred, target, w)[0], pred)) < 1e-6
    with pytest.raises(ValueError, match="shape"):
        mse_loss(pred, target[:2])


def test_eval_mode_keeps_no_caches_and_gives_the_same_numbers(rng):
    """Inference mode (Module.eval): the same outputs, no cache left on any module after a
    forward pass (so activations are freed as the pass goes on), and backward refuses."""
    from ddpm_np.models import UNet
    model = UNet(base_channels=4, channel_mults=(1, 2), attention_resolutions=(14,),
                 num_classes=3, emb_dim=8, groups=2, rng=rng)
    x = rng.standard_normal((2, 1, 28, 28)).astype(np.float32)
    t, y = np.array([3, 700]), np.array([0, 2])
    trained = model(x, t, y)
    assert any("_cache" in vars(m) for m in model.modules())
    inferred = model.eval()(x, t, y)
    np.testing.assert_array_equal(inferred, trained)
    assert not any("_cache" in vars(m) for m in model.modules())
    with pytest.raises(RuntimeError, match="backward called before forward"):
        model.backward(np.ones_like(inferred))
    model.train()
    model(x, t, y)
    model.backward(np.ones_like(inferred))                 # caching is back
