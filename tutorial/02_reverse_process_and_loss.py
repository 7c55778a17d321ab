# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Chapter 2 — The reverse process, and the loss
#
# We want to walk the chain backwards: draw $x_T \sim \mathcal N(0, I)$, then $x_{T-1}$, …,
# down to $x_0$. The true reverse step $q(x_{t-1} \mid x_t)$ depends on the whole data
# distribution, so it is unknown; but when the steps are small it is close to a Gaussian, and we
# *model* it as one (eq. 1):
#
# $$p_\theta(x_{t-1} \mid x_t) = \mathcal N\big(x_{t-1};\ \mu_\theta(x_t, t),\ \sigma_t^2 I\big),$$
#
# with a learned mean and a **fixed** variance $\sigma_t^2$ (Ho et al. fix Σ; we come back to
# which value below).
#
# ## The posterior, which *is* known
#
# Given $x_0$ as well, the reverse step is a Gaussian we can write down (eqs. 6–7):
#
# $$q(x_{t-1} \mid x_t, x_0) = \mathcal N\big(\tilde\mu_t(x_t, x_0),\ \tilde\beta_t I\big),\quad
# \tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\beta_t}{1-\bar\alpha_t} x_0 +
# \frac{\sqrt{\alpha_t}(1-\bar\alpha_{t-1})}{1-\bar\alpha_t} x_t,\quad
# \tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\beta_t .$$
#
# Code: `q_posterior` and `posterior_coefficients` in `ddpm_np/diffusion/forward.py`.
# No network runs in this chapter, so no tier (chapter 4 explains the two).
#
# **Check**: fix $x_0$, draw $x_{t-1}$ from $q(x_{t-1} \mid x_0)$ and one forward step to
# $x_t$; then regress $x_{t-1}$ on $x_t$. For jointly Gaussian variables the regression line is
# the conditional mean, and the scatter around it the conditional variance.

# %%
import numpy as np
import matplotlib.pyplot as plt

from ddpm_np.data import toy2d
from ddpm_np.diffusion import (NoiseSchedule, gaussian_cov_eps_model, mu_theta_from_eps,
                               nll_bits_per_dim, posterior_coefficients, q_posterior, q_sample,
                               q_step)
from ddpm_np.tasks.tutorial import pick, show

rng = np.random.default_rng(0)
schedule = NoiseSchedule.linear(1000)
n = pick(400_000, 50_000)
x0 = 0.8
print("x_{t−1} regressed on x_t, against eq. 7: mean = c0·x0 + c_t·x_t, variance β̃_t")
print("   t   slope (fit)  c_t (eq. 7)   intercept (fit)  c0·x0      residual var  β̃_t")
for t in (2, 50, 300, 900):
    x_prev = q_sample(np.full((n, 1), x0), t - 1, rng.standard_normal((n, 1)), schedule)
    xt = q_step(x_prev, t, rng.standard_normal((n, 1)), schedule)
    slope, intercept = np.polyfit(xt[:, 0], x_prev[:, 0], 1)
    resid = np.var(x_prev[:, 0] - (slope * xt[:, 0] + intercept))
    c0, ct = posterior_coefficients(t, schedule)
    print(f"{t:4d}   {slope:.4f}       {ct:.4f}        {intercept:+.4f}          "
          f"{c0 * x0:+.4f}    {resid:.3e}     {schedule.beta_tildes[t]:.3e}")
    assert abs(slope - ct) < 0.02 and abs(intercept - c0 * x0) < 0.02
    assert abs(resid / schedule.beta_tildes[t] - 1) < 0.05
mu, var = q_posterior(np.full((1, 1), x0), np.full((1, 1), 0.3), 50, schedule)
print(f"q_posterior(x0 = 0.8, x_t = 0.3, t = 50): mean μ̃_t = {mu.item():.4f}, "
      f"variance β̃_t = {var.item():.3e}")

