"""A UNet that learns the reverse variance: twice the channels out (ε, v), its config round
trip, training with L_hybrid (v starts at β̃ and moves), ancestral sampling and the bound with
its Σ_θ from a checkpoint."""
import numpy as np
import pytest

from ddpm_np.data.batching import ArrayDataset
from ddpm_np.diffusion import NoiseSchedule, nll_bits_per_dim
from ddpm_np.diffusion.learned_variance import guided_with_variance
from ddpm_np.run.loading import load_for_sampling
from ddpm_np.models import UNet
from ddpm_np.train import TrainConfig, Trainer

SMALL = dict(base_channels=8, channel_mults=(1, 2), attention_resolutions=(), num_classes=10,
             emb_dim=8, groups=2)


def test_the_output_holds_epsilon_and_v_and_the_config_says_so(rng):
    model = UNet(**SMALL, learn_sigma=True, rng=rng)
    out = model(rng.standard_normal((2, 1, 28, 28)).astype(np.float32), np.array([3, 9]),
                np.array([1, 10]))
    assert out.shape == (2, 2, 28, 28) and not out.any()        # zero-initialised: v = 0: β̃
    again = UNet(**model.config(), rng=rng)
    assert again.learn_sigma and model.config()["learn_sigma"] is True
    assert UNet(**SMALL, rng=rng).config()["learn_sigma"] is False


def test_training_with_l_hybrid_moves_v_and_refuses_other_targets(tmp_path, rng):
    x = np.round(rng.uniform(-1, 1, (64, 1, 28, 28)) * 127.5).astype(np.float32) / 127.5
    y = rng.integers(0, 10, 64)
    schedule = NoiseSchedule.linear(20, 1e-2, 0.5)
    model = UNet(**SMALL, learn_sigma=True, rng=rng)
    with pytest.raises(ValueError, match="learn_sigma trains the ε-network"):
        Trainer(model, schedule, ArrayDataset(x, y), TrainConfig(steps=2, parameterization="v"))
    cfg = TrainConfig(steps=12, batch_size=8, lr=1e-3, warmup_steps=2, checkpoint_every=12,
                      seed=1, loss_weighting="min_snr")
    trainer = Trainer(model, schedule, ArrayDataset(x, y, description={"dataset": "mnist"}),
                      cfg, tmp_path, meta={"sample_shape": [1, 28, 28]})
    trainer.run(progress=False)
    assert np.all(np.isfinite(trainer.log["loss"]))
    v_out = model.conv_out.W.data[1:]                         # the v channel's kernel
    assert np.abs(v_out).max() > 0

    loaded, sched, _ = load_for_sampling(tmp_path / "checkpoint.npz")
    assert loaded.learn_sigma
    from ddpm_np.tasks.mnist_sample import sample_images
    images = sample_images(loaded, sched, 3, np.random.default_rng(0), np.array([1, 2, 3]), 0.5,
                           sampler="ddpm", progress=False)
    assert images.shape == (3, 1, 28, 28) and np.all(np.isfinite(images))
    ddim = sample_images(loaded, sched, 3, np.random.default_rng(0), np.array([1, 2, 3]), 0.5,
                         sampler="ddim", steps=5, progress=False)
    assert ddim.shape == (3, 1, 28, 28)
    from ddpm_np.tasks.sampling import sample_checkpoint
    x, info = sample_checkpoint(tmp_path / "checkpoint.npz", 4, sampler="ddpm", steps=5,
                                progress=False)        # a respaced chain with Σ_θ
    assert x.shape == (4, 1, 28, 28) and info["steps"] == 5
    bpd, se, _ = nll_bits_per_dim(guided_with_variance(loaded, None), x[:4], sched,
                                  np.random.default_rng(0), sigma="learned",
                                  decoder="discretized")
    assert np.isfinite(bpd) and bpd > 0


def test_editing_uses_the_epsilon_half(rng):
    """Inpainting and inversion take a learned-variance network's ε half, as the samplers do."""
    from ddpm_np.diffusion import NoiseSchedule
    from ddpm_np.tasks.editing import inpaint_digits, inversion_errors, make_mask
    model = UNet(**SMALL, learn_sigma=True, rng=rng).eval()
    schedule = NoiseSchedule.linear(1000)
    x0 = rng.uniform(-1, 1, (1, 1, 28, 28)).astype(np.float32)
    done = inpaint_digits(model, schedule, x0, make_mask("center"), 2,
                          np.random.default_rng(0), digit=3, guidance=0.5, steps=2,
                          progress=False)
    assert done.shape[1:] == (1, 28, 28) and np.all(np.isfinite(done))
    assert set(inversion_errors(model, schedule, x0, steps=(2,), progress=False)) == {2}


