# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Chapter 3 — A first model: linear in $x_t$, with a time input
#
# The network must predict the noise, $\varepsilon_\theta(x_t, t)$. The simplest candidate that
# can depend on the time step is linear in $x_t$ with a matrix and a vector per step:
#
# $$\varepsilon_\theta(x_t, t) = A_t\, x_t + b_t .$$
#
# Code: `LinearEps` in `ddpm_np/models/linear.py` (forward, and its backward written by hand:
# $\partial L/\partial A_t = \sum_{n: t_n = t} \delta_n x_n^\top$). Training is Algorithm 1, as
# for any model: `Trainer` in `ddpm_np/train.py`.
# The linear model has no layers; the MLP at the end of the chapter runs on the reference tier
# of layers (the code of `ddpm_np/nn/`; chapter 4 explains the two tiers).
#
# ## One Gaussian: the linear model is exactly right
#
# For data $x_0 \sim \mathcal N(\mu, \Sigma)$, $x_t$ and ε are jointly Gaussian, so the best
# prediction $\mathbb E[\varepsilon \mid x_t]$ is linear in $x_t$:
#
# $$A^*_t = \sqrt{1-\bar\alpha_t}\, C_t^{-1},\quad b^*_t = -\sqrt{\bar\alpha_t}\, A^*_t \mu,
# \quad C_t = \bar\alpha_t \Sigma + (1-\bar\alpha_t) I .$$
#
# So training must find $A^*, b^*$ (`optimal_linear_eps`). Does it?

# %%
import numpy as np
import matplotlib.pyplot as plt

from ddpm_np.data import toy2d
from ddpm_np.data.batching import ArrayDataset
from ddpm_np.diffusion import ddpm_sample
from ddpm_np.metrics import energy_distance
from ddpm_np.tasks.toy import LINEAR_LR, toy_schedule
from ddpm_np.tasks.tutorial import pick, quick, show
from ddpm_np.models import MLP, LinearEps, optimal_linear_eps
from ddpm_np.train import TrainConfig, Trainer

rng = np.random.default_rng(0)
T = 200
schedule = toy_schedule(T)           # the 2-D demos' schedule: T = 200, β from 5e-4 to 0.1


def train(model, name, steps, lr):
    data = ArrayDataset(toy2d.sample(name, 20_000, np.random.default_rng(1)))
    trainer = Trainer(model, schedule, data, TrainConfig(
        steps=steps, batch_size=256, lr=lr, warmup_steps=50, ema_decay=0.99))
    trainer.run(progress=False)
    trainer.ema.swap()                       # sample with the averaged weights
    return model, data.x, trainer.log["loss"]


linear, data, loss = train(LinearEps(2, T), "gaussian", pick(3000, 600), LINEAR_LR)
A, b = optimal_linear_eps(toy2d.GAUSSIAN_MEAN, toy2d.GAUSSIAN_COV, schedule)
fig, ax = plt.subplots(1, 2, figsize=(10, 3.2))
for (i, j), c in zip([(0, 0), (0, 1), (1, 1)], "C0 C1 C2".split()):
    ax[0].plot(A[:, i, j], c, lw=3, alpha=0.4)
    ax[0].plot(linear.A.data[:, i, j], c, lw=1, label=f"A[{i},{j}]")
for i, c in zip(range(2), ("C3", "C4")):
    ax[1].plot(b[:, i], c, lw=3, alpha=0.4)
    ax[1].plot(linear.b.data[:, i], c, lw=1, label=f"b[{i}]")
for a, title in zip(ax, ("A_t: trained (thin), closed form (thick)", "b_t")):
    a.set_xlabel("t"); a.legend(); a.set_title(title)
