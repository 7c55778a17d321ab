"""Figures. Every function writes one file and returns its path (matplotlib, Agg backend)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save_figure(fig, path, dpi=110, bbox_inches="tight"):
    """Write the figure atomically (a full disk or a killed process leaves no partial file to
    block a rerun) and close it."""
    from .run.checkpoint import atomic_write
    path = Path(path)
    try:
        atomic_write(path, lambda f: fig.savefig(f, format=path.suffix[1:].lower() or "png",
                                                 dpi=dpi, bbox_inches=bbox_inches))
    finally:
        plt.close(fig)
    return path


def _limits(*arrays, pad=0.3):
    a = np.concatenate([np.asarray(x).reshape(-1, 2) for x in arrays])
    lo, hi = np.percentile(a, 0.5, axis=0), np.percentile(a, 99.5, axis=0)
    span = (hi - lo).max() / 2 + pad
    c = (hi + lo) / 2
    return (c[0] - span, c[0] + span), (c[1] - span, c[1] + span)


def scatter_compare(data, samples, path, title=""):
    """Data and samples side by side and overlaid, on the same axes."""
    xl, yl = _limits(data, samples)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.3))
    for ax, pts, c, name in ((axes[0], data, "tab:blue", "data"),
                             (axes[1], samples, "tab:orange", "samples")):
        ax.scatter(pts[:, 0], pts[:, 1], s=3, alpha=0.5, c=c)
        ax.set_title(f"{name} (n={len(pts)})")
    axes[2].scatter(data[:, 0], data[:, 1], s=3, alpha=0.35, c="tab:blue", label="data")
    axes[2].scatter(samples[:, 0], samples[:, 1], s=3, alpha=0.35, c="tab:orange",
                    label="samples")
    axes[2].legend(markerscale=4, loc="upper right")
    axes[2].set_title("overlaid")
    for ax in axes:
        ax.set_xlim(xl), ax.set_ylim(yl), ax.set_aspect("equal")
    fig.suptitle(title)
    return save_figure(fig, path)


def process_strip(frames, ts, path, title, label_fmt="t = {}", data=None):
    """A row of scatter plots on the same axes, one per time step (forward or reverse
    process), the data in light grey behind each if given; the axes' scale on the first."""
    n = len(frames)
    fig, axes = plt.subplots(1, n, figsize=(2.4 * n, 2.9), sharex=True, sharey=True)
    lim = (-4, 4)
    for i, (ax, f, t) in enumerate(zip(np.atleast_1d(axes), frames, ts)):
        if data is not None:
            ax.scatter(data[:, 0], data[:, 1], s=1, c="lightgray", label="data")
        ax.scatter(f[:, 0], f[:, 1], s=1.5, alpha=0.4, c="tab:blue" if data is None else
                   "tab:orange", label="x_t")
        ax.set_xlim(lim), ax.set_ylim(lim), ax.set_aspect("equal")
        ax.set_title(label_fmt.format(t), fontsize=10)
        ax.set_xticks([-4, 0, 4]), ax.set_yticks([-4, 0, 4])
        ax.tick_params(labelsize=8)
        if i == 0:
            ax.set_xlabel("x₁", fontsize=9), ax.set_ylabel("x₂", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def loss_curve(steps, losses, path, title="training loss"):
    """Raw loss per step and its moving average, log scale."""
    steps, losses = np.asarray(steps), np.asarray(losses)
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.plot(steps, losses, lw=0.5, alpha=0.35, label="per step")
    w = max(1, len(losses) // 50)
    if len(losses) >= w:
        ma = np.convolve(losses, np.ones(w) / w, mode="valid")
        ax.plot(steps[w - 1:], ma, lw=2, label=f"moving average ({w} steps)")
    ax.set_yscale("log")
    ax.set_xlabel("step"), ax.set_ylabel("loss (MSE)")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    return save_figure(fig, path)


def marginals(data, samples, path, density_fns=None, title="marginals"):
    """Histograms of each coordinate of samples and data, with the true marginal densities."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for d, ax in enumerate(axes):
        lo, hi = np.percentile(np.r_[data[:, d], samples[:, d]], [0.1, 99.9])
        bins = np.linspace(lo - 0.3, hi + 0.3, 60)
        ax.hist(data[:, d], bins, density=True, alpha=0.4, label="data")
        ax.hist(samples[:, d], bins, density=True, alpha=0.4, label="samples")
        if density_fns is not None:
            g = np.linspace(bins[0], bins[-1], 400)
            ax.plot(g, density_fns[d](g), "k", lw=1.5, label="true density")
        ax.set_title(f"x{d + 1}")
        ax.legend()
    fig.suptitle(title)
    return save_figure(fig, path)


def energy_histogram(u_data, u_samples, path, kT, title="energy histogram"):
    """Histogram of U(x) for true and generated samples (log density), Boltzmann reference."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    hi = np.percentile(np.r_[u_data, u_samples], 99.5)
    bins = np.linspace(0, hi, 50)
    ax.hist(u_data, bins, density=True, alpha=0.45, label="true samples")
    ax.hist(u_samples, bins, density=True, alpha=0.45, label="generated")
    ax.set_yscale("log")
    ax.set_xlabel(f"U(x)  (kT = {kT})"), ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend()
    return save_figure(fig, path)


def reverse_gif(frames, ts, path, data=None, fps=12):
    """Animated GIF of the reverse process (one frame per stored x_t), data in the background."""
    from matplotlib.animation import FuncAnimation, PillowWriter
    fig, ax = plt.subplots(figsize=(4, 4))
    lim = (-4, 4)
    if data is not None:
        ax.scatter(data[:, 0], data[:, 1], s=1, c="lightgray")
    sc = ax.scatter(frames[0][:, 0], frames[0][:, 1], s=2, c="tab:orange", alpha=0.6)
    title = ax.set_title("")
    ax.set_xlim(lim), ax.set_ylim(lim), ax.set_aspect("equal")
    ax.set_xticks([]), ax.set_yticks([])

    def update(i):
        sc.set_offsets(frames[i])
        title.set_text(f"reverse process, t = {ts[i]}")
        return sc, title

    n = len(frames)
    order = list(range(n)) + [n - 1] * fps  # hold the last frame a second
    anim = FuncAnimation(fig, lambda k: update(order[k]), frames=len(order), blit=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    anim.save(path, writer=PillowWriter(fps=fps))
    plt.close(fig)
    return path


def tile(x, nrow: int, pad: int = 2) -> np.ndarray:
    """(N, C, H, W) images in [−1, 1], C = 1 or 3 → one (rows·(H+pad), nrow·(W+pad)) array
    in [0, 1] (with a last axis of 3 for colour)."""
    x = np.clip((np.moveaxis(np.asarray(x, np.float64), 1, -1) + 1) / 2, 0, 1)
    n, H, W, C = x.shape
    rows = -(-n // nrow)
    out = np.ones((rows * (H + pad) + pad, nrow * (W + pad) + pad, C))
    for i in range(n):
        r, c = divmod(i, nrow)
        out[pad + r * (H + pad):pad + r * (H + pad) + H,
            pad + c * (W + pad):pad + c * (W + pad) + W] = x[i]
    return out[..., 0] if C == 1 else out


def image_grid(x, path, nrow: int = 8, title: str = "", row_labels=None):
    """Save a grid of images (white = 1, grey or colour); `row_labels` names each row (e.g.
    the digit)."""
    img = tile(x, nrow)
    scale = max(28, x.shape[2])
    fig, ax = plt.subplots(figsize=(max(3, img.shape[1] / scale),
                                    max(3, img.shape[0] / scale) + 0.4))
    ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    if row_labels is not None:
        H = x.shape[2] + 2
        ax.set_yticks([2 + H * i + H / 2 - 1 for i in range(len(row_labels))])
        ax.set_yticklabels(row_labels)
    else:
        ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def lattice_fields(phi, path, title="", data=None, shown: int = 8, data_label="held-out fields"):
    """Fields (N, L, L): `shown` of them on one colour scale (red +, blue −), and the histogram
    of the magnetisation per site M/V of all of them against `data`'s (fields), if given."""
    fig = plt.figure(figsize=(12, 3.6))
    grid = fig.add_gridspec(2, shown // 2 + 3)
    lim = float(np.percentile(np.abs(phi[:shown]), 99)) or 1.0
    for k in range(min(shown, len(phi))):
        ax = fig.add_subplot(grid[k % 2, k // 2])
        im = ax.imshow(phi[k], cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_xticks([]), ax.set_yticks([])
    fig.colorbar(im, ax=fig.axes, location="left", shrink=0.8, label="φ")
    ax = fig.add_subplot(grid[:, shown // 2 + 1:])
    m = phi.mean(axis=(1, 2))
    m_data = None if data is None else data.mean(axis=(1, 2))
    both = m if m_data is None else np.concatenate([m, m_data])
    bins = np.linspace(both.min(), both.max(), 40)
    if m_data is not None:
        ax.hist(m_data, bins=bins, density=True, color="0.6", label=f"{data_label} ({len(data)})")
    ax.hist(m, bins=bins, density=True, histtype="step", lw=1.5, color="tab:orange",
            label=f"samples ({len(phi)})")
    ax.set_xlabel("M/V (magnetisation per site)"), ax.legend(fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)


def pairs(samples, path, title="", data=None, max_columns: int = 4, names=None):
    """Points of any dimension: a histogram for one column, else a scatter of each pair of the
    first `max_columns` columns (the data, if given, in black over the samples in orange);
    `names`: the columns' names."""
    D = samples.shape[1]
    cols = list(range(min(D, max_columns)))
    names = names or [f"column {j + 1}" for j in range(D)]
    if D == 1:
        fig, ax = plt.subplots(figsize=(5, 3.6))
        if data is not None:
            ax.hist(data[:, 0], bins=60, density=True, color="0.6", label="held-out data")
        ax.hist(samples[:, 0], bins=60, density=True, histtype="step", color="tab:orange",
                lw=1.5, label="samples")
        ax.set_xlabel(names[0]), ax.legend()
        fig.suptitle(title)
        return save_figure(fig, path)
    pairs_ = [(i, j) for i in cols for j in cols if i < j]
    k = len(pairs_)
    ncol = min(k, 3)
    nrow = -(-k // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 4 * nrow), squeeze=False)
    for ax, (i, j) in zip(axes.flat, pairs_):
        ax.scatter(samples[:, i], samples[:, j], s=2, c="tab:orange", alpha=0.4,
                   label="samples")
        if data is not None:
            ax.scatter(data[:, i], data[:, j], s=2 if len(data) > 500 else 3, c="k",
                       alpha=0.4 if len(data) > 500 else 0.7, label="held-out data")
        ax.set_xlabel(names[i]), ax.set_ylabel(names[j])
    for ax in list(axes.flat)[k:]:
        ax.axis("off")
    axes.flat[0].legend(markerscale=5, loc="best", fontsize=8)
    fig.suptitle(title + (f"  (columns 1–{len(cols)} of {D})" if D > len(cols) else ""))
    return save_figure(fig, path)


def image_gif(frames, ts, path, nrow: int = 10, scale: int = 2, hold: int = 10,
              duration_ms: int = 80):
    """Animated GIF of image grids, one frame per stored step (frames: (K, N, 1, H, W))."""
    from PIL import Image
    images = []
    for f in frames:
        img = (tile(f, nrow) * 255).astype(np.uint8)
        im = Image.fromarray(img).resize((img.shape[1] * scale, img.shape[0] * scale),
                                         Image.NEAREST)
        images.append(im)
    images += [images[-1]] * hold
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    return path
