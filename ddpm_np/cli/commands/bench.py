"""ddpm-np bench"""
from ..types import positive_int

NAME = "bench"
HELP = "print speed figures (convolution or UNet vs this machine's GEMM; data-parallel training)"
OPTIONS = dict(progress=False)


def add_arguments(p):
    from ...benchmarks import BENCHMARKS
    p.add_argument("what", nargs="?", default="conv", choices=BENCHMARKS,
                   help="what to benchmark (default: conv); profile: where a UNet step's time "
                        "goes, layer by layer; train: training steps of the MNIST UNet, also "
                        "under mpiexec -n K; scaling: a step's cost against batch and image "
                        "size; busy: the 2-D demo, a tutorial chapter and a training step, "
                        "quiet and beside two busy loops; calibrate: measure this machine's "
                        "choices of convolution route and chunk size again (cached in the user's "
                        "cache folder; DDPM_NP_CALIBRATE=0 turns them off)")
    p.add_argument("--figure", help="scaling: draw the curves into this PNG file")
    p.add_argument("--batch", type=positive_int,
                   help="batch size (default 64; conv, unet, profile, train, calibrate)")
    p.add_argument("--repeats", type=positive_int,
                   help="timed repeats, best kept (default 5; not busy, calibrate)")
    p.add_argument("--quick", action="store_true", help="busy: small workloads (seconds)")


def run(args):
    from ...benchmarks import run_benchmark
    run_benchmark(args.what, args.batch, args.repeats, args.figure, args.quick, args.overwrite)
