"""The exercises' tests (`pytest -m ex03` runs one exercise). Each checks your function against
an independent route to the same answer: a closed form, Bayes' rule on a grid, finite
differences, or naive loops; never against the library's own version of the function."""
import importlib

import numpy as np
import pytest
from scipy.stats import norm

from ddpm_np.diffusion import NoiseSchedule, gaussian_mixture_eps_model
from ddpm_np.nn import conv2d_forward, conv2d_naive, groupnorm_forward
from ddpm_np.nn.gradcheck import numerical_gradient



def _yours(module, name):
    """Your function, imported when a test calls it: an error in one exercise's file fails that
    exercise's tests only."""
    def call(*args, **kwargs):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)
    return call


q_sample = _yours("ex01_q_sample", "q_sample")
q_posterior = _yours("ex02_posterior", "q_posterior")
loss_simple = _yours("ex03_eps_loss", "loss_simple")
ddpm_step = _yours("ex04_ddpm_step", "ddpm_step")
linear_backward = _yours("ex05_linear_backward", "linear_backward")
im2col = _yours("ex06_im2col", "im2col")
col2im = _yours("ex06_im2col", "col2im")
conv2d_backward = _yours("ex07_conv_backward", "conv2d_backward")
groupnorm_backward = _yours("ex08_groupnorm_backward", "groupnorm_backward")
ddim_step = _yours("ex09_ddim_step", "ddim_step")
guided_eps_model = _yours("ex10_guidance", "guided_eps_model")
independence_mh = _yours("ex11_independence_mh", "independence_mh")
SCHEDULE = NoiseSchedule.linear(1000)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def close(a, b, tol=1e-6):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol,
                               atol=tol)


def bayes_posterior(x0, xt, t):
    """Mean and variance of x_{t−1} given (x_t, x_0), scalars, by Bayes' rule on a grid:
    p(x_{t−1} | x_t, x_0) ∝ q(x_{t−1} | x_0)·q(x_t | x_{t−1})."""
    ab_prev, a, b = SCHEDULE.alpha_bars[t - 1], SCHEDULE.alphas[t], SCHEDULE.betas[t]
    centre, width = np.sqrt(ab_prev) * x0, np.sqrt(1 - ab_prev) + np.sqrt(b) + abs(xt) + 1
    g = np.linspace(centre - 6 * width, centre + 6 * width, 400_001)
    logp = (norm.logpdf(g, np.sqrt(ab_prev) * x0, np.sqrt(1 - ab_prev))
            + norm.logpdf(xt, np.sqrt(a) * g, np.sqrt(b)))
    p = np.exp(logp - logp.max())
    p /= p.sum()
    mean = np.sum(p * g)
    return mean, np.sum(p * (g - mean) ** 2)


# -- ex01 ------------------------------------------------------------------------------------
@pytest.mark.ex01
def test_ex01_t_zero_gives_x0_back_and_shapes_follow_x0(rng):
    x0, eps = rng.standard_normal((2, 4, 3, 5))
    close(q_sample(x0, 0, eps, SCHEDULE), x0, 1e-12)
    out = q_sample(x0, np.array([1, 10, 100, 1000]), eps, SCHEDULE)
    assert out.shape == x0.shape


@pytest.mark.ex01
def test_ex01_the_law_of_x_t_is_the_closed_form(rng):
    n = 200_000
    for t in (1, 100, 900):
        x = q_sample(np.full((n, 1), 2.0), np.full(n, t), rng.standard_normal((n, 1)), SCHEDULE)
        ab = SCHEDULE.alpha_bars[t]
        assert abs(x.mean() - np.sqrt(ab) * 2) < 5 * np.sqrt((1 - ab) / n) + 1e-12
        assert abs(x.var() / (1 - ab) - 1) < 0.02