def _importance_trainer(out_dir, steps=24, timesteps="importance"):
    rng = np.random.default_rng(3)
    x = np.round(rng.uniform(-1, 1, (64, 1, 8, 8)) * 127.5).astype(np.float32) / 127.5
    model = UNet(**SMALL, learn_sigma=True, image_size=8, rng=rng)
    cfg = TrainConfig(steps=steps, batch_size=16, lr=1e-3, warmup_steps=2, checkpoint_every=6,
                      seed=2, timesteps=timesteps)
    return Trainer(model, NoiseSchedule.linear(10, 0.05, 0.9),
                   ArrayDataset(x, rng.integers(0, 10, 64), description={"dataset": "mnist"}),
                   cfg, out_dir, meta={"sample_shape": [1, 8, 8]})


def test_importance_sampled_t_warms_up_checkpoints_and_resumes_exactly(tmp_path):
    full = _importance_trainer(tmp_path / "full").run(progress=False)
    sampler = full.objective.t_sampler
    assert sampler.warm and sampler.counts[1:].sum() == 24 * 16
    p = sampler.probabilities()[1:]
    assert p.max() > 2 * p.min()                  # no longer uniform: L_t differ by t
    assert np.max(1 / (10 * p)) <= 2 + 1e-12      # half of p uniform: L_simple's weights ≤ 2
    part = _importance_trainer(tmp_path / "part").run(progress=False, stop_at=13)
    resumed = Trainer.resume(tmp_path / "part" / "checkpoint.npz", part.data)
    resumed.run(progress=False)
    assert resumed.log["loss"] == full.log["loss"]
    for (n, a), (_, b) in zip(full.model.named_parameters(), resumed.model.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=n)
    np.testing.assert_array_equal(resumed.objective.t_sampler.values, sampler.values)


def test_a_uniform_run_resumes_with_importance_sampled_t(tmp_path):
    _importance_trainer(tmp_path, steps=6, timesteps="uniform").run(progress=False)
    lines = []
    resumed = Trainer.resume(tmp_path / "checkpoint.npz", None, steps=12, log=lines.append,
                             timesteps="importance")
    assert "timesteps uniform → importance" in lines[0]
    assert resumed.objective.t_sampler is not None and resumed.objective.t_sampler.counts.sum() == 0


def test_importance_sampled_t_is_refused_without_a_learned_variance_or_on_processes():
    from ddpm_np.parallel import Serial

    class TwoRanks(Serial):
        size = 2
    rng = np.random.default_rng(0)
    data = ArrayDataset(np.zeros((4, 1, 8, 8), np.float32), np.zeros(4, np.int64))
    schedule = NoiseSchedule.linear(10, 0.05, 0.9)
    with pytest.raises(ValueError, match="only a model that learns the variance"):
        Trainer(UNet(**SMALL, rng=rng), schedule, data, TrainConfig(timesteps="importance"))
    with pytest.raises(ValueError, match="runs in one process"):
        Trainer(UNet(**SMALL, learn_sigma=True, rng=rng), schedule, data,
                TrainConfig(timesteps="importance"), world=TwoRanks())
    with pytest.raises(ValueError, match="timesteps must be one of uniform, importance"):
        TrainConfig(timesteps="loss").validate()


def test_vlb_weight_scales_the_v_half_only_and_may_change_on_resume(tmp_path):
    """λ of L_hybrid (TrainConfig.vlb_weight) multiplies the gradient on v and leaves ε's; a
    resumed run may change it (and says so); without a learned variance it is refused."""
    from ddpm_np.diffusion.hybrid import HybridObjective
    rng = np.random.default_rng(5)
    model = UNet(**SMALL, learn_sigma=True, image_size=8, rng=rng)
    model.conv_out.W.data[...] = 0.01 * rng.standard_normal(model.conv_out.W.data.shape)
    schedule = NoiseSchedule.linear(10, 0.05, 0.9)
    x0 = np.round(rng.uniform(-1, 1, (4, 1, 8, 8)) * 127.5).astype(np.float32) / 127.5
    y = np.arange(4)
    objectives = [HybridObjective(schedule, vlb_weight=lam) for lam in (0.001, 0.01)]
    grads = [o.loss(model, o.draw(model, x0, y, np.random.default_rng(1))) for o in objectives]
    np.testing.assert_array_equal(grads[0][1][:, :1], grads[1][1][:, :1])
    np.testing.assert_allclose(grads[1][1][:, 1:], 10 * grads[0][1][:, 1:], rtol=1e-5)

    first = _importance_trainer(tmp_path, steps=6, timesteps="uniform").run(progress=False)
    lines = []
    resumed = Trainer.resume(tmp_path / "checkpoint.npz", first.data, steps=12,
                             log=lines.append, vlb_weight=0.01)
    assert "vlb_weight 0.001 → 0.01" in lines[0] and resumed.objective.vlb_weight == 0.01
    resumed.run(progress=False)
    again = Trainer.resume(tmp_path / "checkpoint.npz", first.data, steps=13)
    assert again.config.vlb_weight == 0.01
    with pytest.raises(ValueError, match="vlb_weight 0.01 weighs L_vlb"):
        Trainer(UNet(**SMALL, image_size=8, rng=rng), schedule,
                ArrayDataset(x0, y), TrainConfig(vlb_weight=0.01))
    with pytest.raises(ValueError, match="vlb_weight must be"):
        TrainConfig(vlb_weight=0.0).validate()
