"""Optimizers against two steps computed by hand, EMA, clipping and schedules."""
import math

import numpy as np
import pytest

from ddpm_np.nn import Parameter
from ddpm_np.nn.optim import EMA, SGD, Adam, AdamW, clip_grad_norm, warmup_cosine_lr


def param(values, grad):
    p = Parameter(np.array(values, np.float64))
    p.grad[...] = grad
    return p


def test_sgd_two_steps_by_hand():
    p = param([1.0, -2.0], [0.5, 0.25])
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    opt.step()
    # g1 = [0.5 + 0.01, 0.25 − 0.02] = [0.51, 0.23]; v1 = g1; θ1 = θ0 − 0.1·v1
    np.testing.assert_allclose(p.data, [1 - 0.051, -2 - 0.023], rtol=1e-14)
    opt.step()
    # g2 = grad + 0.01·θ1; v2 = 0.9·v1 + g2
    g2 = np.array([0.5, 0.25]) + 0.01 * np.array([0.949, -2.023])
    v2 = 0.9 * np.array([0.51, 0.23]) + g2
    np.testing.assert_allclose(p.data, np.array([0.949, -2.023]) - 0.1 * v2, rtol=1e-14)


def test_adam_two_steps_by_hand():
    p = param([1.0], [2.0])
    opt = Adam([p], lr=0.01)
    opt.step()
    # step 1: m = 0.2, v = 0.004; m̂ = 2, v̂ = 4 → θ = 1 − 0.01·2/(2 + 1e-8)
    theta1 = 1 - 0.01 * 2 / (2 + 1e-8)
    np.testing.assert_allclose(p.data, [theta1], rtol=1e-14)
    p.grad[...] = -1.0
    opt.step()
    m = 0.9 * 0.2 + 0.1 * -1.0
    v = 0.999 * 0.004 + 0.001 * 1.0
    mhat, vhat = m / (1 - 0.81), v / (1 - 0.999 ** 2)
    np.testing.assert_allclose(p.data, [theta1 - 0.01 * mhat / (math.sqrt(vhat) + 1e-8)],
                               rtol=1e-14)


def test_adamw_decouples_weight_decay():
    p, q = param([1.0], [0.0]), param([1.0], [0.0])
    AdamW([p], lr=0.1, weight_decay=0.5).step()
    Adam([q], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(p.data, [1 * (1 - 0.05)], rtol=1e-14)  # zero grad: only decay
    np.testing.assert_allclose(q.data, [1 - 0.1 * 1.0], rtol=1e-6)   # L2: g = 0.5, m̂/√v̂ = 1


def test_optimizer_state_round_trip():
    p = param([1.0, 2.0], [0.3, -0.1])
    opt = Adam([p], lr=0.01)
    opt.step()
    state = opt.state_dict()
    p2 = param(p.data, [0.3, -0.1])
    opt2 = Adam([p2], lr=0.5)
    opt2.load_state_dict(state)
    opt.step()
    opt2.step()
    np.testing.assert_array_equal(p.data, p2.data)


def test_ema_decay_zero_copies_and_swap():
    p = param([1.0, 2.0], [0, 0])
    ema = EMA([p], decay=0.0)
    p.data[...] = [5.0, 6.0]
    ema.update()
    np.testing.assert_array_equal(ema.shadow[0], [5.0, 6.0])
    ema9 = EMA([p], decay=0.9, warmup=False)
    p.data[...] = [15.0, 16.0]
    ema9.update()
    np.testing.assert_allclose(ema9.shadow[0], [0.9 * 5 + 0.1 * 15, 0.9 * 6 + 0.1 * 16])
    ema9.swap()
    np.testing.assert_allclose(p.data, [6.0, 7.0])
    ema9.swap()
    np.testing.assert_array_equal(p.data, [15.0, 16.0])
    ema9.copy_to()
    np.testing.assert_allclose(p.data, [6.0, 7.0])
    with pytest.raises(ValueError, match="decay"):
        EMA([p], decay=1.0)


def test_ema_warmup_decay():
    p = param([0.0], [0])
    ema = EMA([p], decay=0.999)
    assert ema.current_decay() == pytest.approx(0.1)      # (1 + 0)/(10 + 0)
    for _ in range(8982):
        ema.update()
    assert ema.current_decay() == pytest.approx(0.999)   # (1 + 8982)/(10 + 8982) = 0.999


def test_clip_grad_norm():
    p, q = param([0.0], [3.0]), param([0.0, 0.0], [0.0, 4.0])
    total = clip_grad_norm([p, q], max_norm=1.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(np.r_[p.grad, q.grad], [0.6, 0, 0.8], rtol=1e-10)
    assert clip_grad_norm([p, q], 10.0) == pytest.approx(1.0)
    np.testing.assert_allclose(np.r_[p.grad, q.grad], [0.6, 0, 0.8], rtol=1e-10)


def test_warmup_cosine_schedule():
    assert warmup_cosine_lr(1, 1.0, warmup_steps=10) == pytest.approx(0.1)
    assert warmup_cosine_lr(10, 1.0, warmup_steps=10, total_steps=110) == pytest.approx(1.0)
    assert warmup_cosine_lr(60, 1.0, 10, 110) == pytest.approx(0.5)
    assert warmup_cosine_lr(110, 1.0, 10, 110, min_lr=0.1) == pytest.approx(0.1)
    assert warmup_cosine_lr(500, 2.0) == 2.0


def test_optimizer_bad_arguments():
    p = param([1.0], [0.0])
    with pytest.raises(ValueError, match="learning rate"):
        Adam([p], lr=0)
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="momentum"):
        SGD([p], lr=0.1, momentum=1.5)
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm([p], 0)
