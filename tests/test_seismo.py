"""latentexplorer.seismo: scaling relations (paper Eqs. 3, 6, 7) and the ν_max/Δν estimator."""

import numpy as np
import pytest

from latentexplorer import constants as C
from latentexplorer import psd, seismo


def test_eq6_deltanu_of_numax():
    assert seismo.deltanu_from_numax(100.0) == pytest.approx(0.263 * 100**0.772)
    assert np.allclose(seismo.deltanu_from_numax([1.0, 30.0]), [0.263, 0.263 * 30**0.772])


def test_excess_deltanu_is_one_on_the_eq6_relation():
    assert seismo.excess_deltanu(seismo.deltanu_from_numax(35.0), 35.0) == pytest.approx(1.0)
    assert seismo.excess_deltanu(1.05 * seismo.deltanu_from_numax(35.0), 35.0) == pytest.approx(1.05)


def test_the_sun_has_one_solar_mass_and_radius():
    assert seismo.scaling_mass(C.NUMAX_SUN_UHZ, C.DELTANU_SUN_UHZ, C.TEFF_SUN_K) == pytest.approx(1.0)
    assert seismo.scaling_radius(C.NUMAX_SUN_UHZ, C.DELTANU_SUN_UHZ, C.TEFF_SUN_K) == pytest.approx(1.0)


def test_a_typical_red_clump_star_has_a_clump_mass_and_radius():
    # ν_max = 30 μHz, Δν = 3.6 μHz, Teff = 4750 K: M ≈ 1.3 M☉, R ≈ 12 R☉
    mass = seismo.scaling_mass(30.0, 3.6, 4750.0)
    radius = seismo.scaling_radius(30.0, 3.6, 4750.0)
    assert 1.2 < mass < 1.4
    assert 11.5 < radius < 13.0


def test_mass_uncertainty_propagates_the_exponents_in_quadrature():
    mass, err = seismo.scaling_mass(30.0, 4.0, 4750.0, numax_err=0.3, deltanu_err=0.02, teff_err=47.5)
    assert mass == pytest.approx(seismo.scaling_mass(30.0, 4.0, 4750.0))
    expected = mass * np.sqrt((3 * 0.01) ** 2 + (4 * 0.005) ** 2 + (1.5 * 0.01) ** 2)
    assert err == pytest.approx(expected)


def test_logg_and_numax_are_inverse_scalings():
    numax = seismo.numax_from_logg(2.5, 4800.0)
    assert seismo.scaling_logg(numax, 4800.0) == pytest.approx(2.5)
    assert 25 < numax < 40  # the clump's ν_max


def test_radius_mass_and_logg_are_consistent():
    numax, dnu, teff = 50.0, 5.5, 4700.0
    mass, radius = seismo.scaling_mass(numax, dnu, teff), seismo.scaling_radius(numax, dnu, teff)
    assert np.log10(mass / radius**2) + C.LOGG_SUN == pytest.approx(seismo.scaling_logg(numax, teff))


def test_pure_noise_has_no_global_parameters():
    flat = np.random.default_rng(0).normal(0, 0.1, 2092)
    found = seismo.estimate_global_parameters(psd.frequency_grid(), flat)
    assert np.isnan(found.numax) and np.isnan(found.deltanu)


def test_estimator_rejects_mismatched_arrays():
    with pytest.raises(ValueError, match="equal length"):
        seismo.estimate_global_parameters(np.arange(10.0), np.zeros(9))


def test_numax_of_mock_red_giants_comes_back_despite_the_granulation_background():
    from latentexplorer.mock.lightcurves import synthesize_light_curve

    rng = np.random.default_rng(5)
    errors = []
    for numax in (12.0, 30.0, 60.0, 120.0):
        lc = synthesize_light_curve(numax, float(seismo.deltanu_from_numax(numax)), "RGB", 11.5, rng)
        log_psd = psd.compute_psd(lc.time_days[lc.good], lc.flux_ppm[lc.good])
        errors.append(seismo.estimate_global_parameters(psd.frequency_grid(), log_psd).numax / numax - 1)
    assert np.median(np.abs(errors)) < 0.05
    assert np.max(np.abs(errors)) < 0.15  # the low-ν_max end keeps ≈ +10 % (see the docstring)


def test_granulation_background_falls_through_numax():
    freq = np.array([10.0, 30.0, 90.0])
    b = seismo.granulation_background(freq, 30.0)
    assert b[0] > b[1] > b[2]


def test_an_envelope_without_a_comb_of_modes_has_numax_but_no_deltanu():
    freq = psd.frequency_grid()
    sigma = seismo.envelope_sigma(50.0)
    smooth_hump = np.log1p(3.0 * np.exp(-0.5 * ((freq - 50.0) / sigma) ** 2))
    found = seismo.estimate_global_parameters(freq, smooth_hump, background=None)
    assert found.numax == pytest.approx(50.0, rel=0.01)
    assert np.isnan(found.deltanu)