@pytest.mark.ex01
def test_ex01_each_example_uses_its_own_t(rng):
    x0, eps = rng.standard_normal((2, 3, 2))
    t = np.array([5, 500, 999])
    out = q_sample(x0, t, eps, SCHEDULE)
    for i in range(3):
        close(out[i], q_sample(x0[i:i + 1], int(t[i]), eps[i:i + 1], SCHEDULE)[0], 1e-12)
        ab = SCHEDULE.alpha_bars[t[i]]
        close(out[i] - np.sqrt(ab) * x0[i], np.sqrt(1 - ab) * eps[i], 1e-12)


# -- ex02 ------------------------------------------------------------------------------------
@pytest.mark.ex02
def test_ex02_the_posterior_is_bayes_rule(rng):
    x0, xt, t = np.array([0.5, -1.0, 0.9]), np.array([0.3, 0.7, -2.0]), np.array([2, 200, 900])
    mean, var = q_posterior(x0[:, None], xt[:, None], t, SCHEDULE)
    assert np.shape(mean) == (3, 1), f"mean has shape {np.shape(mean)}, expected (3, 1): " \
        "reshape the coefficients to (N, 1, ...) before multiplying"
    var = np.broadcast_to(var, mean.shape)
    for i in range(3):
        m, v = bayes_posterior(x0[i], xt[i], t[i])
        close(mean[i, 0], m, 1e-5)
        close(var[i, 0], v, 1e-4 * v + 1e-9)


@pytest.mark.ex02
@pytest.mark.parametrize("t", [1, SCHEDULE.T])
def test_ex02_the_first_and_the_last_step(rng, t):
    """At t = 1 the posterior is x_0 itself with variance 0 (ᾱ_0 = 1): a formula that divides
    by 1 − ᾱ_{t−1} gives NaN there. At t = T it must still be finite."""
    x0, xt = rng.standard_normal((2, 3, 2))
    mean, var = q_posterior(x0, xt, np.full(3, t), SCHEDULE)
    assert np.shape(mean) == x0.shape, f"mean has shape {np.shape(mean)}, x0 has {x0.shape}"
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(var)), f"not finite at t = {t}"
    if t == 1:
        close(mean, x0, 1e-9)
        close(np.broadcast_to(var, mean.shape), np.zeros_like(mean), 1e-12)


@pytest.mark.ex02
def test_ex02_shapes_and_an_int_t(rng):
    x0, xt = rng.standard_normal((2, 4, 1, 3, 3))
    mean, var = q_posterior(x0, xt, 10, SCHEDULE)
    assert mean.shape == x0.shape and np.broadcast_shapes(np.shape(var), x0.shape) == x0.shape
    mean2, _ = q_posterior(x0, xt, np.full(4, 10), SCHEDULE)
    close(mean, mean2, 1e-12)


# -- ex03 ------------------------------------------------------------------------------------
@pytest.mark.ex03
def test_ex03_a_value_by_hand():
    loss, grad = loss_simple(np.array([[1.0, 2.0]]), np.zeros((1, 2)))
    assert isinstance(loss, float) and loss == pytest.approx(2.5)
    close(grad, [[1.0, 2.0]], 1e-12)


@pytest.mark.ex03
def test_ex03_the_gradient_is_the_finite_difference(rng):
    eps_theta, eps = rng.standard_normal((2, 3, 4))
    _, grad = loss_simple(eps_theta, eps)
    assert grad.shape == eps_theta.shape
    close(grad, numerical_gradient(lambda: loss_simple(eps_theta, eps)[0], eps_theta), 1e-6)


# -- ex04 ------------------------------------------------------------------------------------
@pytest.mark.ex04
def test_ex04_with_the_true_noise_it_lands_on_the_posterior_mean(rng):
    x0, eps = np.array([[0.7], [-0.2]]), rng.standard_normal((2, 1))
    for t in (2, 300, 1000):
        xt = np.sqrt(SCHEDULE.alpha_bars[t]) * x0 + np.sqrt(1 - SCHEDULE.alpha_bars[t]) * eps
        x_prev, x0_hat = ddpm_step(eps, xt, t, SCHEDULE, z=np.zeros_like(xt))
        close(x0_hat, x0, 1e-8)
        for i in range(2):
            close(x_prev[i, 0], bayes_posterior(x0[i, 0], xt[i, 0], t)[0], 1e-5)


