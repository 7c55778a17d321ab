# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Chapter 1 — The idea, and the forward process
#
# A diffusion model turns noise into data. It does so by learning to undo a process that does
# the opposite, slowly: take a data point $x_0$, add a little Gaussian noise, again and again,
# for $T$ steps, until nothing of $x_0$ is left and $x_T$ is plain noise $\mathcal N(0, I)$.
# If we can learn each small step backwards, we can start from fresh noise and walk back to
# data. This chapter is the forward half, which needs no learning at all.
#
# **The chain** (Ho et al. 2020, eq. 2). With a *variance schedule* $\beta_1, \dots, \beta_T$,
#
# $$q(x_t \mid x_{t-1}) = \mathcal N\big(x_t;\ \sqrt{1-\beta_t}\, x_{t-1},\ \beta_t I\big).$$
#
# The factor $\sqrt{1-\beta_t}$ shrinks the signal as the noise is added, so that the variance
# stays bounded (it tends to 1).
#
# Code: `ddpm_np/diffusion/schedule.py` (β_t, α_t = 1 − β_t, ᾱ_t = ∏ α_s) and
# `ddpm_np/diffusion/forward.py` (`q_step`, `q_chain`, `q_sample`).
# No network runs in this chapter, so no tier (chapter 4 explains the two).

# %%
import numpy as np
import matplotlib.pyplot as plt
from scipy import stats

from ddpm_np.data import toy2d
from ddpm_np.diffusion import NoiseSchedule, q_chain, q_sample, q_step
from ddpm_np.metrics import energy_distance
from ddpm_np.tasks.tutorial import pick, show

rng = np.random.default_rng(0)
schedule = NoiseSchedule.linear(1000)          # β from 1e-4 to 0.02, Ho et al.'s choice
t = np.arange(1, schedule.T + 1)
fig, ax = plt.subplots(1, 3, figsize=(12, 3))
ax[0].plot(t, schedule.betas[1:]); ax[0].set_title("β_t")
ax[1].plot(t, schedule.alpha_bars[1:]); ax[1].set_title("ᾱ_t = ∏ (1 − β_s)")
ax[2].semilogy(t, schedule.snr(t)); ax[2].set_title("SNR = ᾱ_t / (1 − ᾱ_t)")
for a in ax:
    a.set_xlabel("t")
show(fig, "01_schedule")

# %% [markdown]
# ## The chain, one step at a time
#
# Here are 2,000 points of a spiral, pushed through the chain with `q_step`. Watch the
# structure dissolve: by t ≈ 300 it is gone, and the rest of the chain only brings the cloud
# to the standard normal.

# %%
x0 = toy2d.sample("spiral", 2000, rng)
path = q_chain(x0, schedule.T, schedule, rng, return_all=True)
shown = [0, 25, 50, 100, 250, 1000]
fig, ax = plt.subplots(1, len(shown), figsize=(3 * len(shown), 3))
for a, s in zip(ax, shown):
    a.scatter(*path[s].T, s=1); a.set_title(f"t = {s}")
    a.set_xlim(-4, 4); a.set_ylim(-4, 4); a.set_aspect("equal")
show(fig, "01_chain")

# %% [markdown]
# ## Any $x_t$ in one draw
#
# Running $t$ steps to get $x_t$ is wasteful, and training needs $x_t$ for random $t$ millions
# of times. Write one step with its own noise, $x_t = \sqrt{\alpha_t} x_{t-1} + \sqrt{1-\alpha_t}
# \varepsilon_t$, and substitute the step before:
#
# $$x_t = \sqrt{\alpha_t\alpha_{t-1}}\, x_{t-2} + \sqrt{\alpha_t(1-\alpha_{t-1})}\,
# \varepsilon_{t-1} + \sqrt{1-\alpha_t}\, \varepsilon_t .$$
#
# The two noise terms are independent Gaussians, and a sum of independent Gaussians is a
# Gaussian whose variance is the sum: $\alpha_t(1-\alpha_{t-1}) + 1 - \alpha_t = 1 -
# \alpha_t\alpha_{t-1}$. Repeating down to $x_0$ (eq. 4):
#
# $$q(x_t \mid x_0) = \mathcal N\big(\sqrt{\bar\alpha_t}\, x_0,\ (1-\bar\alpha_t) I\big),
# \qquad x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1-\bar\alpha_t}\, \varepsilon .$$
#
# That is `q_sample`. **Check**: start many copies of one point $x_0$ and compare the law of
# $x_t$ after the chain with the one-draw formula: same mean, same variance, and a
# Kolmogorov–Smirnov test that cannot tell them apart.

# %%
n = pick(20_000, 4000)
start = np.tile([[1.5, -0.5]], (n, 1))
print("         mean of x_t: chain     √ᾱ_t·x_0 (formula)  variance: chain  1 − ᾱ_t  KS p")
for s in (1, 10, 100, 500):
    chained = q_chain(start, s, schedule, rng)
    direct = q_sample(start, s, rng.standard_normal(start.shape), schedule)
    mean, var = np.sqrt(schedule.alpha_bars[s]) * start[0], 1 - schedule.alpha_bars[s]
    p = stats.ks_2samp(chained[:, 0], direct[:, 0]).pvalue
    m = chained.mean(0)
    print(f"t = {s:3d}   ({m[0]:+.3f}, {m[1]:+.3f})     ({mean[0]:+.3f}, {mean[1]:+.3f})"
          f"          {chained.var(0).mean():.4f}        {var:.4f}   {p:.2f}")
    se = np.sqrt(var / n)
    assert np.all(np.abs(chained.mean(0) - mean) < 5 * se)
    assert abs(chained.var(0).mean() / var - 1) < 5 * np.sqrt(2 / n) + 1e-3
    assert p > 1e-3

# %% [markdown]
# The same holds for the whole spiral: the chain's cloud at t = 100 and the one-draw cloud are
# as close as two independent draws of the same law (the energy distance between them is at the
# level of its noise floor).

# %%
direct = q_sample(x0, 100, rng.standard_normal(x0.shape), schedule)
again = q_sample(x0, 100, rng.standard_normal(x0.shape), schedule)
d_chain, d_floor = energy_distance(path[100], direct), energy_distance(again, direct)
print(f"energy distance chain vs formula {d_chain:.4f}; formula vs formula {d_floor:.4f}")
assert d_chain < 4 * d_floor + 0.01

# %% [markdown]
# **What to remember.** The forward process has no parameters; ᾱ_t says how much of $x_0$ is
# left at step t; and $x_t$ for any t costs one Gaussian draw. Next chapter: going backwards.
