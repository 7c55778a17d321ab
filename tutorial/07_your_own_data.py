# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Chapter 7 — Your own data
#
# Everything so far trained on data the library makes. This chapter brings data from a file, as
# you would bring yours: a table of points from a lab, a folder of pictures in class folders, a
# physicist's own field configurations. One function reads any of them and says what it found
# (`ddpm_np.data.load`, in `ddpm_np/data/own.py`); one function trains with the defaults the
# command line uses (`ddpm_np.train_on`, in `ddpm_np/tasks/own_train.py`), holds out a share of
# the data, and writes `metrics.json` and a figure of samples. The same code path is
# `ddpm-np train --data PATH`. This chapter runs the reference tier for the points and the
# images (the UNet here is small), in about 3 minutes on 2 cores.
#
# ## A table of points, in its own units
#
# A ring of radius 3 around (10, −5), with noise, written as a CSV with a header line, as a
# spreadsheet would export it.

# %%
import json
import shutil
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt
from PIL import Image

import ddpm_np
from ddpm_np.data.reading import DataError
from ddpm_np.run.checkpoint import read_meta
from ddpm_np.tasks.sampling import sample_checkpoint
from ddpm_np.tasks.sample_files import in_data_units
from ddpm_np.tasks.tutorial import figures_dir, pick, quick, show

work = Path("runs") / "tutorial" / "07_data"          # the files and runs of this chapter
if work.exists():
    shutil.rmtree(work)
work.mkdir(parents=True)
rng = np.random.default_rng(0)
theta = rng.uniform(0, 2 * np.pi, 5000)
r = 3 + 0.3 * rng.standard_normal(5000)
ring = np.c_[10 + r * np.cos(theta), -5 + r * np.sin(theta)]
np.savetxt(work / "ring.csv", ring, delimiter=",", header="x,y", comments="")

ds = ddpm_np.data.load(work / "ring.csv")
print(ds.kind, ds.shape, "scaling:", {k: np.round(v, 3) for k, v in ds.scaling.items()})
# the model learns standardised columns; denormalise is the way back, exactly
assert np.allclose(ds.x.mean(0), 0, atol=1e-5) and np.allclose(ds.x.std(0), 1, atol=1e-5)
assert np.allclose(ds.denormalise(ds.x), ring, atol=1e-4)

# %% [markdown]
# `train_on` picks the model from the data (the MLP with D inputs), holds out 5%, trains
# (Algorithm 1, as in chapter 3), and measures on the held-out points: the loss, the bound in
# bits/dim, and the energy distance of samples against its noise floor (the distance of as many
# *training* points: what a model that copied the data exactly would score).

# %%
run = ddpm_np.train_on(ds, work / "ring-run", steps=pick(5000, 100), progress=False,
                       **pick({}, dict(hidden=32, blocks=1)))
m = run.metrics
print(json.dumps({k: m[k] for k in ("held_out", "held_out_loss", "bound_bits_per_dim",
                                    "energy_distance", "energy_noise_floor")}, indent=1))
if not quick():
    assert m["energy_distance"] < 2 * m["energy_noise_floor"]

# %% [markdown]
# The checkpoint says what it holds: the kind, the shape of one example, the scaling, where the
# data came from and a hash of its content (so that resuming on changed data is refused unless
# you say `--data` on purpose). Samples come back in the data's units.

# %%
meta = read_meta(run.checkpoint_path())
print({k: meta["data"][k] for k in ("kind", "shape", "n_train", "n_val")},
      meta["data"]["source"]["sha256"][:12] + "…")
