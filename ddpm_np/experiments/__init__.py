"""Experiments: what turns the library into runs — the 2-D demos (`toy`), MNIST training,
sampling and evaluation (`mnist_train`, `mnist_sample`, `mnist_eval`), the classifier behind the
metrics (`classifier`), benchmarks (`bench`), metrics and figures (`metrics`, `plotting`), and
training runs by dataset name with resume (`runs`). The command line calls these; so can you.
"""