@pytest.mark.ex04
@pytest.mark.parametrize("sigma, var", [("beta_tilde", SCHEDULE.beta_tildes),
                                        ("beta", SCHEDULE.betas)])
def test_ex04_the_noise_has_the_chosen_variance(rng, sigma, var):
    eps, xt, z = rng.standard_normal((3, 5, 2))
    with_z, _ = ddpm_step(eps, xt, 50, SCHEDULE, z=z, sigma=sigma)
    without, _ = ddpm_step(eps, xt, 50, SCHEDULE, z=np.zeros_like(z), sigma=sigma)
    close((with_z - without) / z, np.full_like(z, np.sqrt(var[50])), 1e-8)


@pytest.mark.ex04
@pytest.mark.parametrize("sigma", ["beta_tilde", "beta"])
def test_ex04_no_noise_at_the_last_step(rng, sigma):
    """Algorithm 2 adds σ_t z only for t > 1. With σ² = β̃ the rule hides itself (β̃_1 = 0);
    with σ² = β (β_1 > 0) a step that adds noise at t = 1 is caught."""
    eps, xt, z = rng.standard_normal((3, 4, 2))
    a, _ = ddpm_step(eps, xt, 1, SCHEDULE, z=z, sigma=sigma)
    b, _ = ddpm_step(eps, xt, 1, SCHEDULE, z=np.zeros_like(z), sigma=sigma)
    assert np.shape(a) == xt.shape, f"x_prev has shape {np.shape(a)}, x_t has {xt.shape}"
    close(a, b, 1e-12)


# -- ex05 ------------------------------------------------------------------------------------
@pytest.mark.ex05
def test_ex05_gradients_are_the_finite_differences(rng):
    x, W, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    dout = rng.standard_normal((2, 3, 5))
    f = lambda: float(np.sum(dout * (x @ W + b)))
    dx, dW, db = linear_backward(dout, (x, W))
    assert dx.shape == x.shape and dW.shape == W.shape and db.shape == b.shape
    close(dx, numerical_gradient(f, x))
    close(dW, numerical_gradient(f, W))
    close(db, numerical_gradient(f, b))


@pytest.mark.ex05
def test_ex05_a_value_by_hand():
    x, W = np.array([[1.0, 2.0]]), np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]])
    dx, dW, db = linear_backward(np.array([[1.0, 1.0, 1.0]]), (x, W))
    close(dx, [[3.0, 0.0]], 1e-12)
    close(dW, [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]], 1e-12)
    close(db, [1.0, 1.0, 1.0], 1e-12)


# -- ex06 ------------------------------------------------------------------------------------
def naive_im2col(xp, kh, kw, s, Ho, Wo):
    rows = []
    for n in range(xp.shape[0]):
        for i in range(Ho):
            for j in range(Wo):
                rows.append(xp[n, :, i * s:i * s + kh, j * s:j * s + kw].ravel())
    return np.array(rows)


@pytest.mark.ex06
@pytest.mark.parametrize("k, s", [(3, 1), (3, 2), (1, 1), (2, 2)])
def test_ex06_im2col_is_the_windows_row_by_row(rng, k, s):
    xp = rng.standard_normal((2, 3, 7, 6))
    Ho, Wo = (7 - k) // s + 1, (6 - k) // s + 1
    close(im2col(xp, k, k, s, Ho, Wo), naive_im2col(xp, k, k, s, Ho, Wo), 1e-12)


