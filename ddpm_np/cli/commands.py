"""What each subcommand does: check its inputs and outputs, then call the library function."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .outputs import GRID_SUFFIXES, CLIError, check_demo_folder, check_file, check_folder


def _check_data_dir(args):
    data_dir = getattr(args, "data_dir", None)
    if data_dir is not None and not Path(data_dir).is_dir():
        raise CLIError(f"--data-dir {data_dir} is not a folder")


def _user_errors():
    """The library's exceptions that mean "not like this" rather than "something broke"."""
    from ..checkpoint import CheckpointError
    from ..data.mnist import DatasetError
    from ..saving import RunError
    from ..experiments.sampling import SamplingError
    return CheckpointError, DatasetError, RunError, SamplingError, ValueError


def bench(args):
    from ..benchmarks.unet import bench_conv, bench_unet
    if args.what == "scaling":
        from ..benchmarks.scaling import bench_scaling
        if args.figure:
            check_file(args.figure, (".png",), True, "--figure")
        bench_scaling(figure=args.figure, repeats=min(args.repeats, 3))
    elif args.figure:
        raise CLIError("--figure applies to bench scaling")
    elif args.what == "train":
        from ..benchmarks.parallel import bench_train
        bench_train(batch=args.batch, repeats=args.repeats)
    elif args.what == "conv":
        bench_conv(batch=args.batch, repeats=args.repeats)
    elif args.what == "profile":
        from ..benchmarks.profile import bench_profile
        bench_profile(batch=args.batch, repeats=args.repeats)
    else:
        bench_unet(batch=args.batch, repeats=args.repeats)


def demo(args):
    _check_data_dir(args)
    if args.name == "mnist" and args.model:
        raise CLIError("--model applies to the 2-D demos; demo mnist runs the UNet")
    from ..experiments.toy import default_demo_out
    out = Path(args.out) if args.out else (
        default_demo_out(args.name, args.model or "mlp") if args.name != "mnist"
        else Path("runs") / args.name)
    mnist_only = [flag for flag, v in (("--train", args.train), ("--guidance", args.guidance),
                                       ("--checkpoint", args.checkpoint),
                                       ("--sampler", args.sampler),
                                       ("--sample-steps", args.sample_steps),
                                       ("--data-dir", args.data_dir)) if v not in (None, False)]
    if args.name != "mnist":
        if mnist_only:
            raise CLIError(f"{', '.join(mnist_only)} apply to demo mnist only")
        check_demo_folder(out, args.overwrite)
        from ..experiments.toy import run_toy_demo
        run_toy_demo(args.name, out, quick=args.quick, seed=args.seed, steps=args.steps,
                     progress=not args.no_progress, model=args.model or "mlp")
        return
    if args.checkpoint and args.train:
        raise CLIError("--train draws from the model it trains; leave out --checkpoint")
    from ..experiments.mnist_sample import GUIDANCE, load_image_model, run_mnist_demo
    check_demo_folder(out, args.overwrite, ("demo.json", "samples_grid.png", "checkpoint.npz"))
    try:
        if args.train:
            from ..experiments.runs import train_run
            trainer = train_run("mnist", out=out, overwrite=args.overwrite, steps=args.steps,
                                seed=args.seed, data_dir=args.data_dir,
                                progress=not args.no_progress)
            checkpoint = trainer.checkpoint_path()
        else:
            checkpoint = args.checkpoint or "mnist"
            load_image_model(checkpoint, args.sample_steps)          # checked before any work
        guidance = GUIDANCE if args.guidance is None else args.guidance
        steps = args.sample_steps or (None if args.sampler is None else
                                      15 if args.sampler == "dpm++2m" else 50)
        run_mnist_demo(out, checkpoint, guidance=guidance, steps=steps, seed=args.seed,
                       data_dir=args.data_dir, progress=not args.no_progress,
                       sampler=args.sampler)
    except _user_errors() as e:
        raise CLIError(str(e)) from e


