"""Experiments: what turns the library into runs — the demos (`demos`: the 2-D ones in `toy`,
MNIST in `mnist_sample`), training runs by dataset name with resume (`runs`, `mnist_train`),
sampling any checkpoint (`sampling`), editing images (`editing`: inpainting, interpolation),
MNIST evaluation (`mnist_eval`, `metrics`, and the `classifier` behind them), the few-step
study (`few_steps`), the Boltzmann study (`boltzmann`), figures (`plotting`) and the
tutorial's helpers (`tutorial`). The command line calls these; so can you. Benchmarks live in
`ddpm_np.benchmarks`.
"""
