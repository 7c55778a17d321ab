"""`ddpm-np bench calibrate`: measure this machine's choices for the default models' shapes
again (nn/fast/tuning.py), with progress, and print them with the time of every candidate."""
from __future__ import annotations

import time

import numpy as np

from .tools import convs_seen


def default_conv_shapes(batch: int = 64) -> list:
    """(C, O, H, W) of the default MNIST UNet's 3×3 "same" convolutions whose route is chosen
    (not by few channels on one side), in the order a forward pass meets them, each once."""
    from ..models import UNet
    from ..nn.fast.conv_narrow import narrow_input, narrow_output
    rng = np.random.default_rng(0)
    model = UNet(num_classes=10, rng=rng, tier="fast")
    x = rng.standard_normal((2, 1, 28, 28)).astype(np.float32)
    seen = convs_seen(model, lambda: model(x, np.ones(2, int), np.zeros(2, int)))
    shapes = []
    for layer, (_, C, H, W) in seen:
        O, _, kh, kw = layer.W.shape
        if (kh, kw, layer.stride, layer.padding) == (3, 3, 1, 1) and (C, O, H, W) not in shapes \
                and not narrow_input(3, 3, 1, 1, C, O) and not narrow_output(3, 3, 1, 1, C, O):
            shapes.append((C, O, H, W))
    return shapes


def calibrate(batch: int = 64, again: bool = True, progress: bool = True) -> list:
    """Measure the chunk size and the route of every default shape at `batch` (`again`: even
    those already measured); returns [(key, choice, {candidate: seconds} or None)], None where
    the rule decides."""
    from tqdm import tqdm

    from ..nn.fast import conv, threads, tuning
    shapes = default_conv_shapes(batch)
    keys = [f"chunk bytes, {threads.num_threads()} threads"] + [
        conv.winograd_key(C, O, H, W, conv.batch_class(batch), np.float32)
        for C, O, H, W in shapes]
    with tuning.switched_on():
        if again:
            for key in keys:
                tuning.drop(key)
        rows = []
        bar = tqdm(keys, desc="calibrate", disable=not progress, leave=False)
        for key, shape in zip(bar, [None] + shapes):
            if shape is None:
                choice = conv.calibrated_chunk_bytes()
            else:
                C, O, H, W = shape
                _, choice = conv.route(3, 3, 1, 1, C, O, H, W, N=batch)
            known = tuning.table().get(key)
            rows.append((key, choice, known["seconds"] if known else None))
        return rows


def bench_calibrate(batch: int = 64, out=print, progress: bool = True) -> list:
    from ..nn.fast import tuning
    t0 = time.perf_counter()
    rows = calibrate(batch, progress=progress)
    out(f"Calibrated in {time.perf_counter() - t0:.1f} s; cache {tuning.cache_path()}"
        + ("" if tuning.enabled() else " (DDPM_NP_CALIBRATE is off: runs use the rules)"))
    out("| choice | kept | candidates: ms, forward + backward |")
    out("|---|---|---|")
    names = {"0": "im2col", "2": "F(2×2)", "4": "F(4×4)"}
    for key, choice, seconds in rows:
        if key.startswith("chunk"):
            label = lambda c: f"{int(c) >> 20} MiB"             # noqa: E731
        else:
            label = lambda c: names.get(str(c), str(c))          # noqa: E731
        times = ", ".join(f"{label(c)} {1e3 * s:.1f}" for c, s in seconds.items()) \
            if seconds else "not measured: the rule"
        out(f"| {key} | {label(choice)} | {times} |")
    return rows


def compare(batch: int = 64, repeats: int = 7, out=print) -> dict:
    """The calibrated choices against the rules, alternately in one process: every 3×3
    convolution of the default UNet as a layer (forward and backward), the UNet's training step
    and its forward pass. Prints ms and calibrated / rules per row; returns {row: (rules,
    calibrated)} in seconds. `python -m ddpm_np.benchmarks.calibrate --compare`."""
    from ..models import UNet
    from ..nn import fast
    from ..nn.fast import keep_freed_memory, tuning
    from .levers import alternate
    from .tools import unet_training_step
    keep_freed_memory()
    rng = np.random.default_rng(0)
    calibrate(batch, again=False, progress=False)           # measured before the timing

    def under(on, fn):
        def run():
            tuning.set_enabled(on)
            fn()
        return run

    rows = {}
    for C, O, H, W in default_conv_shapes(batch):
        layer = fast.Conv2d(C, O, 3, padding=1, rng=rng)
        x = rng.standard_normal((batch, C, H, W)).astype(np.float32)
        dy = rng.standard_normal((batch, O, H, W)).astype(np.float32)
        rows[f"conv 3x3 {C}->{O} @{H}"] = lambda layer=layer, x=x, dy=dy: (
            layer(x), layer.backward(dy))
    _, step = unet_training_step(batch, rng)
    rows[f"training step, batch {batch}"] = step
    model = UNet(num_classes=10, rng=rng, tier="fast").eval()
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    t, y = rng.integers(1, 1001, batch), rng.integers(0, 10, batch)
    rows[f"forward (eval), batch {batch}"] = lambda: model(x, t, y)
    out(f"| {'row':32s} | rules ms | calibrated ms | calibrated / rules |")
    out("|---|---|---|---|")
    times = {}
    try:
        for name, fn in rows.items():
            t_ = alternate({"rules": under(False, fn), "calibrated": under(True, fn)}, repeats)
            times[name] = (t_["rules"], t_["calibrated"])
            out(f"| {name:32s} | {1e3 * t_['rules']:.1f} | {1e3 * t_['calibrated']:.1f} | "
                f"{t_['calibrated'] / t_['rules']:.3f} |")
    finally:
        tuning.set_enabled(None)
    return times


if __name__ == "__main__":
    import argparse
    p = argparse.ArgumentParser(description="this machine's choices for the fast tier")
    p.add_argument("--compare", action="store_true", help="calibrated against the rules")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=7)
    a = p.parse_args()
    if a.compare:
        compare(a.batch, a.repeats)
    else:
        bench_calibrate(a.batch)