def train(args):
    _check_data_dir(args)
    from ..experiments.runs import default_out, train_run
    if args.resume is None and args.dataset is not None:
        check_folder(Path(args.out) if args.out else default_out(args.dataset))
    elif args.out:
        check_folder(args.out)
    try:
        trainer = train_run(args.dataset, resume=args.resume, out=args.out,
                            overwrite=args.overwrite, steps=args.steps, stop_at=args.stop_at,
                            data_dir=args.data_dir, progress=not args.no_progress,
                            seed=args.seed, batch_size=args.batch_size, lr=args.lr,
                            hidden=args.hidden, blocks=args.blocks, T=args.T,
                            parameterization=args.parameterization,
                            checkpoint_every=args.checkpoint_every)
    except _user_errors() as e:
        raise CLIError(str(e)) from e
    print(f"trained to step {trainer.step}; checkpoint: {trainer.checkpoint_path()}")
    reduce = trainer.reduce_gradients
    if reduce.calls:
        print(f"{trainer.world.describe()}: all-reduce of {reduce.gradient_bytes / 2**20:.2f} "
              f"MiB a step, {1e3 * reduce.seconds / reduce.calls:.1f} ms on "
              f"average over {reduce.calls} steps")


def sample(args):
    import numpy as np
    from ..checkpoint import atomic_write
    from ..experiments.sampling import sample_checkpoint
    out = Path(args.out)
    check_file(out, (".npy",), args.overwrite, "--out")
    if args.grid:
        check_file(args.grid, GRID_SUFFIXES, args.overwrite, "--grid")
    try:
        x, info = sample_checkpoint(args.checkpoint, args.n, args.sampler, args.steps, args.eta,
                                    args.seed, args.digit, args.guidance,
                                    progress=not args.no_progress, images_only=bool(args.grid),
                                    spacing=args.spacing)
    except _user_errors() as e:
        raise CLIError(str(e)) from e
    atomic_write(out, lambda f: np.save(f, x))
    if args.grid:
        from ..experiments.plotting import image_grid
        from ..parallel import on_root
        on_root(image_grid)(x, args.grid, nrow=10, title=f"{args.sampler}, {info['steps']} "
                                                         f"steps, guidance {info['guidance']}")
    print(f"wrote {args.n} samples ({args.sampler}, {info['steps']} steps) to {out}"
          + (f" and a grid to {args.grid}" if args.grid else ""))


def evaluate(args):
    _check_data_dir(args)
    from ..checkpoint import atomic_write
    from ..experiments.mnist_eval import evaluate as run_evaluation
    from ..experiments.mnist_sample import GUIDANCE, load_image_model
    from ..parallel import sharded, world
    if args.out:
        check_file(args.out, (".json",), args.overwrite, "--out")
    try:
        model, schedule, meta = load_image_model(args.checkpoint, args.steps)
        guidance = GUIDANCE if args.guidance is None else args.guidance
        m = run_evaluation(sharded(model, world()), schedule, n=args.n, guidance=guidance, steps=args.steps,
                           seed=args.seed, bpd_images=args.bpd_images, data_dir=args.data_dir,
                           progress=not args.no_progress, sampler=args.sampler,
                           spacing=args.spacing)
    except _user_errors() as e:
        raise CLIError(str(e)) from e
    m["checkpoint_step"] = meta.get("step")
    text = json.dumps(m, indent=1)
    if args.out:
        atomic_write(Path(args.out), lambda f: f.write(text.encode("utf-8")))
    print(text)
    line = (f"Fréchet distance {m['frechet_distance']:.2f} = {m['frechet_ratio']:.2f} × the noise "
            f"floor ({m['frechet_noise_floor']:.2f}); mean confidence {m['mean_confidence']:.3f}")
    if m.get("share_as_requested") is not None:
        line += f"; {m['share_as_requested']:.1%} classified as the requested digit"
    print(line, file=sys.stderr)


def train_classifier(args):
    _check_data_dir(args)
    import numpy as np
    from ..data.mnist import load_mnist, to_model_range
    from ..experiments.classifier import train_classifier as fit
    from ..experiments.metrics import CLASSIFIER_WEIGHTS, weights_path
    out = Path(args.out) if args.out else weights_path(CLASSIFIER_WEIGHTS)
    check_file(out, (".npz",), args.overwrite, "--out")
    try:
        x, y = load_mnist("train", data_dir=args.data_dir)
        xt, yt = load_mnist("test", data_dir=args.data_dir)
    except _user_errors() as e:
        raise CLIError(str(e)) from e
    model = fit(to_model_range(x), y.astype(np.int64), seed=args.seed, epochs=args.epochs,
                progress=not args.no_progress)
    probs, _ = model.predict(to_model_range(xt))
    acc = float(np.mean(probs.argmax(1) == yt))
    from ..checkpoint import atomic_write
    atomic_write(out, lambda f: np.savez(f, **model.state_dict()))
    print(f"test accuracy {acc:.4f}; weights written to {out}")


