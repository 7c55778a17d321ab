# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Chapter 5 — An application in physics: sampling a Boltzmann distribution
#
# In statistical physics the states of a system at temperature T are distributed as
#
# $$p(x) = \frac{1}{Z}\, e^{-U(x)/kT},$$
#
# and sampling it is daily work: averages, free energies and reaction rates all come from such
# samples. The standard tool is Markov chain Monte Carlo. **Metropolis–Hastings** moves a point
# by a small random step and accepts the move with probability $\min(1,
# e^{-\Delta U/kT})$; the chain's distribution converges to $p$. Its weakness: consecutive
# states are correlated, and where two wells are separated by a barrier of many kT, a chain of
# small moves crosses it rarely, so it takes very long to get the wells' populations right.
#
# A diffusion model trained on samples of $p$ draws **independent** samples, each at the same
# cost, wherever they fall. Here we compare the two on two potentials in 2-D, tilted double wells
# $U(x) = a(x_1^2-1)^2 + c\,x_1 + b\,x_2^2$ whose reaction coordinate is $x_1$:
#
# - the demos' double well ($a = 2$, $c = 0$): a barrier of 4 kT, which a chain crosses often;
# - a harder one ($a = 6$, $c = 0.4$): a barrier of about 13 kT, and the right well higher, so
#   that the wells' populations are unequal (about 83% : 17%).
#
# Both factorise, so the exact answer is known (free energy along $x_1$, populations, exact
# samples): `ddpm_np/studies/boltzmann.py`, which also holds the Metropolis sampler and the
# autocorrelation time.
# The MLP runs on the reference tier of layers, the code you read (chapter 4).

# %%
import time

import numpy as np
import matplotlib.pyplot as plt

from ddpm_np.data.batching import ArrayDataset
from ddpm_np.diffusion import ddpm_sample, dpm_solver_sample
from ddpm_np.studies.boltzmann import (DoubleWell, free_energy_profile, integrated_time,
                                           metropolis)
from ddpm_np.tasks.toy import toy_schedule
from ddpm_np.tasks.tutorial import pick, quick, show
from ddpm_np.models import MLP
from ddpm_np.train import TrainConfig, Trainer

rng = np.random.default_rng(0)
POTENTIALS = {"easy": (DoubleWell(a=2.0, c=0.0), 0.5), "hard": (DoubleWell(a=6.0, c=0.4), 0.35)}
for key, (pot, _) in POTENTIALS.items():
    print(f"{key}: barrier {pot.barrier_kT():.1f} kT, exact population of the left well "
          f"{pot.population_left():.3f}")

# %% [markdown]
# ## Metropolis–Hastings
#
# Eight chains side by side, all started in the left well, with a step size that accepts about
# 30% of the moves. The integrated autocorrelation time τ of $x_1$ says how many steps make one
# independent sample (`integrated_time`, Sokal's window); where the chain is shorter than 50 τ
# the estimate is only a lower bound.

