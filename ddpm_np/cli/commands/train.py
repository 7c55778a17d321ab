"""ddpm-np train"""
from ..types import finite_float, folder, int_at_least, positive_int, seed_int, value_range

NAME = "train"
HELP = "train a model on your data (--data PATH), a 2-D dataset or (fashion-)mnist, or resume"


def add_arguments(p):
    from ...diffusion.learned_variance import LAMBDA
    from ...diffusion.losses import WEIGHTINGS
    from ...diffusion.timestep_sampling import SAMPLINGS
    from ...tasks.mnist_train import PRESETS
    from ...tasks.runs import DATASETS, MIN_TOY_T, TOY_DEFAULTS
    from ...data.own import KINDS
    p.add_argument("--data", metavar="PATH",
                   help="your own data: points (.csv/.tsv/.txt, .npy/.npz of (N, D)), images "
                        "(a folder of PNG/JPEG, class folders for labels, or an array), or "
                        "lattice fields (.npy (N, L, L)); on resume, other data on purpose")
    p.add_argument("--kind", choices=KINDS,
                   help="what --data holds (default: inferred where the contents say)")
    p.add_argument("--key", help="--data .npz: the array to read (if it holds several)")
    p.add_argument("--image-size", type=positive_int, metavar="S",
                   help="images: centre-crop each to a square and resize it to S×S")
    p.add_argument("--channels", type=int, choices=(1, 3),
                   help="images: make every image grey (1) or colour (3)")
    p.add_argument("--range", dest="value_range", type=value_range, metavar="LOW,HIGH",
                   help="a float image array: the range its values lie in (e.g. 0,1)")
    p.add_argument("--val-fraction", type=finite_float(0, strict=True, high=0.5), metavar="SHARE",
                   help="--data: the share held out for the metrics (default 0.05)")
    p.add_argument("--z2", action="store_true", default=None,
                   help="lattice fields: exact φ → −φ symmetry (the odd network, with the "
                        "mirror images of the fields)")
    p.add_argument("--dataset", choices=DATASETS)
    p.add_argument("--data-dir", type=folder, help="(fashion-)mnist: folder with the IDX "
                   "files (default $DDPM_NP_DATA/DATASET, else a cache folder; a resumed run "
                   "keeps its own)")
    p.add_argument("--resume", metavar="CHECKPOINT",
                   help="continue the run saved in this checkpoint; --steps, --lr, "
                        "--checkpoint-every, --timesteps and --vlb-weight may change, nothing "
                        "else")
    p.add_argument("--out", help="output folder (default runs/train-DATASET; on resume, the "
                                 "checkpoint's folder)")
    p.add_argument("--steps", type=positive_int, help="total training steps")
    d = TOY_DEFAULTS
    p.add_argument("--batch-size", type=positive_int, help=f"2-D default {d['batch_size']}")
    p.add_argument("--lr", type=finite_float(0, strict=True), help=f"2-D default {d['lr']:g}")
    p.add_argument("--hidden", type=positive_int, help=f"2-D and points: MLP width (default "
                                                        f"{d['hidden']})")
    p.add_argument("--blocks", type=positive_int,
                   help=f"2-D, points, lattice: residual blocks (default {d['blocks']})")
    p.add_argument("--T", type=int_at_least(MIN_TOY_T),
                   help=f"diffusion steps (default {d['T']} for 2-D and points, 1000 "
                        "for --data images and fields)")
    p.add_argument("--parameterization", choices=("eps", "x0", "v"),
                   help=f"what the network predicts (default {d['parameterization']})")
    p.add_argument("--loss-weighting", choices=WEIGHTINGS,
                   help="per-t weights of the loss: none (L_simple, the default) or min_snr "
                        "(Hang et al. 2023, γ = 5)")
    p.add_argument("--preset", choices=tuple(PRESETS),
                   help="mnist: a named recipe; short: "
                        + ", ".join(f"{k} {v}" for k, v in PRESETS["short"].items())
                        + " (about 15 minutes on 2 cores); options given beside it win")
    p.add_argument("--learn-sigma", action="store_true", default=None,
                   help="mnist: the UNet also learns the reverse variance (Nichol & Dhariwal "
                        "2021), trained with L_hybrid; ancestral sampling and the bound use it")
    p.add_argument("--timesteps", choices=SAMPLINGS,
                   help="mnist with --learn-sigma: how t is drawn; importance: by the size of "
                        "L_vlb's terms (Nichol & Dhariwal 2021, §3.3), both terms of L_hybrid "
                        "weighted to stay unbiased (default uniform; may change on resume)")
    p.add_argument("--vlb-weight", type=finite_float(0, strict=True), metavar="LAMBDA",
                   help=f"mnist with --learn-sigma: λ of L_hybrid = L_simple + λ·L_vlb "
                        f"(Nichol & Dhariwal 2021, eq. 16; default {LAMBDA:g}; may change on "
                        "resume)")
    p.add_argument("--schedule", choices=("linear", "cosine"),
                   help="mnist: the noise schedule (default linear, T = 1000)")
    p.add_argument("--checkpoint-every", type=positive_int,
                   help=f"default {d['checkpoint_every']} (mnist 250)")
    p.add_argument("--stop-at", type=positive_int, metavar="STEP",
                   help="stop (resumably) at this step of the planned --steps")
    p.add_argument("--seed", type=seed_int, help="random seed (default 0)")


def run(args):
    from ...tasks.runs import train_run
    trainer = train_run(args.dataset, resume=args.resume, out=args.out,
                        overwrite=args.overwrite, steps=args.steps, stop_at=args.stop_at,
                        data_dir=args.data_dir, progress=not args.no_progress,
                        seed=args.seed, batch_size=args.batch_size, lr=args.lr,
                        hidden=args.hidden, blocks=args.blocks, T=args.T,
                        parameterization=args.parameterization,
                        loss_weighting=args.loss_weighting,
                        checkpoint_every=args.checkpoint_every, learn_sigma=args.learn_sigma,
                        schedule=args.schedule, preset=args.preset,
                        timesteps=args.timesteps, vlb_weight=args.vlb_weight,
                        data=args.data, kind=args.kind, key=args.key,
                        image_size=args.image_size, channels=args.channels,
                        value_range=args.value_range, val_fraction=args.val_fraction,
                        z2=args.z2)
    print(f"trained to step {trainer.step}; checkpoint: {trainer.checkpoint_path()}")
    reduce = trainer.reduce_gradients
    if reduce.calls:
        print(f"{trainer.world.describe()}: all-reduce of {reduce.gradient_bytes / 2**20:.2f} "
              f"MiB a step, {1e3 * reduce.seconds / reduce.calls:.1f} ms on average over "
              f"{reduce.calls} steps")