def inpaint(args):
    import numpy as np
    from ..checkpoint import atomic_write
    from ..experiments import editing
    from ..experiments.mnist_sample import load_image_model
    _check_data_dir(args)
    check_file(args.grid, GRID_SUFFIXES, args.overwrite, "--grid")
    if args.out:
        check_file(args.out, (".npy",), args.overwrite, "--out")
    try:
        model, schedule, _ = load_image_model(args.checkpoint, args.steps)
        if args.digit is not None and (model.num_classes is None
                                       or not 0 <= args.digit < model.num_classes):
            raise CLIError(f"--digit {args.digit} needs a class-conditional model with that "
                           "class" if model.num_classes is None else
                           f"--digit must lie in 0..{model.num_classes - 1}, got {args.digit}")
        if args.guidance and args.digit is None:
            raise CLIError("--guidance applies with --digit")
        x0, label = editing.load_digit(args.image, args.test_index, args.data_dir)
        mask = editing.make_mask(args.mask)
        done = editing.inpaint_digits(model, schedule, x0, mask, args.n,
                                      np.random.default_rng(args.seed), args.digit,
                                      args.guidance, args.steps, args.jump_length, args.resample,
                                      progress=not args.no_progress)
    except _user_errors() as e:
        raise CLIError(str(e)) from e
    what = f"test digit {args.test_index} (a {label})" if label is not None else args.image
    how = f"as a {args.digit}" if args.digit is not None else "unconditional"
    editing.inpaint_figure(x0, mask, done, args.grid,
                           f"{what}, {args.mask} hidden; {how}, {args.steps} steps, resample "
                           f"{args.resample}")
    if args.out:
        atomic_write(Path(args.out), lambda f: np.save(f, done))
    print(f"wrote {args.n} completions to {args.grid}" + (f" and {args.out}" if args.out else ""))


def interpolate(args):
    import numpy as np
    from ..experiments import editing, plotting
    from ..experiments.mnist_sample import load_image_model
    _check_data_dir(args)
    check_file(args.grid, GRID_SUFFIXES, args.overwrite, "--grid")
    try:
        model, schedule, _ = load_image_model(args.checkpoint, args.steps)
        if args.test_index:
            (xa, ya), (xb, yb) = (editing.load_digit(test_index=k, data_dir=args.data_dir)
                                  for k in args.test_index)
            row = editing.interpolate_digits(model, schedule, xa, xb, args.frames, args.steps,
                                             progress=not args.no_progress)
            title = (f"test digits {args.test_index[0]} (a {ya}) → {args.test_index[1]} "
                     f"(a {yb}), DDIM-{args.steps} inversion, slerp, decoding")
        else:
            row = editing.interpolate_noises(model, schedule, np.random.default_rng(args.seed),
                                             args.frames, args.steps,
                                             progress=not args.no_progress)
            title = f"slerp between two random noises (seed {args.seed}), DDIM-{args.steps}"
    except _user_errors() as e:
        raise CLIError(str(e)) from e
    plotting.image_grid(row, args.grid, nrow=len(row), title=title)
    print(f"wrote {args.frames} frames to {args.grid}")


def exercises(args):
    from ..exercises import WorkspaceError, status, status_table, write_workspace
    try:
        if args.status:
            if args.overwrite:
                raise CLIError("--status reads a workspace; --overwrite writes one: give one")
            print(status_table(status(args.folder)))
            return
        check_folder(args.folder, "exercise folder")
        written = write_workspace(args.folder, overwrite=args.overwrite)
    except WorkspaceError as e:
        raise CLIError(str(e)) from e
    print(f"wrote {len(written)} files to {args.folder}: start with ex01_q_sample.py; check with "
          f"`python -m pytest -m ex01` there, or `ddpm-np exercises {args.folder} --status`")


COMMANDS = {"demo": demo, "train": train, "sample": sample, "evaluate": evaluate,
            "train-classifier": train_classifier, "bench": bench, "inpaint": inpaint,
            "interpolate": interpolate, "exercises": exercises}
