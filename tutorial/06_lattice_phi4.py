# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Chapter 6 — Lattice φ⁴ theory: an exact diffusion sampler against Hybrid Monte Carlo
#
# Chapter 5 trained a diffusion model on *exact* samples and compared it with Metropolis. A
# physicist objects twice: a sampler that needs exact samples to learn from answers nothing,
# and a generative model's samples are biased by however well it was trained. This chapter
# answers both, the way it is done for lattice field theory (Albergo, Kanwar & Shanahan 2019):
#
# 1. the target is the 2-D scalar φ⁴ theory on an L×L periodic lattice,
#    $p(\phi) \propto e^{-S(\phi)}$ with
#    $S(\phi) = \sum_x \big[(2d + m^2)\phi_x^2 + \lambda\phi_x^4 - 2\sum_\mu \phi_x\phi_{x+\hat\mu}\big]$;
# 2. the training data come from **Hybrid Monte Carlo**, which also gives the reference;
# 3. the model's samples are made **exact** by a Metropolis–Hastings correction that uses the
#    sampler's own density $q(\phi)$, which a deterministic sampler has in closed form.
#
# The code is the library's: `ddpm_np/physics/` (action, HMC, observables, errors, the
# correction), `ddpm_np/models/lattice.py` (the network), `ddpm_np/diffusion/flow_density.py`
# (the density). The whole study is one command, `ddpm-np phi4` (docs/results.md has its
# numbers from L = 4 to 16); here we walk through it at L = 6 with a shorter training.
# The network runs on the reference tier of layers (the one you read; chapter 4 shows the fast
# twin, which `ddpm-np phi4` runs).

# %%
import time

import numpy as np
import matplotlib.pyplot as plt

from ddpm_np.data.batching import ArrayDataset
from ddpm_np.diffusion import (NoiseSchedule, ddim_coefficients, flow_sample,
                               gaussian_cov_eps_jacobian, module_eps_jacobian,
                               solver_timesteps)
from ddpm_np.tasks.tutorial import pick, quick, show
from ddpm_np.models import LatticeEps
from ddpm_np.physics import (Phi4Action, estimate_all, ess_per_sample, gamma_method, hmc,
                             independence_mh, local_metropolis, per_config)
from ddpm_np.train import TrainConfig, Trainer

L, M2, LAM = 6, -4.0, 6.975           # the benchmark ensemble: L/ξ ≈ 4
action = Phi4Action(L, M2, LAM)
rng = np.random.default_rng(0)

# %% [markdown]
# ## Hybrid Monte Carlo, and why its samples are not independent
#
# HMC (`physics/hmc.py`) gives the field a momentum π ~ N(0, I), follows Hamilton's equations
# for $H = \tfrac12\pi^2 + S(\phi)$ with the leapfrog, and accepts the end point with
# probability $\min(1, e^{-\Delta H})$. Consecutive configurations are correlated: the
# **integrated autocorrelation time** τ_int says how many steps make one independent sample,
# and the error of a mean is $\sqrt{2\tau_\mathrm{int}\,\mathrm{Var}/N}$. We estimate τ_int
# with the Γ-method (Wolff 2004, `physics/errors.py`), and check HMC against an independent
# sampler, local Metropolis.

# %%
t0 = time.perf_counter()
ref = hmc(action, 16, pick(2000, 200), rng)
local = local_metropolis(action, 16, pick(4000, 400), rng)
hmc_est, local_est = estimate_all(per_config(ref["phi"])), estimate_all(per_config(local["phi"]))
print(f"HMC: acceptance {ref['acceptance']:.2f} (step {ref['step']:.3f}), "
      f"{time.perf_counter() - t0:.1f} s with local Metropolis")
LABELS = {"abs_m": "⟨|M|⟩/V", "chi2": "χ₂", "e_ising": "E (Ising)", "binder": "Binder U",
          "L_over_xi": "L/ξ"}                              # what each observable is called
for name in LABELS:
    (h, he), (m, me) = hmc_est[name], local_est[name]
    print(f"  {LABELS[name]:10s} HMC {h:.4f} ± {he:.4f} (τ_int {hmc_est['tau_int'][name]:4.1f})   "
          f"local {m:.4f} ± {me:.4f} (τ_int {local_est['tau_int'][name]:4.1f})")
    assert abs(h - m) < 4 * np.hypot(he, me), name          # two samplers, one theory
assert 0.65 < ref["acceptance"] < 0.92

# %% [markdown]
# ## A diffusion model trained on HMC data
#
# The network (`models/lattice.py`) is a residual stack of **periodic** convolutions: the
# lattice has no edge, so every convolution wraps around, and shifting the field shifts ε_θ.
# It is also **odd**, ε_θ(−x) = −ε_θ(x) (no biases on the field's path, tanh, and the time
# enters as a gain), so the Z₂ symmetry φ → −φ holds exactly instead of being learned. We
# train it on HMC configurations (and their mirror images), scaled to unit r.m.s.

