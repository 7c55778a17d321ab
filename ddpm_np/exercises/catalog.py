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
)

BY_ID = {e.id: e for e in EXERCISES}
