"""The exercises: which library functions become stubs, in the order of the tutorial.

Each exercise is one module of the workspace (`ex03_eps_loss.py`) holding the library's
functions under the library's names and signatures, with the body replaced by a
NotImplementedError whose message is the hint. "Solved" means the library's implementation is
put back (`solution_source`): that is how the project's own tests check that every exercise's
tests fail on the stub and pass on the library, so that the exercises cannot drift from the code.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Exercise:
    id: str                 # "ex01": the pytest marker
    module: str             # file name without .py
    title: str
    library: str            # where the solution lives
    functions: tuple        # names the tests import
    stub_source: str        # the module a learner fills in

    def solution_source(self) -> str:
        return (f'"""{self.id} — {self.title}: the library\'s implementation."""\n'
                f"from {self.library} import {', '.join(self.functions)}  # noqa: F401\n")


def _module(doc: str, imports: str, body: str) -> str:
    return f'"""{doc}"""\n{imports}\n\n{body.strip()}\n'


EXERCISES = (
    Exercise("ex01", "ex01_q_sample", "q_sample: x_t from x_0 in one draw",
             "ddpm_np.diffusion", ("q_sample",), _module(
                 "Exercise 1 — the forward process in one draw (tutorial chapter 1).",
                 "import numpy as np", '''
def q_sample(x0, t, eps, schedule):
    """x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · ε   (Ho et al. 2020, eq. 4)

    x0, eps: (N, ...) arrays ; t: an int or an (N,) int array with values in 0..T (t = 0 gives
    x_0 back) ; schedule: a NoiseSchedule, whose `schedule.alpha_bars` has length T + 1 with
    alpha_bars[0] = 1.  Returns x_t, shaped like x0.
    """
    raise NotImplementedError(
        "ex01: index ᾱ with t (schedule.alpha_bars[t]), reshape it to (N, 1, ...) so that it "
        "broadcasts against x0 (an int t broadcasts as it is), and combine x0 and eps. "
        "Library: ddpm_np/diffusion/forward.py")
''')),
    Exercise("ex02", "ex02_posterior", "the posterior q(x_{t−1} | x_t, x_0)",
             "ddpm_np.diffusion", ("q_posterior",), _module(
                 "Exercise 2 — the posterior of the forward process (tutorial chapter 2).",
                 "import numpy as np", '''
def q_posterior(x0, xt, t, schedule):
    """Mean and variance of q(x_{t−1} | x_t, x_0)   (eqs. 6–7)

        μ̃_t = √ᾱ_{t−1} β_t / (1 − ᾱ_t) · x_0 + √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · x_t
        β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t

    x0, xt: (N, ...) ; t: int or (N,) in 1..T.  Returns (mu_tilde like x0, var) with var
    broadcastable against x0 (shape (N, 1, ...), or a scalar for an int t). The schedule has
    `betas`, `alphas`, `alpha_bars` and `beta_tildes`, each of length T + 1 (index 0 unused).
    """
    raise NotImplementedError(
        "ex02: ᾱ_{t−1} is schedule.alpha_bars[t - 1]; form the two coefficients of eq. 7, "
        "reshape them like in ex01, and return (mean, schedule.beta_tildes[t] reshaped). "
        "Library: ddpm_np/diffusion/forward.py")
''')),
    Exercise("ex03", "ex03_eps_loss", "the ε-loss and its gradient",
             "ddpm_np.diffusion", ("loss_simple",), _module(
                 "Exercise 3 — L_simple, the loss of Algorithm 1 (tutorial chapter 2).",
                 "import numpy as np", '''
def loss_simple(eps_theta, eps):
    """L = mean over all elements of (ε_θ − ε)², and dL/dε_θ   (eq. 14)

    eps_theta, eps: arrays of the same shape.  Returns (loss as a Python float, the gradient
    with eps_theta's shape and dtype).
    """
    raise NotImplementedError(
        "ex03: with n = eps.size, L = Σ (ε_θ − ε)² / n, so dL/dε_θ = 2 (ε_θ − ε) / n. "
        "Library: ddpm_np/nn/loss.py (mse_loss)")
''')),
    Exercise("ex04", "ex04_ddpm_step", "one step of the DDPM sampler",
             "ddpm_np.diffusion", ("ddpm_step",), _module(
                 "Exercise 4 — one ancestral step x_t → x_{t−1} (Algorithm 2).",
                 "import numpy as np", '''
def ddpm_step(eps_theta, xt, t, schedule, z=None, sigma="beta_tilde", clip_x0=None):
    """x_{t−1} = μ_θ + σ_t z with μ_θ = (x_t − β_t / √(1 − ᾱ_t) · ε_θ) / √α_t   (eq. 11),
    no noise at t = 1.

    eps_theta, xt, z: (N, ...) ; t: an int in 1..T (the tests use a single t) ; sigma:
    "beta_tilde" (σ_t² = β̃_t) or "beta" (σ_t² = β_t).  Returns (x_prev, x0_hat) with
    x0_hat = (x_t − √(1 − ᾱ_t) ε_θ) / √ᾱ_t   (eq. 15). clip_x0 may be ignored here.
    """
    raise NotImplementedError(
        "ex04: compute x0_hat, then μ_θ from eq. 11, then add √(σ_t²)·z unless t == 1; "
        "schedule.sigmas(sigma)[t] gives σ_t. Library: ddpm_np/diffusion/samplers.py")
''')),
    Exercise("ex05", "ex05_linear_backward", "the backward pass of a linear layer",
             "ddpm_np.nn", ("linear_backward",), _module(
                 "Exercise 5 — the gradients of y = x·W + b (tutorial chapter 3).",
                 "import numpy as np", '''
def linear_backward(dout, cache):
    """Gradients (dx, dW, db) of y = x·W + b, given dL/dy = dout.

    cache = (x, W) as linear_forward keeps it: x (..., in), W (in, out); dout (..., out).
    dx has x's shape, dW W's, db (out,): sums over every leading axis.
    """
    raise NotImplementedError(
        "ex05: dx = dout·Wᵀ; flatten the leading axes to rows, then dW = xᵀ·dout and db is "
        "the sum of dout's rows. Library: ddpm_np/nn/linear.py")
''')),
    Exercise("ex06", "ex06_im2col", "im2col and its adjoint, col2im",
             "ddpm_np.nn.conv", ("im2col", "col2im"), _module(
                 "Exercise 6 — convolution windows as the rows of a matrix (tutorial chapter 4).",
                 "import numpy as np", '''
def im2col(xp, kh, kw, stride, Ho, Wo):
    """The kh×kw windows of an already padded array, one window per row.

    xp: (N, C, Hp, Wp).  Returns (N·Ho·Wo, C·kh·kw): row (n, i, j) in that order (n slowest)
    holds xp[n, :, i·s : i·s + kh, j·s : j·s + kw] flattened in (C, kh, kw) order.
    """
    raise NotImplementedError(
        "ex06: loops are fine (n, i, j → one row); numpy.lib.stride_tricks."
        "sliding_window_view does it without them. Library: ddpm_np/nn/conv.py")


def col2im(dcols, x_shape, kh, kw, stride, padding, Ho, Wo):
    """The adjoint of im2col followed by padding: add each row of dcols (N·Ho·Wo, C·kh·kw) back
    onto the window it came from in the padded input, then cut the padding off.

    x_shape: (N, C, H, W) of the unpadded input.  Returns dx of that shape.
    """
    raise NotImplementedError(
        "ex06: start from zeros of the padded shape (N, C, H + 2p, W + 2p), add each window "
        "(overlapping windows add up), return the inner H×W. Library: ddpm_np/nn/conv.py")
''')),
    Exercise("ex07", "ex07_conv_backward", "the backward pass of a convolution",
             "ddpm_np.nn", ("conv2d_backward",), _module(
                 "Exercise 7 — the gradients of a 2-D convolution computed as im2col + GEMM.",
                 "import numpy as np\n\nfrom ddpm_np.nn.conv import col2im, conv_output_size",
                 '''
def conv2d_backward(dout, cache):
    """Gradients (dx, dW, db) of y = conv2d_forward(x, W, b, stride, padding).

    cache = (cols, x_shape, W, stride, padding) as conv2d_forward keeps it: cols = im2col of
    the padded x, (N·Ho·Wo, C·kh·kw); W (O, C, kh, kw); dout (N, O, Ho, Wo).
    The forward was y_rows = cols · Wmᵀ + b with Wm = W.reshape(O, −1) and y_rows (N·Ho·Wo, O).
    """
    raise NotImplementedError(
        "ex07: bring dout to rows (N·Ho·Wo, O) (transpose to N, Ho, Wo, O first); then "
        "dW = (dout_rowsᵀ · cols) reshaped like W, db = Σ dout over N, Ho, Wo, and "
        "dx = col2im(dout_rows · Wm, ...). Library: ddpm_np/nn/conv.py")
''')),
    Exercise("ex08", "ex08_groupnorm_backward", "the backward pass of GroupNorm",
             "ddpm_np.nn", ("groupnorm_backward",), _module(
                 "Exercise 8 — GroupNorm's gradients (the UNet's normalisation).",
                 "import numpy as np", '''
def groupnorm_backward(dout, cache):
    """Gradients (dx, dscale, dshift) of y = x̂·scale[c] + shift[c], where x̂ = (x − μ_g)/σ_g
    with the mean and standard deviation of each sample's group of C/G channels.

    cache = (x_hat, inv_std, scale, num_groups) as groupnorm_forward keeps it: x_hat like x
    (N, C, H, W); inv_std (N, G) = 1/σ_g; scale (C,).
    """
    raise NotImplementedError(
        "ex08: dscale = Σ dout·x̂ and dshift = Σ dout over N, H, W. For dx, per sample and group "
        "of m numbers with g = dout·scale: dx = (g − mean(g) − x̂·mean(g·x̂))·(1/σ). "
        "Derivation: ddpm_np/nn/norm.py")
''')),
    Exercise("ex09", "ex09_ddim_step", "one step of the DDIM sampler",
             "ddpm_np.diffusion", ("ddim_step",), _module(
                 "Exercise 9 — one deterministic DDIM step (Song et al. 2021).",
                 "import numpy as np", '''
def ddim_step(eps_theta, xt, t, t_prev, schedule, eta=0.0, z=None, clip_x0=None):
    """x_{t_prev} = √ᾱ_prev · x̂_0 + √(1 − ᾱ_prev − σ²) · ε_θ + σ·z   (Song et al., eq. 12)

    with x̂_0 = (x_t − √(1 − ᾱ_t) ε_θ)/√ᾱ_t and σ = η·√((1 − ᾱ_prev)/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_prev).
    t, t_prev: ints with 0 ≤ t_prev < t (ᾱ_0 = 1). The tests use eta = 0, where σ = 0.
    Returns (x_prev, x0_hat). clip_x0 may be ignored here.
    """
    raise NotImplementedError(
        "ex09: with eta = 0 the step re-noises x̂_0 to level t_prev with the *same* predicted "
        "noise ε_θ. Library: ddpm_np/diffusion/samplers.py")
''')),
    Exercise("ex10", "ex10_guidance", "classifier-free guidance",
             "ddpm_np.diffusion", ("guided_eps_model",), _module(
                 "Exercise 10 — classifier-free guidance (Ho & Salimans 2022).",
                 "import numpy as np", '''
def guided_eps_model(model, y, guidance=0.0, null_label=None):
    """An ε-model eps_model(xt, t) from a class-conditional model(xt, t, labels):

        ε̃(x_t, y) = (1 + w)·ε_θ(x_t, y) − w·ε_θ(x_t, ∅)

    y: (N,) int labels, or None for unconditional samples (every label = the null label);
    guidance: w ≥ 0; null_label: the "no label" index (default model.num_classes).
    """
    raise NotImplementedError(
        "ex10: return a function of (xt, t) that calls model twice (with y, and with the null "
        "label everywhere) and combines them; with y None, only the null label. "
        "Library: ddpm_np/diffusion/guidance.py (one call on a doubled batch)")
''')),
)

BY_ID = {e.id: e for e in EXERCISES}