# %%
train_set = hmc(action, 64, pick(256, 16), np.random.default_rng(1), every=2)["phi"]
train_set = train_set.reshape(-1, L, L)
scale = float(np.sqrt(np.mean(train_set ** 2)))
x = (np.concatenate([train_set, -train_set]) / scale)[:, None].astype(np.float32)
model = LatticeEps(32, 3, rng=np.random.default_rng(2))
schedule = NoiseSchedule.linear()
config = TrainConfig(steps=pick(800, 30), batch_size=256, lr=2e-3, warmup_steps=pick(100, 3))
t0 = time.perf_counter()
Trainer(model, schedule, ArrayDataset(x), config).run(progress=False)
print(f"trained {config.steps} steps in {time.perf_counter() - t0:.0f} s")

# %% [markdown]
# ## The density of a deterministic sampler
#
# DDIM with η = 0 is a map of x_t alone: $x_{t'} = a_t x_t + b_t\,\varepsilon_\theta(x_t, t)$.
# Composed over the steps it is one invertible map $x_T \mapsto x_0$, a **normalising flow**,
# and by the change of variables
#
# $$\log q(x_0) = \log \mathcal N(x_T; 0, I) - \log\left|\det \frac{\partial x_0}{\partial x_T}\right|.$$
#
# With V = L² = 36 sites the Jacobian ∂ε_θ/∂x is 36 tangents pushed through the network, exact in
# float64 (no trace estimator: a noisy log q would make the correction inexact). The second-order
# DPM-Solver++(2M) is a deterministic map too, and much more accurate per step; its Jacobian is
# carried along the steps the same way (`flow_density.py`).
#
# First, a check where everything is known: for the free field (λ = 0, m² > 0) the data are
# Gaussian, the optimal ε is linear, the sampler is a matrix M, and q = N(0, M Mᵀ).

# %%
free = Phi4Action(4, m2=0.5, lam=0)
cov = free.free_covariance()
x_T = rng.standard_normal((5, 1, 4, 4))
x0, log_q = flow_sample(gaussian_cov_eps_jacobian(cov, schedule), x_T, schedule, 10, order=1)
M = np.eye(16)
ts = list(solver_timesteps(schedule, 10, "logsnr")) + [0]      # the steps flow_sample takes
for t, s in zip(ts[:-1], ts[1:]):
    a, b = ddim_coefficients(schedule, t, s)
    J = gaussian_cov_eps_jacobian(cov, schedule)(np.zeros((1, 16)), np.array([t]))[1][0]
    M = (a * np.eye(16) + b * J) @ M                      # one DDIM step is the matrix aI + bJ
C = M @ M.T
exact = -0.5 * np.einsum("ni,ij,nj->n", x0.reshape(5, 16), np.linalg.inv(C), x0.reshape(5, 16)) \
    - 0.5 * np.linalg.slogdet(2 * np.pi * C)[1]
print("log q by the flow:", np.round(log_q, 6))
print("closed form:      ", np.round(exact, 6))
assert np.allclose(log_q, exact, rtol=1e-8)

# %% [markdown]
# ## Raw samples are biased; Metropolis–Hastings removes the bias
#
# Propose φ' ~ q independently and accept it with
# $\min\!\big(1, \frac{e^{-S(\phi')}/q(\phi')}{e^{-S(\phi)}/q(\phi)}\big)$: an **independence
# Metropolis–Hastings** chain, whose stationary law is p *exactly*, whatever the model's error
# (it only costs acceptance). Equivalently, weight each proposal by $w = e^{-S}/q$; the effective
# sample size $(\sum w)^2/\sum w^2$ says how many exact samples the proposals are worth.
#
# To make the bias plain with a few hundred proposals we sample in 6 steps here (the study
# uses 12, whose bias is smaller and needs more proposals to show: docs/results.md). Watch the
# Ising energy E, the correlation of neighbours: the raw samples get it wrong by several σ.

# %%
net = LatticeEps(**model.config(), rng=np.random.default_rng(0), dtype=np.float64)
net.load_state_dict(model.state_dict())                   # the same weights, in float64
t0 = time.perf_counter()
x0, log_q = flow_sample(module_eps_jacobian(net.eval()), rng.standard_normal(
    (pick(768, 32), 1, L, L)), schedule, steps=6, order=2)
phi = scale * x0[:, 0]
log_q -= L * L * np.log(scale)                            # φ = s·x_0
log_w = -action(phi) - log_q
index, accepted = independence_mh(log_w, rng)
print(f"{len(phi)} proposals with their log q in {time.perf_counter() - t0:.0f} s: "
      f"MH acceptance {accepted.mean():.2f}, ESS/N {ess_per_sample(log_w):.2f}")
