"""Full-size demo runs (marked slow; CI runs them after the default suite)."""
import pytest

from ddpm_np.tasks.toy import run_toy_demo


@pytest.mark.slow
def test_one_gaussian_demo_reaches_its_targets(tmp_path):
    m = run_toy_demo("gaussian", tmp_path, progress=False, log=lambda *a: None)
    assert m["energy_ratio"] <= 2.0, m["energy_ratio"]
    assert m["mean_error"] < 0.1 and m["cov_rel_error"] < 0.1
    # the bound is an upper bound on the model's NLL, hence (up to noise) on the data entropy
    assert m["vlb_bits_per_dim"] > m["exact_nll_bits_per_dim"] - 5 * m["vlb_stderr"]