# %% [markdown]
# ## The loss: μ, then ε
#
# Training maximises a bound on the likelihood. Its terms compare the true posterior with the
# model, two Gaussians with the same variance, so each term is a squared distance of means
# (eq. 8):
#
# $$L_{t-1} = \mathbb E\Big[\frac{1}{2\sigma_t^2}\,\|\tilde\mu_t(x_t, x_0) -
# \mu_\theta(x_t, t)\|^2\Big] + C .$$
#
# Now write $x_0$ through the noise that made $x_t$: $x_0 = (x_t - \sqrt{1-\bar\alpha_t}
# \varepsilon)/\sqrt{\bar\alpha_t}$. Then $\tilde\mu_t = \frac{1}{\sqrt{\alpha_t}}\big(x_t -
# \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\varepsilon\big)$, and if the model takes the same form
# with a predicted noise, $\mu_\theta = \frac{1}{\sqrt{\alpha_t}}\big(x_t -
# \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\varepsilon_\theta\big)$ (eq. 11,
# `mu_theta_from_eps` in `ddpm_np/diffusion/param.py`), the two means differ by the noises alone:
#
# $$\|\tilde\mu_t - \mu_\theta\|^2 = \frac{\beta_t^2}{\alpha_t(1-\bar\alpha_t)}\,
# \|\varepsilon - \varepsilon_\theta\|^2 .$$
#
# **Check** with random data, noise and an arbitrary "prediction":

# %%
x0s = rng.standard_normal((1000, 2))
t = rng.integers(1, schedule.T + 1, 1000)
eps, eps_theta = rng.standard_normal((2, 1000, 2))
xt = q_sample(x0s, t, eps, schedule)
mu_tilde, _ = q_posterior(x0s, xt, t, schedule)
mu_theta = mu_theta_from_eps(xt, t, eps_theta, schedule)
lhs = np.sum((mu_tilde - mu_theta) ** 2, axis=1)
weight = schedule.betas[t] ** 2 / (schedule.alphas[t] * (1 - schedule.alpha_bars[t]))
rhs = weight * np.sum((eps - eps_theta) ** 2, axis=1)
print("largest relative difference:", np.max(np.abs(lhs - rhs) / rhs))
assert np.allclose(lhs, rhs, rtol=1e-9)

# %% [markdown]
# So the μ-loss *is* an ε-loss with the weight $\beta_t^2 / (2\sigma_t^2\alpha_t(1-\bar\alpha_t))$.
# Ho et al. drop the weight (eq. 14): $L_\text{simple} = \mathbb E_{t, x_0,
# \varepsilon}\|\varepsilon - \varepsilon_\theta(\sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}
# \varepsilon, t)\|^2$, which gives the large-t steps (the hard ones) more attention than the
# bound would. That is Algorithm 1, `loss_simple` in `ddpm_np/diffusion/losses.py`, looped in
# `ddpm_np/train.py`.

# %%
ts = np.arange(2, schedule.T + 1)
w = schedule.betas[ts] ** 2 / (2 * schedule.beta_tildes[ts] * schedule.alphas[ts]
                               * (1 - schedule.alpha_bars[ts]))
fig, ax = plt.subplots(figsize=(5, 3))
ax.semilogy(ts, w, label="the bound's weight (σ² = β̃)")
ax.axhline(1, color="k", ls="--", label="L_simple: 1")
ax.set_xlabel("t"); ax.legend(); ax.set_title("weight of ‖ε − ε_θ‖² in the loss")
show(fig, "02_loss_weight")

# %% [markdown]
# ## Which σ²? β_t or β̃_t, on the bound
#
# Ho et al. tried $\sigma_t^2 = \beta_t$ and $\sigma_t^2 = \tilde\beta_t$: the first is the
# true reverse variance when $x_0 \sim \mathcal N(0, I)$, the second when $x_0$ is one fixed
# point. For Gaussian data we know the *optimal* ε exactly (`gaussian_cov_eps_model` in
# `ddpm_np/diffusion/analytic.py`), so we can compute the bound of the best possible model
# under each choice and compare it with the exact negative log-likelihood (bits per dimension;
# the bound is an upper bound). Two datasets: the toy Gaussian, whose spread is like the
# noise's, and the same shrunk 30-fold.

# %%
from scipy.stats import multivariate_normal

T_small = 200
sched = NoiseSchedule.linear(T_small, beta_1=0.1 / T_small, beta_T=20 / T_small)
rows = []
for label, scale in (("wide (cov as toy2d)", 1.0), ("narrow (cov / 30)", 1 / 30)):
    cov = toy2d.GAUSSIAN_COV * scale
    eps_star = gaussian_cov_eps_model(toy2d.GAUSSIAN_MEAN, cov, sched)
    x = rng.multivariate_normal(toy2d.GAUSSIAN_MEAN, cov, pick(2000, 300))
    exact = -multivariate_normal(toy2d.GAUSSIAN_MEAN, cov).logpdf(x).mean() / 2 / np.log(2)
    row = {"data": label, "exact": exact}
    for sigma in ("beta", "beta_tilde"):
        bpd, se, _ = nll_bits_per_dim(eps_star, x, sched, rng, sigma=sigma, decoder="gaussian")
        row[sigma] = (bpd, se)
        assert bpd > exact - 4 * se                     # a bound, up to its Monte-Carlo error
    rows.append(row)