show(fig, "03_linear_vs_closed_form")
rel = np.linalg.norm(linear.A.data - A, axis=(1, 2)) / np.linalg.norm(A, axis=(1, 2))
print(f"median relative error of A_t over t ≥ {T // 10}: {np.median(rel[T // 10:]):.3f}")
assert np.median(rel[T // 10:]) < pick(0.03, 0.3)

# %% [markdown]
# The trained tables sit on the closed form except at the smallest t, where $x_t \approx x_0$
# says almost nothing about ε and few training examples land on each step. And the samples
# (Algorithm 2, `ddpm_sample`) reproduce the Gaussian:

# %%
samples = ddpm_sample(linear, (2000, 2), schedule, rng, progress=False)
print("sample mean", samples.mean(0).round(3), "data mean", toy2d.GAUSSIAN_MEAN)
print("sample cov", np.cov(samples.T).round(3).tolist(), "data cov", toy2d.GAUSSIAN_COV.tolist())
assert np.allclose(samples.mean(0), toy2d.GAUSSIAN_MEAN, atol=pick(0.08, 0.3))


def compare(ax, data, samples, title):
    ax.scatter(*data[:2000].T, s=2, alpha=0.4, label="data")
    ax.scatter(*samples.T, s=2, alpha=0.4, label="samples")
    ax.set_title(title); ax.set_aspect("equal"); ax.legend(markerscale=5)


fig, ax = plt.subplots(figsize=(4, 4))
compare(ax, data, samples, "one Gaussian, linear ε-model")
show(fig, "03_linear_gaussian")

# %% [markdown]
# ## Two Gaussians: the linear model cannot
#
# A linear ε makes every reverse step linear in $x_t$ plus Gaussian noise, so $x_0$ is a linear
# function of Gaussian variables: a Gaussian, whatever the data. The best it can do is the
# Gaussian with the data's mean and covariance. Two clusters need a prediction that *bends*:
# points near one cluster should be pushed towards it, points near the other the other way.

# %%
linear2, data2, _ = train(LinearEps(2, T), "two-gaussians", pick(3000, 600), LINEAR_LR)
samples2 = ddpm_sample(linear2, (2000, 2), schedule, rng, progress=False)
print("data cov", np.cov(data2.T).round(2).tolist(), "samples cov",
      np.cov(samples2.T).round(2).tolist())
# one Gaussian with the data's covariance: the spread matches, the two clusters do not
assert np.allclose(np.cov(samples2.T), np.cov(data2.T), rtol=pick(0.15, 0.5), atol=0.05)
spiral_lin, data3, _ = train(LinearEps(2, T), "spiral", pick(3000, 600), LINEAR_LR)
samples3 = ddpm_sample(spiral_lin, (2000, 2), schedule, rng, progress=False)

# %% [markdown]
# ## A network that can bend: the MLP
#
# `MLP` in `ddpm_np/models/mlp.py`: the same inputs ($x_t$, and t through a sinusoidal
# embedding), residual blocks with SiLU between the linear layers. Same loss, same loop.

# %%
mlp, _, mlp_loss = train(MLP(dim=2, hidden=pick(128, 32), num_blocks=pick(3, 1),
                             rng=np.random.default_rng(2)), "spiral", pick(3000, 100), 2e-3)
samples4 = ddpm_sample(mlp, (2000, 2), schedule, rng, progress=False)
fig, ax = plt.subplots(1, 3, figsize=(13, 4.3))
compare(ax[0], data2, samples2, "two Gaussians, linear: one blob")
compare(ax[1], data3, samples3, "spiral, linear: one blob")
compare(ax[2], data3, samples4, "spiral, MLP")
show(fig, "03_linear_fails_mlp_works")
d_lin, d_mlp = energy_distance(samples3, data3[:2000]), energy_distance(samples4, data3[:2000])
print(f"energy distance to the spiral: linear {d_lin:.3f}, MLP {d_mlp:.3f}")
if not quick():
    assert d_mlp < d_lin / 3

# %% [markdown]
# **What to remember.** The loss and the sampler do not care what the model is; the model
# decides what distributions can come out. Linear ε ⇒ Gaussian samples: exact for Gaussian
# data, one blob with the right mean and covariance for anything else. Next chapter: images,
# and a network built for them.