@pytest.mark.ex06
@pytest.mark.parametrize("k, s, p", [(3, 1, 1), (3, 2, 1), (2, 2, 0)])
def test_ex06_col2im_is_the_adjoint_of_padding_then_im2col(rng, k, s, p):
    """⟨im2col(pad(x)), c⟩ = ⟨x, col2im(c)⟩ for every x and c."""
    x = rng.standard_normal((2, 3, 6, 5))
    Ho, Wo = (6 + 2 * p - k) // s + 1, (5 + 2 * p - k) // s + 1
    c = rng.standard_normal((2 * Ho * Wo, 3 * k * k))
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    left = np.sum(naive_im2col(xp, k, k, s, Ho, Wo) * c)
    dx = col2im(c, x.shape, k, k, s, p, Ho, Wo)
    assert dx.shape == x.shape
    assert np.sum(x * dx) == pytest.approx(left, rel=1e-10)


# -- ex07 ------------------------------------------------------------------------------------
@pytest.mark.ex07
@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 0), (2, 1)])
def test_ex07_gradients_are_finite_differences_of_the_naive_convolution(rng, stride, padding):
    x, W, b = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3)), \
        rng.standard_normal(4)
    y, cache = conv2d_forward(x, W, b, stride, padding)
    dout = rng.standard_normal(y.shape)
    f = lambda: float(np.sum(dout * conv2d_naive(x, W, b, stride, padding)))
    dx, dW, db = conv2d_backward(dout, cache)
    close(dx, numerical_gradient(f, x), 1e-5)
    close(dW, numerical_gradient(f, W), 1e-5)
    close(db, numerical_gradient(f, b), 1e-5)


# -- ex08 ------------------------------------------------------------------------------------
@pytest.mark.ex08
@pytest.mark.parametrize("groups", [1, 2, 4])
def test_ex08_gradients_are_the_finite_differences(rng, groups):
    x = rng.standard_normal((2, 4, 3, 3)) * 2 + 1
    scale, shift = rng.standard_normal(4), rng.standard_normal(4)
    y, cache = groupnorm_forward(x, scale, shift, groups)
    dout = rng.standard_normal(y.shape)
    f = lambda: float(np.sum(dout * groupnorm_forward(x, scale, shift, groups)[0]))
    dx, dscale, dshift = groupnorm_backward(dout, cache)
    close(dx, numerical_gradient(f, x), 1e-5)
    close(dscale, numerical_gradient(f, scale), 1e-5)
    close(dshift, numerical_gradient(f, shift), 1e-5)


# -- ex09 ------------------------------------------------------------------------------------
@pytest.mark.ex09
@pytest.mark.parametrize("t, t_prev", [(1000, 980), (500, 100), (20, 1)])
def test_ex09_with_the_true_noise_it_moves_along_the_same_noise(rng, t, t_prev):
    x0, eps = rng.standard_normal((2, 3, 2))
    ab, ab_prev = SCHEDULE.alpha_bars[t], SCHEDULE.alpha_bars[t_prev]
    xt = np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps
    x_prev, x0_hat = ddim_step(eps, xt, t, t_prev, SCHEDULE)
    close(x0_hat, x0, 1e-8)
    close(x_prev, np.sqrt(ab_prev) * x0 + np.sqrt(1 - ab_prev) * eps, 1e-8)


@pytest.mark.ex09
def test_ex09_a_step_to_zero_lands_on_x0_hat(rng):
    eps, xt = rng.standard_normal((2, 4, 2))
    x_prev, x0_hat = ddim_step(eps, xt, 300, 0, SCHEDULE)
    close(x_prev, x0_hat, 1e-10)
    ab = SCHEDULE.alpha_bars[300]
    close(x0_hat, (xt - np.sqrt(1 - ab) * eps) / np.sqrt(ab), 1e-10)


# -- ex10 ------------------------------------------------------------------------------------
MEANS, STD = np.array([[-2.0], [1.5]]), 0.5


