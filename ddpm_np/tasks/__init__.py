"""What the command line's commands do, as library functions you can call: the demos
(`demos`: the 2-D ones in `toy`, MNIST in `mnist_sample`), training runs by dataset name with
resume (`runs`, `mnist_train`), sampling any checkpoint (`sampling`), editing images
(`editing`: inpainting, interpolation), MNIST evaluation (`mnist_eval`, and the `classifier`
behind it) and the tutorial's helpers (`tutorial`). The studies behind docs/results.md are in
`ddpm_np.studies`, the benchmarks in `ddpm_np.benchmarks`.
"""
