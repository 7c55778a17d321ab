"""The Γ-method against an AR(1) series, whose τ_int is known in closed form, and the
jackknife against the standard error of a mean."""
import numpy as np
import pytest

from ddpm_np.physics import gamma_method, jackknife


def ar1(a, n, rng, replicas=1):
    """x_{i+1} = a·x_i + √(1−a²)·η_i: unit variance, ρ(t) = aᵗ, τ_int = ½ + Σ_{t≥1} aᵗ =
    (1+a)/(2(1−a))."""
    x = np.empty((replicas, n))
    x[:, 0] = rng.standard_normal(replicas)
    eta = rng.standard_normal((replicas, n)) * np.sqrt(1 - a * a)
    for i in range(1, n):
        x[:, i] = a * x[:, i - 1] + eta[:, i]
    return x


@pytest.mark.parametrize("a", [0.0, 0.5, 0.9])
def test_tau_int_of_ar1(a):
    r = gamma_method(ar1(a, 100_000, np.random.default_rng(0)))
    exact = (1 + a) / (2 * (1 - a))
    assert abs(r["tau_int"] - exact) < 3 * r["tau_error"] + 0.02, (r, exact)
    # the error of the mean: √(2τ_int/N) for unit variance
    assert r["error"] == pytest.approx(np.sqrt(2 * exact / 100_000), rel=0.1)


def test_error_is_honest_over_many_series():
    """The mean of 200 AR(1) series (a = 0.8) lies within 1σ of 0 about 68% of the time."""
    rng = np.random.default_rng(1)
    z = []
    for _ in range(200):
        r = gamma_method(ar1(0.8, 2000, rng))
        z.append(r["value"] / r["error"])
    inside = np.mean(np.abs(z) < 1)
    assert 0.58 < inside < 0.78, inside      # 0.68 ± 3·√(0.68·0.32/200)


def test_replicas_and_derived_quantities():
    """Replicas pool like one long chain; a ratio of means gets its linearised error."""
    rng = np.random.default_rng(2)
    x = ar1(0.5, 20_000, rng, replicas=4)
    r = gamma_method(x)
    assert r["tau_int"] == pytest.approx(1.5, abs=0.15)
    pair = np.stack([x + 3, 2 * x + 5], axis=-1)            # means 3 and 5, ratio 0.6
    d = gamma_method(pair, f=lambda m: m[0] / m[1])
    assert abs(d["value"] - 0.6) < 5 * d["error"]
    # f(a, b) = a/b linearised: (1/b − a/b²·2)·x = (1/5 − 6/25)·x = −0.04·x
    assert d["error"] == pytest.approx(0.04 * r["error"], rel=1e-2)   # gradient at the sample means


def test_constant_series_has_no_error():
    assert gamma_method(np.ones(50))["error"] == 0


def test_jackknife_of_a_mean_is_the_standard_error(rng):
    x = rng.standard_normal(400)
    value, error = jackknife(np.mean, x, blocks=400)
    assert value == pytest.approx(x.mean())
    assert error == pytest.approx(x.std(ddof=1) / 20, rel=1e-10)


def test_bad_series_are_refused():
    with pytest.raises(ValueError, match="non-finite"):
        gamma_method(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="N ≥ 2"):
        gamma_method(np.ones(1))
