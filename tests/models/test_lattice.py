"""The lattice ε-network: gradient checks, its symmetries (exact by construction) and its
tiers."""
import numpy as np
import pytest

from ddpm_np.models import LatticeEps, build_model, model_kind
from ddpm_np.nn.gradcheck import check_module


def randomised(model, rng):
    for _, p in model.named_parameters():
        p.data[...] = 0.3 * rng.standard_normal(p.shape)
    return model


class WithT:
    """The model with fixed time steps, as a module of its field alone (for check_module)."""

    def __init__(self, model, t):
        self.model, self.t = model, t

    def __call__(self, x):
        return self.model(x, self.t)

    def backward(self, d):
        return self.model.backward(d)

    def named_parameters(self):
        return self.model.named_parameters()

    def zero_grad(self):
        self.model.zero_grad()


def test_gradcheck(L, rng):
    tier = "fast" if L.__name__.endswith("fast") else "reference"
    model = randomised(LatticeEps(3, 2, 8, rng=rng, dtype=np.float64, tier=tier), rng)
    errors = check_module(WithT(model, np.array([5, 900])), (rng.standard_normal((2, 1, 4, 4)),),
                          rng, max_per_param=10)
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_odd_and_translation_equivariant(rng):
    model = randomised(LatticeEps(4, 2, 8, rng=rng, dtype=np.float64), rng)
    x, t = rng.standard_normal((3, 1, 6, 6)), np.array([1, 100, 1000])
    eps = model(x, t)
    np.testing.assert_array_equal(model(-x, t), -eps)
    np.testing.assert_allclose(model(np.roll(x, (1, 3), axis=(2, 3)), t),
                               np.roll(eps, (1, 3), axis=(2, 3)), atol=1e-13)


def test_tiers_agree_and_registry_rebuilds(rng):
    a = randomised(LatticeEps(4, 2, 8, rng=rng, tier="reference"), rng)
    b = build_model(model_kind(a), a.config(), np.random.default_rng(5), tier="fast")
    b.load_state_dict(a.state_dict())
    x, t = rng.standard_normal((2, 1, 6, 6)).astype(np.float32), np.array([3, 300])
    np.testing.assert_allclose(b(x, t), a(x, t), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(2, 6, 6), (2, 2, 6, 6), (2, 1, 6, 5)])
def test_bad_shapes_are_refused(rng, shape):
    model = LatticeEps(4, 1, 8, rng=rng)
    with pytest.raises(ValueError, match=r"\(N, 1, L, L\)"):
        model(np.zeros(shape, np.float32), np.array([1, 2]))


def test_not_odd_network_gradcheck_jacobian_and_tiers(rng):
    """odd=False: biases on the field's path, so ε_θ(−x) ≠ −ε_θ(x); gradients, the exact
    Jacobian (against central differences) and the fast twin still hold."""
    model = randomised(LatticeEps(3, 2, 8, odd=False, rng=rng, dtype=np.float64), rng)
    t = np.array([5, 900])
    errors = check_module(WithT(model, t), (rng.standard_normal((2, 1, 4, 4)),), rng,
                          max_per_param=10)
    assert max(errors.values()) < 1e-6, errors
    x = rng.standard_normal((2, 1, 4, 4))
    assert np.abs(model(-x, t) + model(x, t)).max() > 1e-3
    eps, J = model.jacobian(x, t)
    h = 1e-6
    for j in (0, 7, 15):
        e = np.zeros(16)
        e[j] = h
        d = (model(x + e.reshape(1, 1, 4, 4), t) - model(x - e.reshape(1, 1, 4, 4), t)) / (2 * h)
        np.testing.assert_allclose(J[:, :, j], d.reshape(2, 16), atol=1e-7)
    fast = build_model("lattice", model.config(), np.random.default_rng(1), tier="fast",
                       dtype=np.float64)
    fast.load_state_dict(model.state_dict())
    np.testing.assert_allclose(fast(x, t), model(x, t), atol=1e-12)
