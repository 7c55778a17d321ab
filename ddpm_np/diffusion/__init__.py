"""The diffusion math of Ho et al. 2020 (plus cosine schedule, DDIM, x0/v targets, the bound,
classifier-free guidance).

Symbols (t is 1-based, index 0 of schedule arrays is a sentinel; see schedule.py):
    β_t betas · α_t alphas · ᾱ_t alpha_bars · β̃_t beta_tildes · σ_t sigmas
    ε eps · ε_θ eps_theta · x̂_0 x0_hat · μ̃_t mu_tilde · μ_θ mu_theta · x_t xt · x_{t−1} x_prev

A "model" is any callable eps_model(xt, t) -> eps_theta with t of shape (N,).
"""
from .schedule import NoiseSchedule, check_t, gather
from .forward import q_sample, q_step, q_chain, q_posterior, posterior_coefficients
from .param import (x0_from_eps, eps_from_x0, v_from_eps_x0, x0_from_v, eps_from_v,
                    mu_theta_from_eps, eps_from_output, as_eps_model, PARAMETERIZATIONS)
from .losses import sample_training_batch, loss_simple, diffusion_loss, loss_weights
from .samplers import ddpm_step, ddim_step, ddpm_sample, ddim_sample, ddim_timesteps
from .gaussian import discretized_gaussian_log_likelihood, gaussian_kl
from .vlb import vlb_terms, nll_bits_per_dim, bound_parts
from .analytic import (gaussian_cov_eps_jacobian, gaussian_cov_eps_model, gaussian_eps_model,
                       gaussian_mixture_eps_model)
from .guidance import guided_eps_model
from .solvers import dpm_solver_sample, dpm_solver_step, solver_timesteps
from .inversion import ddim_invert, slerp
from .inpaint import repaint_sample, repaint_schedule
from .flow_density import ddim_coefficients, ddim_flow_sample, flow_sample, module_eps_jacobian