print(f"{'data':22s} {'exact NLL':>10s} {'σ² = β':>16s} {'σ² = β̃':>16s}   (bits/dim)")
for r in rows:
    print(f"{r['data']:22s} {r['exact']:10.3f} " + " ".join(
        f"{r[k][0]:9.3f} ± {r[k][1]:.3f}" for k in ("beta", "beta_tilde")))
wide, narrow = rows
assert wide["beta"][0] < wide["beta_tilde"][0]          # β is the tighter choice here
assert narrow["beta"][0] < narrow["beta_tilde"][0]      # and here

# %% [markdown]
# Both are bounds, and σ² = β_t is the tighter one for both datasets, nearly exact for the wide
# one. Why not β̃_t, the posterior's own variance? Because the model does not know $x_0$: with
# the best mean, the mean error adds $c_{0,t}^2\,\mathrm{Var}(x_0 \mid x_t)$ to the variance the
# step should have, and at small t, $x_0$ given $x_t$ is still uncertain by about the noise
# level $1-\bar\alpha_t$ whenever the data is spread wider than that (here it is, even shrunk
# 30-fold). The best σ_t² lies between β̃_t and β_t; β̃_t is right only for data narrower than
# the smallest noise. Ho et al. found that the two choices give similar *samples*; the
# library's samplers use β̃_t by default (`sigma="beta_tilde"` in `ddpm_step`), and the bound
# takes `sigma=` to compare.

# %% [markdown]
# ## Algorithm 2, one step at a time
#
# Sampling runs the reverse chain from pure noise: $x_T \sim \mathcal N(0, I)$, then for
# $t = T, \dots, 1$
#
# $$x_{t-1} = \frac{1}{\sqrt{\alpha_t}}\Big(x_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\,
# \varepsilon_\theta(x_t, t)\Big) + \sigma_t z,\qquad z \sim \mathcal N(0, I)\ \text{(none at }
# t = 1).$$
#
# `ddpm_step` (`ddpm_np/diffusion/samplers.py`) is one such step and `ddpm_sample` the loop.
# Written out below with the exact optimal ε of a Gaussian (`gaussian_cov_eps_model`), the loop
# draws the same numbers as `ddpm_sample` from the same generator, and its samples have the
# data's mean and covariance, within their sampling error.

# %%
from ddpm_np.diffusion import ddpm_sample, ddpm_step

mu_g, cov_g = np.array([1.0, -0.5]), np.array([[0.5, 0.2], [0.2, 0.3]])
eps_star = gaussian_cov_eps_model(mu_g, cov_g, schedule)
n = pick(4000, 1000)
loop_rng = np.random.default_rng(7)
x = loop_rng.standard_normal((n, 2))                               # x_T ~ N(0, I)
for t in range(schedule.T, 0, -1):
    z = loop_rng.standard_normal(x.shape) if t > 1 else None       # no noise at t = 1
    x, _ = ddpm_step(eps_star(x, np.full(n, t)), x, t, schedule, z)
same = ddpm_sample(eps_star, (n, 2), schedule, np.random.default_rng(7), dtype=np.float64,
                   progress=False)
assert np.allclose(x, same, rtol=1e-12, atol=1e-12)
print("mean: samples", x.mean(0).round(3), "data", mu_g)
print("covariance: samples", np.cov(x.T).round(3).tolist(), "data", cov_g.tolist())
se_mean = np.sqrt(np.diag(cov_g) / n)
se_cov = np.sqrt((np.outer(np.diag(cov_g), np.diag(cov_g)) + cov_g ** 2) / n)
assert np.all(np.abs(x.mean(0) - mu_g) < 5 * se_mean)
assert np.all(np.abs(np.cov(x.T) - cov_g) < 5 * se_cov)

# %% [markdown]
# Next chapter: a first model for ε_θ, learned instead of known.
