"""The linear ε-model: gradients, the closed-form optimum it must learn on Gaussian data, and
the single Gaussian it produces for two."""
import numpy as np
import pytest
from scipy import stats

from ddpm_np.data import toy2d
from ddpm_np.data.batching import ArrayDataset
from ddpm_np.diffusion import ddpm_sample, gaussian_cov_eps_model
from ddpm_np.tasks.toy import LINEAR_LR, toy_schedule
from ddpm_np.models import LinearEps, build_model, optimal_linear_eps
from ddpm_np.nn.gradcheck import check_module
from ddpm_np.train import TrainConfig, Trainer

T = 200


def test_gradients_of_the_input_and_the_tables(rng):
    m = LinearEps(dim=3, T=5, dtype=np.float64)
    m.A.data[:] = rng.standard_normal(m.A.shape)
    m.b.data[:] = rng.standard_normal(m.b.shape)
    t = np.array([1, 5, 5, 2])                          # a repeated t: gradients add up
    errors = check_module(m, (rng.standard_normal((4, 3)), t), rng)
    assert set(errors) >= {"input0", "A", "b"}
    assert max(errors.values()) < 1e-7, errors


def test_the_optimum_is_the_posterior_mean_of_eps(rng):
    schedule = toy_schedule(T)
    A, b = optimal_linear_eps(toy2d.GAUSSIAN_MEAN, toy2d.GAUSSIAN_COV, schedule)
    m = LinearEps(2, T, dtype=np.float64)
    m.A.data[:], m.b.data[:] = A, b
    x, t = rng.standard_normal((50, 2)), rng.integers(1, T + 1, 50)
    exact = gaussian_cov_eps_model(toy2d.GAUSSIAN_MEAN, toy2d.GAUSSIAN_COV, schedule)
    np.testing.assert_allclose(m(x, t), exact(x, t), rtol=1e-10, atol=1e-12)


def _train(name, steps=3000, seed=0):
    schedule = toy_schedule(T)
    x = toy2d.sample(name, 20_000, np.random.default_rng(seed))
    model = LinearEps(2, T)
    trainer = Trainer(model, schedule, ArrayDataset(x), TrainConfig(
        steps=steps, batch_size=256, lr=LINEAR_LR, warmup_steps=50, ema_decay=0.99, seed=seed))
    trainer.run(progress=False)
    trainer.ema.swap()
    return model, schedule, x


@pytest.fixture(scope="module")
def gaussian_fit():
    return _train("gaussian")


def test_training_finds_the_closed_form_on_gaussian_data(gaussian_fit):
    model, schedule, _ = gaussian_fit
    A, b = optimal_linear_eps(toy2d.GAUSSIAN_MEAN, toy2d.GAUSSIAN_COV, schedule)
    dA, db = model.A.data - A, model.b.data - b
    rel = np.linalg.norm(dA, axis=(1, 2)) / np.linalg.norm(A, axis=(1, 2))
    assert np.median(rel[T // 10:]) < 0.03, np.median(rel[T // 10:])
    # the excess of the loss over the optimum, E‖(A − A*) x_t + (b − b*)‖² / D, at every t
    ab = schedule.alpha_bars[1:]
    C = ab[:, None, None] * toy2d.GAUSSIAN_COV + (1 - ab)[:, None, None] * np.eye(2)
    m = np.sqrt(ab)[:, None] * toy2d.GAUSSIAN_MEAN
    excess = (np.einsum("tij,tjk,tik->t", dA, C, dA)
              + np.sum((np.einsum("tij,tj->ti", dA, m) + db) ** 2, axis=1)) / 2
    assert excess.mean() < 0.005 and excess.max() < 0.05, (excess.mean(), excess.max())


def test_its_samples_reproduce_the_gaussian(gaussian_fit):
    model, schedule, _ = gaussian_fit
    x = ddpm_sample(model, (4000, 2), schedule, np.random.default_rng(1), progress=False)
    np.testing.assert_allclose(x.mean(0), toy2d.GAUSSIAN_MEAN, atol=0.06)
    np.testing.assert_allclose(np.cov(x.T), toy2d.GAUSSIAN_COV, atol=0.06)


def test_on_two_gaussians_it_draws_one_gaussian_with_the_data_moments():
    model, schedule, data = _train("two-gaussians")
    x = ddpm_sample(model, (4000, 2), schedule, np.random.default_rng(1), progress=False)
    np.testing.assert_allclose(x.mean(0), data.mean(0), atol=0.1)
    np.testing.assert_allclose(np.cov(x.T), np.cov(data.T), rtol=0.08)
    axis = toy2d.TWO_MEANS[1] - toy2d.TWO_MEANS[0]
    along = lambda z: (z - z.mean(0)) @ axis / np.linalg.norm(axis)
    # the data is bimodal along the means' axis (kurtosis far below a Gaussian's 3), the samples
    # are not; and they are indistinguishable from one Gaussian there
    assert stats.kurtosis(along(data), fisher=False) < 1.5
    assert abs(stats.kurtosis(along(x), fisher=False) - 3) < 0.3
    assert stats.kstest(along(x) / along(x).std(), "norm").pvalue > 0.01


def test_it_is_a_model_like_the_others(rng):
    m = build_model("linear", {"dim": 2, "T": 7}, rng)
    assert m.config() == {"dim": 2, "T": 7} and m.A.dtype == np.float32
    assert np.all(m(np.ones((3, 2), np.float32), np.array([1, 2, 7])) == 0)   # starts at ε = 0


@pytest.mark.parametrize("x, t, message", [
    (np.ones((3, 3)), 1, r"shape \(N, 2\)"),
    (np.ones((3, 2)), 0, "integers in 1..7"),
    (np.ones((3, 2)), 8, "integers in 1..7"),
    (np.ones((3, 2)), 1.5, "integers in 1..7"),
])
def test_bad_inputs_are_refused(x, t, message):
    with pytest.raises(ValueError, match=message):
        LinearEps(2, 7, dtype=np.float64)(x, t)


def test_the_demo_runs_with_the_linear_model(tmp_path):
    from ddpm_np.cli import main
    assert main(["demo", "two-gaussians", "--model", "linear", "--quick", "--no-progress",
                 "--out", str(tmp_path / "d")]) == 0
    import json
    metrics = json.loads((tmp_path / "d" / "metrics.json").read_text())
    assert metrics["model"] == "linear" and "moments_vs_data" in metrics
    assert (tmp_path / "d" / "samples.png").exists()