class TwoGaussians:
    """The exact ε of 1-D data from two classes N(m_y, 0.5²), each class half the data; label 2
    is "no label" (the mixture)."""
    num_classes = 2

    def __init__(self):
        self.calls = 0
        self.cond = [gaussian_mixture_eps_model(MEANS[k:k + 1], [STD], [1.0], SCHEDULE)
                     for k in range(2)]
        self.uncond = gaussian_mixture_eps_model(MEANS, [STD, STD], [0.5, 0.5], SCHEDULE)

    def __call__(self, xt, t, labels):
        self.calls += 1
        out = np.empty_like(xt)
        for k, f in enumerate(self.cond + [self.uncond]):
            rows = labels == k
            if rows.any():
                out[rows] = f(xt[rows], np.asarray(t)[rows])
        return out


def tilted_eps(x, t, y, w):
    """−√(1−ᾱ)·∂/∂x log[p(x_t | y)^(1+w) p(x_t)^(−w)], by central differences of the log
    densities of the noised data."""
    ab = SCHEDULE.alpha_bars[t]
    sd = np.sqrt(ab * STD ** 2 + 1 - ab)

    def log_tilted(z):
        cond = norm.logpdf(z, np.sqrt(ab) * MEANS[y, 0], sd)
        mix = np.logaddexp(norm.logpdf(z, np.sqrt(ab) * MEANS[0, 0], sd),
                           norm.logpdf(z, np.sqrt(ab) * MEANS[1, 0], sd)) + np.log(0.5)
        return (1 + w) * cond - w * mix

    h = 1e-5
    return -np.sqrt(1 - ab) * (log_tilted(x + h) - log_tilted(x - h)) / (2 * h)


@pytest.mark.ex10
@pytest.mark.parametrize("w", [0.0, 0.5, 3.0])
def test_ex10_guidance_follows_the_score_of_the_tilted_density(w):
    x = np.linspace(-3, 3, 7)[:, None]
    y = np.array([0, 1, 0, 1, 0, 1, 1])
    t = np.full(7, 400)
    eps = guided_eps_model(TwoGaussians(), y, w)(x, t)
    close(eps[:, 0], tilted_eps(x[:, 0], 400, y, w), 1e-5)


@pytest.mark.ex10
def test_ex10_without_labels_it_is_the_unconditional_model():
    model = TwoGaussians()
    x, t = np.linspace(-3, 3, 5)[:, None], np.full(5, 100)
    close(guided_eps_model(model, None, 2.0)(x, t), model.uncond(x, t), 1e-12)


# -- ex11 ------------------------------------------------------------------------------------
@pytest.mark.ex11
def test_ex11_an_exact_proposal_always_moves(rng):
    """q = p: every weight is the same, every proposal is accepted."""
    index, accepted = independence_mh(np.full(50, -3.7), rng)
    assert np.asarray(accepted).shape == (49,) and np.all(accepted)
    np.testing.assert_array_equal(index, np.arange(50))


@pytest.mark.ex11
def test_ex11_the_known_acceptance_and_stationary_law(rng):
    """Target p = (¼, ¾) on {0, 1}, proposals uniform: w = p/q = (½, 3/2). From state 0 every
    move is accepted; from state 1 a move to 0 with probability ⅓. The acceptance is
    ¼·1 + ¾·(½·⅓ + ½·1) = ¾, and the chain spends ¾ of its time in state 1."""
    n = 200_000
    state = rng.integers(0, 2, n)
    log_w = np.log(np.where(state == 1, 1.5, 0.5))
    index, accepted = independence_mh(log_w, rng)
    acc = np.mean(accepted)
    assert abs(acc - 0.75) < 5 * np.sqrt(0.75 * 0.25 / n) * 3, acc     # 3: correlated steps
    in_one = np.mean(state[np.asarray(index)] == 1)
    assert abs(in_one - 0.75) < 0.01, in_one


@pytest.mark.ex11
def test_ex11_large_log_weights_do_not_overflow(rng):
    """Log weights of ±1000 (p and q far apart): compare logs, never exp of one of them."""
    index, accepted = independence_mh(np.array([0.0, 1000.0, -1000.0, 1000.0]), rng)
    np.testing.assert_array_equal(index, [0, 1, 1, 3])
