"""The exercises: which library functions become stubs, in the order of the tutorial.

Each exercise is one module of the workspace (`ex03_eps_loss.py`), copied from
`ddpm_np/exercises/stubs/`: the library's functions under the library's names and signatures,
with the body replaced by a NotImplementedError whose message is the hint. "Solved" means the
library's implementation is put back (`solution_source`): that is how the project's own tests
check that every exercise's tests fail on the stub and pass on the library, so that the
exercises cannot drift from the code.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STUBS = Path(__file__).parent / "stubs"


@dataclass(frozen=True)
class Exercise:
    id: str                 # "ex01": the pytest marker
    module: str             # file name without .py, in stubs/ and in the workspace
    title: str
    library: str            # where the solution lives
    functions: tuple        # names the tests import

    @property
    def hint(self) -> str:
        """The second level of help, after the stub's own message: how, nearly step by step
        (`ddpm-np exercises --hint N`)."""
        return HINTS[self.module]

    @property
    def stub_source(self) -> str:
        """The module a learner fills in (stubs/<module>.py)."""
        return (STUBS / f"{self.module}.py").read_text(encoding="utf-8")

    def solution_source(self) -> str:
        return (f'"""{self.id} — {self.title}: the library\'s implementation."""\n'
                f"from {self.library} import {', '.join(self.functions)}  # noqa: F401\n")


EXERCISES = (
    Exercise("ex01", "ex01_q_sample", "q_sample: x_t from x_0 in one draw",
             "ddpm_np.diffusion", ("q_sample",)),
    Exercise("ex02", "ex02_posterior", "the posterior q(x_{t−1} | x_t, x_0)",
             "ddpm_np.diffusion", ("q_posterior",)),
    Exercise("ex03", "ex03_eps_loss", "the ε-loss and its gradient",
             "ddpm_np.diffusion", ("loss_simple",)),
    Exercise("ex04", "ex04_ddpm_step", "one step of the DDPM sampler",
             "ddpm_np.diffusion", ("ddpm_step",)),
    Exercise("ex05", "ex05_linear_backward", "the backward pass of a linear layer",
             "ddpm_np.nn", ("linear_backward",)),
    Exercise("ex06", "ex06_im2col", "im2col and its adjoint, col2im",
             "ddpm_np.nn.conv", ("im2col", "col2im")),
    Exercise("ex07", "ex07_conv_backward", "the backward pass of a convolution",
             "ddpm_np.nn", ("conv2d_backward",)),
    Exercise("ex08", "ex08_groupnorm_backward", "the backward pass of GroupNorm",
             "ddpm_np.nn", ("groupnorm_backward",)),
    Exercise("ex09", "ex09_ddim_step", "one step of the DDIM sampler",
             "ddpm_np.diffusion", ("ddim_step",)),
    Exercise("ex10", "ex10_guidance", "classifier-free guidance",
             "ddpm_np.diffusion", ("guided_eps_model",)),
    Exercise("ex11", "ex11_independence_mh", "independence Metropolis–Hastings",
             "ddpm_np.physics", ("independence_mh",)),
)

BY_ID = {e.id: e for e in EXERCISES}


def hint(which) -> str:
    """The second-level hint of exercise `which` (3, "3", "ex03"), with its title; ValueError
    naming what is allowed otherwise."""
    key = str(which).strip().lower().removeprefix("ex")
    exercise = BY_ID.get(f"ex{int(key):02d}") if key.isdigit() else None
    if exercise is None:
        raise ValueError(f"--hint {which!r}: give an exercise 1..{len(EXERCISES)} (or ex01.."
                         f"ex{len(EXERCISES):02d})")
    return f"{exercise.id} — {exercise.title}:\n{exercise.hint}"

HINTS = {
    "ex01_q_sample": (
        "index ᾱ with t (schedule.alpha_bars[t]), reshape it to (N, 1, ...) so that it "
        "broadcasts against x0 (an int t broadcasts as it is), and combine x0 and eps. "
        "Library: ddpm_np/diffusion/forward.py"
    ),
    "ex02_posterior": (
        "ᾱ_{t−1} is schedule.alpha_bars[t - 1]; form the two coefficients of eq. 7, reshape "
        "them like in ex01, and return (mean, schedule.beta_tildes[t] reshaped). Library: "
        "ddpm_np/diffusion/forward.py"
    ),
    "ex03_eps_loss": (
        "with n = eps.size, L = Σ (ε_θ − ε)² / n, so dL/dε_θ = 2 (ε_θ − ε) / n. Library: "
        "ddpm_np/nn/loss.py (mse_loss)"
    ),
    "ex04_ddpm_step": (
        "compute x0_hat, then μ_θ from eq. 11, then add √(σ_t²)·z unless t == 1; "
        "schedule.sigmas(sigma)[t] gives σ_t. Library: ddpm_np/diffusion/samplers.py"
    ),
    "ex05_linear_backward": (
        "dx = dout·Wᵀ; flatten the leading axes to rows, then dW = xᵀ·dout and db is the sum "
        "of dout's rows. Library: ddpm_np/nn/linear.py"
    ),
    "ex06_im2col": (
        "im2col: loops are fine (n, i, j → one row); "
        "numpy.lib.stride_tricks.sliding_window_view does it without them. col2im: start from"
        " zeros of the padded shape (N, C, H + 2p, W + 2p), add each window (overlapping "
        "windows add up), return the inner H×W. Library: ddpm_np/nn/conv.py"
    ),
    "ex07_conv_backward": (
        "bring dout to rows (N·Ho·Wo, O) (transpose to N, Ho, Wo, O first); then dW = "
        "(dout_rowsᵀ · cols) reshaped like W, db = Σ dout over N, Ho, Wo, and dx = "
        "col2im(dout_rows · Wm, ...). Library: ddpm_np/nn/conv.py"
    ),
    "ex08_groupnorm_backward": (
        "dscale = Σ dout·x̂ and dshift = Σ dout over N, H, W. For dx, per sample and group of"
        " m numbers with g = dout·scale: dx = (g − mean(g) − x̂·mean(g·x̂))·(1/σ). "
        "Derivation: ddpm_np/nn/norm.py"
    ),
    "ex09_ddim_step": (
        "with eta = 0 the step re-noises x̂_0 to level t_prev with the *same* predicted noise"
        " ε_θ. Library: ddpm_np/diffusion/samplers.py"
    ),
    "ex10_guidance": (
        "return a function of (xt, t) that calls model twice (with y, and with the null label"
        " everywhere) and combines them; with y None, only the null label. Library: "
        "ddpm_np/diffusion/guidance.py (one call on a doubled batch)"
    ),
    "ex11_independence_mh": (
        "draw the N − 1 uniforms u first; keep the index of the current proposal; at step i "
        "accept when log u < log_w[i] − log_w[current] (compare logs: the weights themselves "
        "overflow), then index[i] = current. A proposal as good as the current one or better "
        "is always accepted. Library: ddpm_np/physics/correction.py"
    ),
}