x, info = sample_checkpoint(run.checkpoint_path(), 2000, "ddpm", seed=1, progress=False)
points = in_data_units(x, meta)
fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(points[:, 0], points[:, 1], s=2, c="tab:orange", alpha=0.5, label="samples")
ax.scatter(ring[:500, 0], ring[:500, 1], s=2, c="k", alpha=0.6, label="data")
ax.set_aspect("equal"), ax.legend(markerscale=5), ax.set_title("a ring from a CSV")
show(fig, "07_ring")
radius = np.hypot(points[:, 0] - 10, points[:, 1] + 5)
print(f"samples' mean radius {radius.mean():.3f} (data: 3)")
if not quick():
    assert abs(np.median(radius) - 3) < 0.1

# %% [markdown]
# ## A folder of images in class folders
#
# The ImageFolder convention: `root/disc/*.png`, `root/square/*.png`. The class folders make the
# run class-conditional (classifier-free guidance, chapter 4), the names kept in the checkpoint,
# so that `ddpm-np sample --class square` draws squares. Images of several sizes need a stated
# rule (`image_size`: centre crop, then resize); nothing is reshaped silently.

# %%
size = 16
yy, xx = np.mgrid[0:size, 0:size]
for kind in ("disc", "square"):
    (work / "shapes" / kind).mkdir(parents=True)
    for i in range(pick(200, 8)):
        cx, cy, s = *rng.uniform(5, 11, 2), rng.uniform(2.5, 4)
        on = ((xx - cx) ** 2 + (yy - cy) ** 2 <= s * s) if kind == "disc" else \
            (abs(xx - cx) <= s * 0.8) & (abs(yy - cy) <= s * 0.8)
        Image.fromarray((on * 255).astype(np.uint8)).save(work / "shapes" / kind / f"{i}.png")
images = ddpm_np.data.load(work / "shapes")
print(images.kind, images.shape, images.classes, len(images.x), "images")
assert images.classes == ["disc", "square"] and images.shape == [1, size, size]

# a short run (a faster learning rate than the 1,500-step default, and a narrow UNet)
run = ddpm_np.train_on(images, work / "shapes-run", steps=pick(400, 2), batch_size=pick(32, 4),
                       lr=2e-3, warmup_steps=pick(50, 1), base_channels=pick(16, 4),
                       progress=False)
x, info = sample_checkpoint(run.checkpoint_path(), 8, "ddim", steps=pick(20, 2),
                            digit="square", seed=2, progress=False)
print(info["sampler_name"], "memorised share", run.metrics["memorised_share"])
bright = float(np.mean(x > 0))                  # the share of pixels the shapes cover
print(f"bright pixels: {bright:.1%} (the squares of the data: 6–16%)")
if not quick():
    assert 0.03 < bright < 0.3
fig, axes = plt.subplots(1, 8, figsize=(10, 1.6))
for a, img in zip(axes, x):
    a.imshow(img[0], cmap="gray", vmin=-1, vmax=1), a.axis("off")
fig.suptitle("class 'square', guidance 0.5")
show(fig, "07_squares")

# %% [markdown]
# 400 steps draw squares with some speckle around them; the default run (`ddpm-np train --data
# shapes/`, 1,500 steps of a UNet twice as wide) draws them cleanly: docs/results.md, "Your own
# data", where 98% of the squares asked for are read as squares.
#
# ## Files that are not what they say
#
# Every read is bounded by what the format says it holds, and a file that cannot be used is
# refused in one line that names it and says what is allowed, before any work.

# %%
(work / "ragged.csv").write_text("1,2\n3,4\n5\n")
try:
    ddpm_np.data.load(work / "ragged.csv")
except DataError as e:
    print("refused:", e)
    assert "row 3 has 1 columns" in str(e)
print("figures in", figures_dir())

# %% [markdown]
# **What to remember.** The data's kind decides the model (MLP, UNet, periodic network) and
# its units (standardised columns, [−1, 1] pixels, φ/s); the checkpoint keeps both, with where
# the data came from, so that every command can use it later. From the command line:
# `ddpm-np train --data PATH`, then `ddpm-np sample --checkpoint RUN/checkpoint.npz --n K --out
# samples.csv` (or `.npy`, `folder/`, `--grid picture.png`).