P = per_config(phi)
raw, mh = estimate_all(P[None]), estimate_all(P[index][None])
names = ("abs_m", "chi2", "e_ising", "binder")
if quick():
    print("quick mode: too few proposals and training steps for the corrected chain to be "
          "checked; its deviations below are not asserted")
for name in names:
    h = hmc_est[name]
    dev = lambda e: (e[name][0] - h[0]) / np.hypot(e[name][1], h[1])  # noqa: E731
    print(f"  {LABELS[name]:10s} HMC {h[0]:.4f}   raw {raw[name][0]:.4f} ({dev(raw):+5.1f}σ)   "
          f"MH {mh[name][0]:.4f} ({dev(mh):+5.1f}σ)")
    if not quick():
        assert abs(dev(mh)) < 3.5, name                    # exact, within its errors

fig, axes = plt.subplots(1, len(names), figsize=(11, 2.8))
for ax, name in zip(axes, names):
    for i, (label, est, c) in enumerate((("HMC", hmc_est, "k"), ("raw", raw, "tab:red"),
                                         ("MH", mh, "tab:blue"))):
        ax.errorbar([i], [est[name][0]], [est[name][1]], fmt="o", color=c, capsize=3)
    ax.set_xticks(range(3))
    ax.set_xticklabels(["HMC", "raw", "MH"])
    ax.set_title(LABELS[name], fontsize=10)
fig.suptitle("the raw model is biased; the Metropolis–Hastings chain is exact" if not quick()
             else "quick mode: too few proposals to check the corrected chain", fontsize=10)
fig.tight_layout()
show(fig, "06_phi4_observables")

# %% [markdown]
# ## A density that costs V, not V²: the whole path
#
# The Jacobian costs V tangents a step, so a proposal costs about V² and the study stops at
# L = 10. The stochastic (ancestral) sampler has a density that needs no Jacobian at all, if we
# keep the **whole path** $x_T, \dots, x_0$: each step is a Gaussian
# $\mathcal N(x_s; \mu_\theta(x_t), \sigma^2 I)$, so $\log q_\theta(\text{path})$ is a sum of
# Gaussians. The matching target on paths runs the forward process from an exact sample,
# $P(\text{path}) = p(x_0)\prod_k \mathcal N(x_t; \sqrt{\alpha_{t|s}}\,x_s, \beta_{t|s} I)$, whose
# marginal on $x_0$ is p. The weight $w = P/q_\theta$ is exact, and a Metropolis–Hastings chain
# on whole paths is exact for $x_0$ (`diffusion/path_density.py`). One network evaluation a
# step: the cost grows like V. The price is variance: the log-weight sums V·K small
# mismatches, so it needs many steps and a step variance that fits — with σ² = β, the forward
# kernel's own, the noise terms cancel in pairs; with β̃ they do not.

# %%
from ddpm_np.diffusion.path_density import PathVariances, path_sample, path_timesteps  # noqa

model.eval()
n_path = pick(512, 32)
for steps, v in ((pick(200, 20), 0.0), (pick(200, 20), 1.0), (pick(1000, 40), 1.0)):
    t0 = time.perf_counter()
    r = path_sample(model, rng.standard_normal((n_path, 1, L, L)), schedule,
                    path_timesteps(schedule, steps), PathVariances(v), rng)
    phi_p = scale * r["x0"][:, 0]
    log_w_p = -action(phi_p) + L * L * np.log(scale) + r["log_forward"] - r["log_q"]
    _, acc_p = independence_mh(log_w_p, rng)
    print(f"{steps:4d} steps, σ² = β̃ + {v:g}·(β − β̃): MH acceptance {acc_p.mean():.2f}, "
          f"ESS/N {ess_per_sample(log_w_p):.2f}, "
          f"{(time.perf_counter() - t0) / n_path * 1e3:.1f} ms a proposal")

# %% [markdown]
# ## When does it pay?
#
# A Markov chain pays τ_int steps for an independent sample, and τ_int grows near a critical
# point (**critical slowing down**) and explodes in the **broken phase** (small λ), where the
# field sits in one of two vacua, ±m₀, and HMC crosses between them only through a rare
# interface. The corrected diffusion sampler pays for training once, then for each proposal
# divided by its acceptance, and it proposes both vacua with equal probability (the network is
# odd), so its τ_int(M) stays near 1 where HMC's runs into the thousands. `ddpm-np phi4 --L 6`
# runs the full study in about ten minutes; `ddpm-np phi4 --L 16` takes the path route, and
# `--lam 3.5` puts it in the broken phase. docs/results.md has the cost per independent
# sample of local Metropolis, HMC and the corrected sampler from L = 4 to 16, and says where
# the diffusion sampler wins.

# %%
print(f"τ_int: HMC {max(hmc_est['tau_int'].values()):.1f}, local Metropolis "
      f"{max(local_est['tau_int'].values()):.1f}, corrected diffusion "
      f"{gamma_method(P[index][:, 1])['tau_int']:.1f} (of |M|)")
