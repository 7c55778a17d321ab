"""Choosing a tier: names, the environment variable, errors."""
import ast
from pathlib import Path

import numpy as np
import pytest

import ddpm_np.nn as nn
from ddpm_np.nn import fast, layers
from ddpm_np.nn.tiers import set_program_tier


def test_layers_by_name(monkeypatch):
    """The reference tier unless told: by a program (set_program_tier), or by DDPM_NP_TIER,
    which overrides both."""
    monkeypatch.delenv("DDPM_NP_TIER", raising=False)
    assert layers("reference") is nn and layers("fast") is fast
    assert layers() is nn and nn.default_tier() == "reference"
    set_program_tier("fast")
    try:
        assert layers() is fast
        monkeypatch.setenv("DDPM_NP_TIER", "reference")
        assert layers() is nn
    finally:
        set_program_tier(None)
    monkeypatch.setenv("DDPM_NP_TIER", "fast")
    assert layers() is fast


@pytest.mark.parametrize("bad", ["Fast", "", "gpu"])
def test_bad_tier_is_a_clear_error(monkeypatch, bad):
    with pytest.raises(ValueError, match="tier must be one of fast, reference"):
        layers(bad)
    monkeypatch.setenv("DDPM_NP_TIER", bad)
    if not bad:                 # an empty variable counts as unset (environment.py)
        assert nn.default_tier() == "reference"
        return
    with pytest.raises(ValueError,
                       match=f"DDPM_NP_TIER must be one of fast, reference, got {bad!r}"):
        layers()


REFERENCE_ROOMS = ["nn", "models", "diffusion", "train.py"]
# names that exist only for speed: none may appear in the code of a reference room (docstrings
# may point a reader at the fast tier); the models also add no epilogue, sum no channels by GEMV
# and make no array contiguous for a kernel's sake
SPEED_NAMES = {"model_pass", "hold_blas", "threadpoolctl", "flops", "norm_layer",
               "linear_layer", "workspace", "fast", "num_threads"}
MODEL_SPEED_NAMES = {"channel_sums", "ascontiguousarray", "add"}