# %%
chains = {}
n_steps = pick(100_000, 4000)
for key, (pot, step) in POTENTIALS.items():
    chain, acceptance, seconds = metropolis(pot, np.tile([[-1.0, 0.0]], (8, 1)), n_steps, step,
                                            rng)
    x1 = chain[n_steps // 10:, :, 0]                       # drop the first 10% (burn-in)
    tau, reliable = integrated_time(x1)
    crossings = int((np.diff(np.sign(chain[:, :, 0]), axis=0) != 0).sum())
    chains[key] = dict(x1=x1, tau=tau, reliable=reliable, seconds=seconds,
                       left=float((x1 < 0).mean()), crossings=crossings)
    print(f"{key}: acceptance {acceptance:.2f}, τ = {tau:,.0f} steps"
          f"{'' if reliable else ' (a lower bound: the chain is too short)'}, "
          f"{crossings} barrier crossings in {8 * n_steps:,} steps, left population "
          f"{chains[key]['left']:.3f}")
# the high barrier is crossed far more rarely, and (on a chain long enough to see it) each
# independent sample costs far more steps; a short chain stuck in one well shows a small τ,
# which is why τ needs a chain of many τ
assert chains["hard"]["crossings"] < chains["easy"]["crossings"] / 10
if not quick():
    assert chains["hard"]["tau"] > 10 * chains["easy"]["tau"]

# %% [markdown]
# ## A diffusion model
#
# The diffusion model needs **training data**, and this is the honest catch: here we take it
# from the exact sampler, which exists only because these potentials are 2-D and separable. In
# real work the training set comes from long simulations, enhanced sampling or experiment, and
# a model trained on a chain that never crossed the barrier would never produce the other well
# either. What the model then offers is cheap, independent samples from what it learned.
# The model is the MLP of chapter 3, trained with the same loop.

# %%
schedule = toy_schedule(200)
models = {}
for key, (pot, _) in POTENTIALS.items():
    train_x = pot.sample(20_000, rng).astype(np.float32)
    model = MLP(dim=2, hidden=pick(64, 16), num_blocks=pick(2, 1), rng=np.random.default_rng(1))
    t0 = time.perf_counter()
    Trainer(model, schedule, ArrayDataset(train_x), TrainConfig(
        steps=pick(3000, 60), batch_size=256, lr=2e-3, warmup_steps=100, ema_decay=0.995)
    ).run(progress=False)
    train_s = time.perf_counter() - t0
    n = pick(10_000, 500)
    t0 = time.perf_counter()
    x = ddpm_sample(model, (n, 2), schedule, rng, progress=False)
    seconds = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    x_fast = dpm_solver_sample(model, (n, 2), schedule, rng, steps=20, progress=False)
    fast_seconds = (time.perf_counter() - t0) / n
    models[key] = dict(x1=x[:, 0], n=n, train_s=train_s, seconds=seconds,
                       fast_seconds=fast_seconds, left=float((x[:, 0] < 0).mean()),
                       fast_left=float((x_fast[:, 0] < 0).mean()))
    print(f"{key}: trained in {train_s:.0f} s; {n:,} samples at {1e6 * seconds:.0f} µs each "
          f"(ancestral, 200 steps) or {1e6 * fast_seconds:.0f} µs (DPM-Solver++, 20 steps); "
          f"left population {models[key]['left']:.3f} and {models[key]['fast_left']:.3f}")

# %% [markdown]
# ## Free energy along the reaction coordinate, and populations

# %%
bins = np.linspace(-1.8, 1.8, 37)
fig, ax = plt.subplots(2, 2, figsize=(11, 7))
for row, (key, (pot, _)) in enumerate(POTENTIALS.items()):
    grid = np.linspace(-1.8, 1.8, 400)
    a = ax[row, 0]
    a.plot(grid, pot.free_energy(grid) / pot.kT, "k", lw=2, label="exact")
    for label, x1, style in (("diffusion model", models[key]["x1"], "o"),
                             ("Metropolis", chains[key]["x1"].ravel(), "x")):
        c, f = free_energy_profile(x1, pot.kT, bins)
        a.plot(c, f / pot.kT, style, label=label)
    floor = np.log(models[key]["n"] * (bins[1] - bins[0]) * pot.marginal_x1()[1].max())
    a.axhline(floor, color="C0", ls=":", lw=1, label="one diffusion sample in a bin")
    a.set_ylim(-0.5, 16); a.set_xlabel("x₁"); a.set_ylabel("F(x₁) / kT")
    a.set_title(f"{key}: barrier {pot.barrier_kT():.0f} kT")
    if row == 0:                            # the same markers below
        a.legend(loc="upper center", fontsize=8)
    a = ax[row, 1]
    a.plot(chains[key]["x1"][:, 0], lw=0.3)
    a.set_xlabel("Metropolis step"); a.set_ylabel("x₁ of one chain")
    a.set_title(f"{key}: τ = {chains[key]['tau']:,.0f} steps"
                + ("" if chains[key]["reliable"] else " (at least)"))
fig.tight_layout()
show(fig, "05_free_energy")

print("       left-well population             cost of one independent sample (µs)")
print("       exact  diffusion  Metropolis     diffusion 200 / 20 steps   Metropolis τ × step")
for key, (pot, _) in POTENTIALS.items():
    m, c = models[key], chains[key]
    mh_cost = ("≥ " if not c["reliable"] else "") + f"{1e6 * c['tau'] * c['seconds']:,.0f}"
    print(f"{key:6s} {pot.population_left():6.3f} {m['left']:9.3f} {c['left']:11.3f}     "
          f"{1e6 * m['seconds']:10.0f} / {1e6 * m['fast_seconds']:<10.0f}     {mh_cost:>12s}")
    if not quick():
        assert abs(m["left"] - pot.population_left()) < 0.03
hard = POTENTIALS["hard"][0]
if not quick():
    assert abs(chains["hard"]["left"] - hard.population_left()) > \
        abs(models["hard"]["left"] - hard.population_left())

# %% [markdown]
# **What the numbers say.** On the easy well both samplers get the free energy and the
# populations right, and the chain is the cheaper one: a Metropolis step costs a couple of
# microseconds and τ is about 150 steps, a few hundred microseconds per independent sample, no
# training needed. The diffusion model costs more per sample with its 200 ancestral steps, and
# less with a 20-step solver (DPM-Solver++, chapter 4), once it has been trained.
#
# On the hard well the chain barely crosses (a handful of crossings in 800,000 steps): its
# population of the left well is far off, and the right well's free energy with it, however
# long we can afford to wait here. The diffusion model, having learned both wells from its
# training set, draws them in the right proportion, each draw independent, at a cost that does
# not depend on the barrier. It is not perfect: it leaks a few samples onto the barrier top,
# where the exact density is a hundred times lower than one sample per bin (the dotted line is
# what a single sample in a bin reads as), a reminder that a learned sampler is checked, not
# trusted. The price is paid before: the training set, and the training (seconds here). That is
# where diffusion models help physics: when good samples of a system exist or can be made once,
# they turn into a generator of unlimited, uncorrelated new ones; where they don't exist,
# the model cannot invent the well it never saw.
#
# **What this chapter assumed**, and a physicist would not: exact training data (which made the
# sampler's job easy and its answer unnecessary), and samples taken as they come from the model,
# biased by whatever it learned wrong. Chapter 6 drops both: the training data come from a
# Markov chain (HMC) on a lattice field theory, and the model's bias is removed *exactly* by a
# Metropolis–Hastings correction through the sampler's own density.
