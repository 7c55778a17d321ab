# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Chapter 4 — A second model: a UNet, on MNIST digits
#
# Nothing in the diffusion changes for images: $x_0$ is a 28×28 array scaled to [−1, 1], the
# forward process adds noise to every pixel, and the loss is still $\|\varepsilon -
# \varepsilon_\theta(x_t, t)\|^2$. What changes is the model. A linear map cannot do it
# (chapter 3), and an MLP on 784 pixels ignores that images are made of local patterns that can
# appear anywhere. A **UNet** does both: convolutions (the same small filter everywhere), an
# encoder that halves the resolution twice to see the whole digit, a decoder that brings it back
# and, through skip connections, the fine detail of the encoder's early layers. The time step
# enters every residual block as one number per channel; a class label can be added to it, so
# that one network learns ε for "a 7" and for "any digit" (classifier-free guidance).
#
# Code: `ddpm_np/models/unet.py` (its docstring has the diagram), built from the layers of
# `ddpm_np/nn/` (`conv.py`: the convolution as loops, then as im2col + one matrix product;
# `norm.py`: GroupNorm; `blocks.py`: the residual block; `attention.py`). Training is the same
# `Trainer` as before.
#
# **Which code runs.** Every layer exists twice: the *reference tier* in `ddpm_np/nn/`, the
# code named above, written to be read; and the *fast tier* in `ddpm_np/nn/fast/`, twins of the
# same layers and blocks with the same parameters, computing the same numbers with threads,
# another memory layout and Winograd's convolutions. Models run the reference tier unless told;
# this chapter asks for the fast one (`set_program_tier("fast")`, as `ddpm-np` does for the
# UNet), so sampling and training below are quick; the section after the samples runs the
# reference tier beside it.

# %%
import numpy as np
import matplotlib.pyplot as plt

from ddpm_np.data.batching import ArrayDataset
from ddpm_np.data.mnist import DatasetError, load_mnist, to_model_range
from ddpm_np.diffusion import guided_eps_model, q_sample, x0_from_eps
from ddpm_np.diffusion.learned_variance import eps_only
from ddpm_np.metrics import load_classifier
from ddpm_np.nn.tiers import set_program_tier
from ddpm_np.tasks.mnist_sample import GUIDANCE, load_image_model, sample_images
from ddpm_np.tasks.mnist_train import mnist_model, mnist_schedule
from ddpm_np.tasks.tutorial import pick, show
from ddpm_np.train import TrainConfig, Trainer

set_program_tier("fast")                                # the UNet's twins (chapter text)
model, schedule, meta = load_image_model("mnist")       # the shipped weights (6,000 steps)
print(f"UNet: {model.num_parameters():,} parameters, trained {meta['step']} steps")
for name, child in model.named_children():
    n = sum(p.data.size for _, p in child.named_parameters())
    if n:
        print(f"  {name:15s} {n:9,d}")

# %% [markdown]
# ## Samples from the shipped model
#
# Ten digits, asked for by label. Two ideas beyond Algorithm 2 make this fast and sharp:
#
# - **Classifier-free guidance** (Ho & Salimans 2022, eq. 6). The network was trained with its
#   label dropped one time in ten (the "no label" input ∅), so it predicts both ε(x_t, y) and
#   ε(x_t, ∅). Sampling with $\tilde\varepsilon = (1+w)\,\varepsilon_\theta(x_t, y) -
#   w\,\varepsilon_\theta(x_t, \varnothing)$ pushes each step further in the direction that
#   makes the image look like a *y* than like any digit; $w = 0.5$ here
#   (`ddpm_np/diffusion/guidance.py`).
# - **DPM-Solver++(2M)** (Lu et al. 2022). Without the noise term, the reverse process is an
#   ordinary differential equation in x_t; DDIM is its first-order solver. DPM-Solver++ takes
#   second-order steps on it using the two last predictions of x̂_0, so 10 evaluations of the
#   network do what 1,000 ancestral steps do (`ddpm_np/diffusion/solvers.py`).
#
# The check: the project's digit classifier reads (nearly) every sample as the digit asked for.

# %%
rng = np.random.default_rng(0)
per = pick(4, 1)
labels = np.repeat(np.arange(10), per)
x = sample_images(model, schedule, len(labels), rng, labels, GUIDANCE, "dpm++2m", 10,
                  progress=False)
fig, ax = plt.subplots(per, 10, figsize=(10, 1.1 * per), squeeze=False)
for k, a in enumerate(ax.T.ravel()):
    a.imshow(x[k, 0], cmap="gray", vmin=-1, vmax=1); a.axis("off")
show(fig, "04_samples")
assert np.isfinite(x).all() and x.shape == (len(labels), 1, 28, 28)
read_as, _ = load_classifier().predict(x)
agree = float(np.mean(read_as.argmax(1) == labels))
print(f"the classifier reads {agree:.0%} of the samples as the digit asked for")
assert agree >= pick(0.95, 0.8)

