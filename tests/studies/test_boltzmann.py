"""The physics chapter's tools against what is known exactly: the grid sampler, the free energy,
a Metropolis chain on a potential it mixes on, and the autocorrelation time of an AR(1) series."""
import numpy as np
import pytest

from ddpm_np.studies.boltzmann import (DoubleWell, autocorrelation, free_energy_profile,
                                           integrated_time, metropolis)

EASY, HARD = DoubleWell(), DoubleWell(a=6.0, c=0.4)


def test_the_potentials_are_what_the_chapter_says():
    assert EASY.barrier_kT() == pytest.approx(4.0, abs=0.01)
    assert EASY.population_left() == pytest.approx(0.5, abs=1e-6)
    assert HARD.barrier_kT() > 12 and 0.8 < HARD.population_left() < 0.85


@pytest.mark.parametrize("potential", [EASY, HARD])
def test_exact_samples_have_the_exact_populations_and_profile(rng, potential):
    x = potential.sample(200_000, rng)
    p = potential.population_left()
    assert abs((x[:, 0] < 0).mean() - p) < 5 * np.sqrt(p * (1 - p) / len(x))
    assert x[:, 1].var() == pytest.approx(potential.kT / (2 * potential.b), rel=0.02)
    centres, f = free_energy_profile(x[:, 0], potential.kT, np.linspace(-1.6, 1.6, 33))
    exact = potential.free_energy(centres)
    low = exact < 1.5         # inside the wells: bins narrow against the change of p
    np.testing.assert_allclose(f[low] - f[low].min(), exact[low] - exact[low].min(), atol=0.08)


def test_metropolis_samples_the_boltzmann_distribution_where_it_mixes(rng):
    chain, acceptance, seconds = metropolis(EASY, np.tile([[-1.0, 0.0]], (16, 1)), 20_000, 0.5,
                                            rng)
    x = chain[2000:].reshape(-1, 2)
    assert 0.2 < acceptance < 0.6 and seconds > 0
    assert (x[:, 0] < 0).mean() == pytest.approx(0.5, abs=0.06)
    assert x[:, 1].var() == pytest.approx(EASY.kT / 2, rel=0.05)


def test_integrated_time_of_an_ar1_series_is_the_closed_form(rng):
    rho, n, chains = 0.9, 200_000, 4
    z = rng.standard_normal((n, chains))
    s = np.empty_like(z)
    s[0] = z[0] / np.sqrt(1 - rho ** 2)
    for k in range(1, n):
        s[k] = rho * s[k - 1] + z[k]
    tau, reliable = integrated_time(s)
    assert reliable and tau == pytest.approx((1 + rho) / (1 - rho), rel=0.1)
    acf = autocorrelation(s)
    assert acf[0] == 1 and acf[5] == pytest.approx(rho ** 5, abs=0.03)


def test_white_noise_has_no_correlation_and_a_short_series_is_flagged(rng):
    tau, reliable = integrated_time(rng.standard_normal(50_000))
    assert tau == pytest.approx(1, abs=0.1) and reliable
    walk = np.cumsum(rng.standard_normal(2000))          # a random walk: τ of its length
    assert not integrated_time(walk)[1]