def _code_names(tree):
    """Every identifier the code uses: names, attributes, keywords, arguments, imports."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, ast.Attribute):
            yield node.attr
        elif isinstance(node, ast.keyword) and node.arg:
            yield node.arg
        elif isinstance(node, ast.arg):
            yield node.arg
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                yield from alias.name.split(".")
            yield from (node.module or "").split(".") if isinstance(node, ast.ImportFrom) else ()


def _reference_sources():
    root = Path(nn.__file__).parents[1]
    for room in REFERENCE_ROOMS:
        path = root / room
        for f in sorted([path] if path.is_file() else path.rglob("*.py")):
            if "fast" not in f.relative_to(root).parts:
                yield f.relative_to(root).as_posix(), ast.parse(f.read_text())


def test_no_reference_layer_or_model_knows_the_fast_tier():
    """The reference tier, the models and the diffusion math use no speed device: the fast
    tier's twins bring their own (threads, layouts, the BLAS's threads, epilogue adds). Only
    `nn/tiers.py` names the fast tier, as a string, to import it by name."""
    hits = []
    for name, tree in _reference_sources():
        banned = SPEED_NAMES | (MODEL_SPEED_NAMES if name.startswith("models/") else set())
        hits += [f"{name}: {word}" for word in sorted(set(_code_names(tree)) & banned)]
    assert not hits, hits


def test_a_fast_layer_holds_the_blas_to_one_thread_until_released(rng, monkeypatch):
    """Decided once: from the first fast layer's call on, the BLAS runs on one thread (the fast
    tier's own threads are the parallelism); release_blas gives it its threads back; the
    reference tier never touches it."""
    from threadpoolctl import threadpool_info

    from ddpm_np.nn.fast import threads
    monkeypatch.setenv("DDPM_NP_THREADS", "2")

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    threads.release_blas()
    before = blas_threads()
    x = rng.standard_normal((2, 4, 5, 5)).astype(np.float32)
    temb = rng.standard_normal((2, 6)).astype(np.float32)
    nn.ResBlock(4, 8, 6, 2, rng=rng)(x, temb)
    assert blas_threads() == before and not threads.blas_held()
    fast.ResBlock(4, 8, 6, 2, rng=rng)(x, temb)
    assert threads.blas_held() and all(n == 1 for n in blas_threads())
    threads.release_blas()
    assert blas_threads() == before and not threads.blas_held()


def test_the_shipped_weights_draw_the_same_digits_on_both_tiers():
    """Guided DDIM from the shipped UNet on the fast tier (Winograd, phases, low-resolution
    up-sampling, channels-last memory) and on the reference tier: the same samples within
    float32 rounding, accumulated over the steps (measured 5e-5; one 8-bit level is 8e-3)."""
    from ddpm_np.run.checkpoint import load_checkpoint
    from ddpm_np.diffusion import NoiseSchedule
    from ddpm_np.tasks.mnist_sample import resolve_checkpoint, sample_images
    from ddpm_np.run.loading import model_from_checkpoint
    arrays, meta = load_checkpoint(resolve_checkpoint("mnist"))
    schedule = NoiseSchedule.from_dict(meta["schedule"])
    samples = []
    weights = model_from_checkpoint(arrays, meta, "ema")
    for tier in ("fast", "reference"):
        model = type(weights)(**weights.config(), rng=np.random.default_rng(0), tier=tier)
        model.load_state_dict(weights.state_dict())
        samples.append(sample_images(model.eval(), schedule, 4, np.random.default_rng(3),
                                     np.array([0, 3, 7, 9]), 0.5, "ddim", 10, progress=False,
                                     clip=False))
    assert np.abs(samples[0] - samples[1]).max() < 5e-4, np.abs(samples[0] - samples[1]).max()


def test_a_model_built_without_a_tier_runs_the_reference_layers(monkeypatch):
    """The library's default is the code a learner reads: every layer of a UNet, an MLP and the
    lattice network built without `tier` is a reference layer (ddpm_np.nn, not nn.fast)."""
    from ddpm_np.models import MLP, LatticeEps, UNet
    monkeypatch.delenv("DDPM_NP_TIER", raising=False)
    rng = np.random.default_rng(0)
    for model in (UNet(base_channels=8, channel_mults=(1, 2), num_res_blocks=1,
                       attention_resolutions=(4,), emb_dim=8, groups=2, image_size=8, rng=rng),
                  MLP(dim=2, hidden=8, num_blocks=1, rng=rng), LatticeEps(4, 1, rng=rng)):
        modules = {type(m).__module__ for m in _walk(model)}
        assert modules and not any(".fast" in m for m in modules), modules


def _walk(module):
    for value in vars(module).values():
        for m in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(m, nn.Module):
                yield m
                yield from _walk(m)


HOOKS = ("_functional_forward", "_functional_backward", "_attend", "_attend_backward", "_fwd",
         "_bwd", "_forward", "_backward")


def test_no_reference_layer_has_a_hook_for_the_fast_tier():
    """Each reference layer calls its own functional pair by name; the fast twins write forward
    and backward whole (nn/fast/modules.py), so no reference class offers a method or a slot
    for them to replace."""
    hits = [f"{cls.__name__}.{hook}" for cls in vars(nn).values()
            if isinstance(cls, type) and issubclass(cls, nn.Module)
            for hook in HOOKS if hook in vars(cls)]
    fast_hits = [f"fast.{cls.__name__}.{hook}" for cls in vars(fast).values()
                 if isinstance(cls, type) and issubclass(cls, nn.Module)
                 for hook in HOOKS if hook in vars(cls)]
    assert not hits and not fast_hits, hits + fast_hits