# %% [markdown]
# ## The code you read is the code that computes
#
# Build the same UNet on the reference tier (`tier="reference"`: only the layers of
# `ddpm_np/nn/`), give it the shipped weights, and run one pass of each on the same noisy
# digits: the same ε within float32 rounding, at a fraction of the speed.

# %%
import time

from ddpm_np.models import UNet

readable = UNet(**model.config(), rng=np.random.default_rng(0), tier="reference").eval()
readable.load_state_dict(model.state_dict())
xt = rng.standard_normal((8, 1, 28, 28)).astype(np.float32)
t8, y8 = np.full(8, 500), np.arange(8)
eps = {}
for name, net in (("fast", model), ("reference", readable)):
    t0 = time.perf_counter()
    eps[name] = net(xt, t8, y8)
    print(f"{name:9s} tier: one pass of 8 images in {1e3 * (time.perf_counter() - t0):5.0f} ms")
gap = np.abs(eps["fast"] - eps["reference"]).max()
print(f"largest difference: {gap:.1e} (ε is of size 1)")
assert gap < 1e-4

# %% [markdown]
# ## What the network knows at each noise level
#
# Take real digits, noise them to step t, and read the network's guess of the clean image from
# its ε: $\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\varepsilon_\theta)/\sqrt{\bar\alpha_t}$
# (eq. 15, `x0_from_eps`). At small t it removes the noise; at large t, where almost nothing
# is left, it can only offer a blurred average of what the digit could be.

# %%
try:
    test_images, test_labels = load_mnist("test")
    digits = to_model_range(test_images[:4])
except DatasetError as e:           # offline without the files: the rest of the chapter needs none
    print("no MNIST test files here:", e)
    digits = None
if digits is not None:
    ts = [50, 200, 400, 600, 800]
    fig, ax = plt.subplots(2 * len(digits), len(ts), figsize=(1.4 * len(ts), 2.8 * len(digits)))
    eps_model = guided_eps_model(eps_only(model), None)   # no label: "any digit"
    for j, t in enumerate(ts):
        xt = q_sample(digits, t, rng.standard_normal(digits.shape).astype(np.float32), schedule)
        x0_hat = x0_from_eps(xt, t, eps_model(xt, np.full(len(xt), t)), schedule)
        for i in range(len(digits)):
            ax[2 * i, j].imshow(xt[i, 0], cmap="gray"); ax[2 * i, j].set_title(f"x_t, t={t}",
                                                                               fontsize=8)
            ax[2 * i + 1, j].imshow(np.clip(x0_hat[i, 0], -1, 1), cmap="gray", vmin=-1, vmax=1)
            ax[2 * i + 1, j].set_title("x̂_0", fontsize=8)
    for a in ax.ravel():
        a.axis("off")
    show(fig, "04_x0_hat")

# %% [markdown]
# ## Training, from scratch
#
# The same loop as for the 2-D data, on the UNet: a few dozen steps here to watch the loss
# fall from 1 (the untrained network predicts ε = 0). The shipped model took 6,000 steps of
# batch 64, about an hour on two cores: `ddpm-np train --dataset mnist`.
#
# A model of your own within a lecture: `ddpm-np train --dataset mnist --preset short --out
# runs/short` trains for about 15 minutes on two cores (13 minutes here, 0.54 s a step), then
# `ddpm-np evaluate --checkpoint runs/short/checkpoint.npz` measures it as the shipped model was
# measured: 96% of its digits read as requested, against the shipped model's 99.5%, and a
# faint speckle left on the background. docs/results.md ("Quality per CPU-minute") says what
# such a budget buys, lever by lever.

# %%
if digits is not None:
    images, train_labels = load_mnist("train")
    data = ArrayDataset(to_model_range(images[:5000]), train_labels[:5000].astype(np.int64))
    trainer = Trainer(mnist_model(np.random.default_rng(0)), mnist_schedule(), data,
                      TrainConfig(steps=pick(40, 3), batch_size=pick(32, 4), lr=1e-3,
                                  warmup_steps=5))
    trainer.run(progress=False)
    loss = trainer.log["loss"]
    print(f"loss: first {loss[0]:.3f}, last five {np.mean(loss[-5:]):.3f}")
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(trainer.log["step"], loss); ax.set_xlabel("step"); ax.set_ylabel("L_simple")
    show(fig, "04_first_steps")
    if len(loss) >= 20:
        assert np.mean(loss[-5:]) < loss[0]

# %% [markdown]
# **What to remember.** The diffusion part is the same for a spiral and for digits; the model
# carries the knowledge of what images look like. Next chapter: a use in physics.
