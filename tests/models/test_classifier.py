import numpy as np
import pytest

from ddpm_np.models.classifier import Classifier
from ddpm_np.nn.gradcheck import check_module, numerical_gradient, rel_error
from ddpm_np.nn.loss import softmax_cross_entropy


def test_classifier_gradcheck(rng):
    c = Classifier(rng=rng, dtype=np.float64)
    errors = check_module(c, rng.standard_normal((2, 1, 28, 28)), rng, max_per_param=10)
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_cross_entropy_value_and_gradient(rng):
    z = rng.standard_normal((4, 5))
    y = np.array([0, 4, 2, 2])
    loss, dz = softmax_cross_entropy(z, y)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(4), y])), rel=1e-12)
    assert rel_error(dz, numerical_gradient(lambda: softmax_cross_entropy(z, y)[0], z)) < 1e-6
    with pytest.raises(ValueError, match="0..4"):
        softmax_cross_entropy(z, np.array([0, 5, 1, 1]))


def test_shipped_classifier_is_accurate_on_test_digits(mnist_test):
    from ddpm_np.data.mnist import to_model_range
    from ddpm_np.metrics import load_classifier
    x, y = mnist_test
    probs, feats = load_classifier().predict(to_model_range(x[:2000]))
    acc = np.mean(probs.argmax(1) == y[:2000])
    # 98.98% on all 10,000; on 2,000 the 5σ band is ±1.1%
    assert acc > 0.985 - 5 * np.sqrt(0.985 * 0.015 / 2000)
    assert feats.shape == (2000, 128)
