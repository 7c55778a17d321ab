"""ddpm-np phi4"""
from ..types import positive_int, seed_int

NAME = "phi4"
HELP = ("lattice φ⁴ theory: a diffusion sampler trained on HMC data, made exact by "
        "Metropolis–Hastings, against HMC")


def add_arguments(p):
    from ...studies.phi4.study import STAGES
    p.add_argument("--L", type=int, default=6,
                   help="lattice size L×L (even, 2 ≤ L ≤ 64; default 6)")
    p.add_argument("--lam", type=float, help="quartic coupling λ ≥ 0 (default: the ensemble "
                                             "of L at m²=−4 with L/ξ ≈ 4, for L = 4, 6, …, "
                                             "16 and 32)")
    p.add_argument("--m2", type=float, default=-4.0, help="mass term m² (default −4)")
    p.add_argument("--out", help="study folder (default runs/phi4-L{L}); rerunning the same "
                                 "command continues an interrupted study")
    p.add_argument("--stage", choices=("all",) + STAGES, default="all",
                   help="one stage only: hmc (data and reference), train, sample (proposals "
                        "with their log q), report (observables, MH, figures); default all")
    p.add_argument("--quick", action="store_true", help="a tiny study that takes seconds")
    p.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")
    p.add_argument("--steps", type=positive_int, help="training steps (default 4000)")
    p.add_argument("--proposals", type=positive_int,
                   help="proposals (default 1024); a rerun with more adds to them")
    p.add_argument("--sampler-steps", type=positive_int,
                   help="network evaluations of the deterministic sampler (default 12; 16 "
                        "at L=8)")
    p.add_argument("--order", type=int, choices=(1, 2),
                   help="1: DDIM, 2: DPM-Solver++(2M) (default 2)")
    p.add_argument("--route", choices=("flow", "path"),
                   help="where log q comes from: flow, the deterministic sampler's exact "
                        "Jacobian (cost ∝ V², L ≤ 10; the default there), or path, the "
                        "ancestral chain's path weight (cost ∝ V; the default above L = 10)")
    p.add_argument("--path-steps", type=positive_int,
                   help="steps of the ancestral chain on route path (default 1000)")


def run(args):
    from ...studies.phi4.study import run_phi4
    run_phi4(args.L, args.lam, args.m2, args.out, args.stage, quick=args.quick, seed=args.seed,
             progress=not args.no_progress, steps=args.steps, proposals=args.proposals,
             sampler_steps=args.sampler_steps, order=args.order, route=args.route,
             path_steps=args.path_steps)
