"""Using a trained MNIST model on images: inpainting, inversion and interpolation, with figures
and the measurements that say how well they work. What `ddpm-np inpaint` and `ddpm-np
interpolate` call."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..checks import check_int
from ..data.mnist import load_mnist, to_model_range
from ..data.own import is_own
from ..diffusion import ddim_invert, ddim_sample, guided_eps_model, repaint_sample, slerp
from ..diffusion.learned_variance import eps_only
from ..inputs import read_image
from .. import plotting
from .mnist_sample import CLIP

MASKS = ("bottom", "top", "left", "right", "center")
MAX_FRAMES = 200        # a row of images one picture can show
MAX_COMPLETIONS = 200


class EditError(ValueError):
    """An image or a mask that cannot be used (the message says why)."""


MNIST = (1, 28, 28)


def load_digit(image=None, test_index=None, data_dir=None, shape=MNIST, dataset="mnist"):
    """(x0 (1, C, H, W) float32 in [−1, 1], label or None) from a picture of the model's size
    `shape` (for MNIST a white digit on black) or from the test set of `dataset` ("mnist",
    "fashion-mnist")."""
    if (image is None) == (test_index is None):
        raise EditError("give either an image file or a test index")
    if test_index is not None:
        x, y = load_mnist("test", data_dir=data_dir, dataset=dataset)
        if not 0 <= test_index < len(x):
            raise EditError(f"test index must lie in 0..{len(x) - 1}, got {test_index}")
        return to_model_range(x[test_index:test_index + 1]), int(y[test_index])
    return _read_picture(image, "image", shape)[None] * 2 - 1, None


def _read_picture(path, what, shape=MNIST):
    """A picture of H×W (its size read from the header before it is decoded) as (C, H, W) in
    [0, 1]: grey or colour as the model takes it."""
    C, H, W = shape
    a = read_image(path, what, size=(W, H), error=EditError)
    if a.ndim == 3 and C == 1:
        a = a.mean(axis=2)
    a = a[None] if a.ndim == 2 else np.moveaxis(a, -1, 0)
    return np.broadcast_to(a, (C, H, W)).astype(np.float32)


def make_mask(kind, shape=MNIST) -> np.ndarray:
    """(1, 1, H, W) mask, 1 = known: a named region hidden ("bottom" hides the bottom half,
    "center" the middle 3/7 of each side, 12×12 on 28×28), or a picture of the model's size
    whose white pixels are the known ones."""
    _, H, W = shape
    m = np.ones((H, W), np.float32)
    a, b = round(H * 8 / 28), round(H * 20 / 28)
    if kind == "bottom":
        m[H // 2:] = 0
    elif kind == "top":
        m[:H // 2] = 0
    elif kind == "left":
        m[:, :W // 2] = 0
    elif kind == "right":
        m[:, W // 2:] = 0
    elif kind == "center":
        m[a:b, round(W * 8 / 28):round(W * 20 / 28)] = 0
    elif Path(str(kind)).suffix.lower() in (".png", ".jpg", ".jpeg"):
        m = (_read_picture(kind, "mask", (1, H, W))[0] > 0.5).astype(np.float32)
        if m.all() or not m.any():
            raise EditError(f"the mask {kind} hides {'nothing' if m.all() else 'everything'}")
    else:
        raise EditError(f"mask must be one of {', '.join(MASKS)} or a .png file, got {kind!r}")
    return m[None, None]


def _eps(model, n, digit, guidance):
    model = eps_only(model)
    if model.num_classes is None:
        return model
    return guided_eps_model(model, None if digit is None else np.full(n, digit), guidance)


def inpaint_digits(model, schedule, x0, mask, n, rng, digit=None, guidance=0.0, steps=50,
                   jump_length=5, resample=5, progress=True):
    """n completions of each image in x0 (N, 1, 28, 28) where mask is 0: (N·n, 1, 28, 28),
    image by image. Unconditional (the "no label" input) unless `digit` is given."""
    xs = np.repeat(x0, n, axis=0)
    eps = _eps(model, len(xs), digit, guidance)
    return repaint_sample(eps, xs, mask, schedule, rng, steps=steps, jump_length=jump_length,
                          resample=resample, clip_x0=CLIP, progress=progress)


def inpaint_figure(x0, mask, completions, path, title=""):
    """A row: the original, the masked input (hidden pixels grey), then the completions."""
    shown = np.where(mask == 1, x0, 0.0)
    row = np.concatenate([x0, shown, completions])
    return plotting.image_grid(np.clip(row, -1, 1), path, nrow=len(row), title=title)


def inpaint_accuracy(model, schedule, classifier, x, labels, masks=("center", "bottom"),
                     seed=0, progress=True, **options) -> dict:
    """The share of completions the classifier reads as the digit that was there (one
    unconditional completion per image), per mask; and, for reference, the share for the
    original images."""
    probs, _ = classifier.predict(x)
    out = {"originals": float(np.mean(probs.argmax(1) == labels)), "n": len(x)}
    for kind in masks:
        done = inpaint_digits(model, schedule, x, make_mask(kind), 1, np.random.default_rng(seed),
                              progress=progress, **options)
        probs, _ = classifier.predict(np.clip(done, -1, 1).astype(np.float32))
        out[kind] = float(np.mean(probs.argmax(1) == labels))
    return out


def unconditional(model):
    """The model as an ε-model with the "no label" input (or as it is, if unconditional)."""
    return _eps(model, 0, None, 0.0)


def inversion_errors(model, schedule, x0, steps=(10, 20, 50, 100), progress=True) -> dict:
    """Root-mean-square error (in [−1, 1] units) of DDIM-k(invert-k(x0)) against x0, per k."""
    eps = unconditional(model)
    errors = {}
    for k in steps:
        x_T = ddim_invert(eps, x0, schedule, k, progress=progress)
        back = ddim_sample(eps, x0.shape, schedule, None, steps=k, x_T=x_T, progress=progress)
        errors[k] = float(np.sqrt(np.mean((back - x0) ** 2)))
    return errors


def interpolate_digits(model, schedule, x_a, x_b, frames=10, steps=200, progress=True):
    """(frames, 1, 28, 28): the DDIM decodings of slerp between the inverted noises of two
    images (unconditional model), from x_a to x_b."""
    eps = unconditional(model)
    z = ddim_invert(eps, np.concatenate([x_a, x_b]), schedule, steps, progress=progress)
    zs = np.concatenate([slerp(z[:1], z[1:], a) for a in np.linspace(0, 1, frames)])
    # decoded without clipping x̂_0, as the inversion ran: then the ends are the images
    out = ddim_sample(eps, zs.shape, schedule, None, steps=steps, x_T=zs, progress=progress)
    return np.clip(out, -1, 1)


def interpolate_noises(model, schedule, rng, frames=10, steps=100, progress=True, shape=MNIST):
    """(frames, *shape): DDIM decodings (unconditional) of slerp between two random noises."""
    z = rng.standard_normal((2, *shape)).astype(np.float32)
    zs = np.concatenate([slerp(z[:1], z[1:], a) for a in np.linspace(0, 1, frames)])
    out = ddim_sample(unconditional(model), zs.shape, schedule, None, steps=steps, x_T=zs,
                      clip_x0=CLIP, progress=progress)
    return np.clip(out, -1, 1)


def inpaint_to_files(grid=None, checkpoint="mnist", image=None, test_index=None, mask="bottom",
                     n=8, digit=None, guidance=0.0, steps=50, jump_length=5, resample=5,
                     seed=0, out=None, data_dir=None, overwrite=False, progress=True) -> Path:
    """`ddpm-np inpaint`: n completions of one digit (a picture, or an MNIST test digit) with
    `mask` hidden, drawn into `grid` and/or saved as .npy to `out` (at least one). Every
    argument and output is checked before the work; returns the completions."""
    from ..run.checkpoint import atomic_write
    from ..run.folders import GRID_SUFFIXES, check_file
    from .mnist_sample import load_image_model
    if not grid and not out:
        raise EditError("nothing to write: give --grid PICTURE.png for the figure, --out "
                        "FILE.npy for the completions, or both")
    if grid:
        check_file(grid, GRID_SUFFIXES, overwrite, "--grid")
    if out:
        check_file(out, (".npy",), overwrite, "--out")
    if guidance and digit is None:
        raise EditError("--guidance applies with --digit")
    check_int(n, "n (completions)", high=MAX_COMPLETIONS)
    model, schedule, meta = load_image_model(checkpoint, steps, mnist=False)
    shape, dataset = _image_shape(meta, test_index)
    mask_array = make_mask(mask, shape)
    if digit is not None and model.num_classes is None:
        raise EditError(f"--digit {digit} needs a class-conditional model with that class")
    if digit is not None and not 0 <= digit < model.num_classes:
        raise EditError(f"--digit must lie in 0..{model.num_classes - 1}, got {digit}")
    x0, label = load_digit(image, test_index, data_dir, shape, dataset)
    done = inpaint_digits(model, schedule, x0, mask_array, n, np.random.default_rng(seed), digit,
                          guidance, steps, jump_length, resample, progress=progress)
    what = f"test digit {test_index} (a {label})" if label is not None else image
    how = f"as a {digit}" if digit is not None else "unconditional"
    if grid:
        inpaint_figure(x0, mask_array, done, grid, f"{what}, {mask} hidden; {how}, {steps} "
                                                   f"steps, resample {resample}")
    if out:
        atomic_write(Path(out), lambda f: np.save(f, done))
    return done


def interpolate_to_file(grid, checkpoint="mnist", test_index=None, frames=10, steps=200, seed=0,
                        data_dir=None, overwrite=False, progress=True) -> Path:
    """`ddpm-np interpolate`: a row of `frames` images from one digit to another (two MNIST test
    digits, inverted by DDIM) or between two random noises, drawn into `grid`."""
    from ..run.folders import GRID_SUFFIXES, check_file
    from .mnist_sample import load_image_model
    check_file(grid, GRID_SUFFIXES, overwrite, "--grid")
    check_int(frames, "frames", low=2, high=MAX_FRAMES)
    model, schedule, meta = load_image_model(checkpoint, steps, mnist=False)
    shape, dataset = _image_shape(meta, test_index)
    if test_index:
        (xa, ya), (xb, yb) = (load_digit(test_index=k, data_dir=data_dir, dataset=dataset)
                              for k in test_index)
        row = interpolate_digits(model, schedule, xa, xb, frames, steps, progress=progress)
        title = (f"test digits {test_index[0]} (a {ya}) → {test_index[1]} (a {yb}), "
                 f"DDIM-{steps} inversion, slerp, decoding")
    else:
        row = interpolate_noises(model, schedule, np.random.default_rng(seed), frames, steps,
                                 progress=progress, shape=shape)
        title = f"slerp between two random noises (seed {seed}), DDIM-{steps}"
    plotting.image_grid(row, grid, nrow=len(row), title=title)
    return Path(grid)


def _image_shape(meta, test_index):
    """(the model's image shape, the IDX dataset whose test set --test-index reads)."""
    data = meta.get("data") or {}
    shape = tuple(meta.get("sample_shape") or MNIST)
    dataset = "fashion-mnist" if data.get("dataset") == "fashion-mnist" else "mnist"
    if test_index is not None and test_index != [] and (is_own(data) or shape != MNIST):
        raise EditError("--test-index reads the MNIST test set, and this model was trained on "
                        f"{data.get('source', {}).get('path', 'other data')}: give --image "
                        "PICTURE instead")
    return shape, dataset
