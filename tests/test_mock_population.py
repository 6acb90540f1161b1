"""The mock survey's population: physics of the truth table and APOKASC-2-like seismic subset."""

import re

import numpy as np
import pytest
from scipy.stats import spearmanr

from latentexplorer import constants as C
from latentexplorer.mock.giants import mass_from_age, rc_age, rgb_age
from latentexplorer.mock.population import apogee_id, draw_population
from latentexplorer.seismo import numax_from_logg, scaling_mass, scaling_radius


@pytest.fixture(scope="module")
def population():
    return draw_population(7000, 5000, seed=11)


@pytest.fixture(scope="module")
def kepler(population):
    return population[population["KIC"] > 0]


def test_scaling_relations_hold_exactly(population):
    t = population
    np.testing.assert_allclose(t["NUMAX"], numax_from_logg(t["LOGG"], t["TEFF"]), rtol=1e-10)
    np.testing.assert_allclose(scaling_mass(t["NUMAX"], t["DELTANU"], t["TEFF"]), t["MASS"], rtol=1e-9)
    np.testing.assert_allclose(scaling_radius(t["NUMAX"], t["DELTANU"], t["TEFF"]), t["RADIUS"], rtol=1e-9)
    np.testing.assert_allclose(t["LUMINOSITY"], t["RADIUS"] ** 2 * (t["TEFF"] / C.TEFF_SUN_K) ** 4, rtol=1e-10)


def test_ages_and_masses_follow_the_published_fits(population):
    t = population
    rc = np.asarray(t["EVOLSTATE"] == "RC")
    np.testing.assert_allclose(t["AGE"][rc], rc_age(t["MASS"][rc], t["FE_H"][rc]), rtol=1e-8)
    np.testing.assert_allclose(t["AGE"][~rc], rgb_age(t["MASS"][~rc], t["FE_H"][~rc]), rtol=1e-8)


def test_mass_from_age_inverts_both_fits():
    mass = np.array([0.9, 1.2, 1.6, 2.4])
    feh = np.array([-0.4, 0.0, 0.2, -0.1])
    np.testing.assert_allclose(mass_from_age(rgb_age(mass, feh), feh, "RGB"), mass, rtol=1e-9)
    np.testing.assert_allclose(mass_from_age(rc_age(mass, feh), feh, "RC"), mass, rtol=1e-9)
    # At solar metallicity a 5.7 Gyr RGB star has ≈ 1.23 M☉ (10.67 M^-3.06 = 5.7).
    assert mass_from_age(5.7, 0.0, "RGB") == pytest.approx((5.7 / 10.67) ** (-1 / 3.06), rel=1e-9)
    with pytest.raises(ValueError, match="evolstate"):
        mass_from_age(5.0, 0.0, "AGB")


def test_seismic_subset_resembles_apokasc2(kepler):
    """RC fraction, ν_max percentiles, mass and age medians within 20 % of APOKASC-2's."""
    rc = np.asarray(kepler["EVOLSTATE"] == "RC")
    assert rc.mean() == pytest.approx(0.42, rel=0.2)
    targets = {False: ((7.5, 55.0, 190.0), 1.2, 5.7), True: ((26.0, 35.0, 88.0), 1.3, 3.0)}
    for is_rc, (numax_pct, mass_median, age_median) in targets.items():
        sel = kepler[rc == is_rc]
        np.testing.assert_allclose(np.percentile(sel["NUMAX"], [5, 50, 95]), numax_pct, rtol=0.2)
        assert np.median(sel["MASS"]) == pytest.approx(mass_median, rel=0.2)
        assert np.median(sel["AGE"]) == pytest.approx(age_median, rel=0.2)


def test_red_clump_numax_is_a_narrow_clump_with_a_small_secondary_clump(kepler):
    """APOKASC-2's RC ν_max 5th/50th/95th percentiles (26/35/88 μHz) within 15 %, and most of the clump
    in a narrow primary peak: the interquartile range under 65 % of the median (the pre-0.3 mock had 105 %,
    with a third of its clump above 60 μHz), at most a fifth above 60 μHz or below 26 μHz."""
    numax = np.asarray(kepler["NUMAX"][kepler["EVOLSTATE"] == "RC"])
    p5, p25, p50, p75, p95 = np.percentile(numax, [5, 25, 50, 75, 95])
    np.testing.assert_allclose([p5, p50, p95], [26.0, 35.0, 88.0], rtol=0.15)
    assert (p75 - p25) / p50 < 0.65
    assert np.mean(numax > 60.0) < 0.2 and np.mean(numax < 26.0) < 0.2


def test_kepler_subset_lies_in_the_field_with_detectable_oscillations(kepler):
    ra, dec = np.radians(kepler["RA"]), np.radians(kepler["DEC"])
    ra0, dec0 = np.radians(C.KEPLER_FIELD_RA_DEG), np.radians(C.KEPLER_FIELD_DEC_DEG)
    sep = np.degrees(np.arccos(np.sin(dec) * np.sin(dec0) + np.cos(dec) * np.cos(dec0) * np.cos(ra - ra0)))
    assert sep.max() < 8.0 + 1e-3
    assert kepler["NUMAX"].min() > 4.0 and kepler["NUMAX"].max() < 250.0
    assert len(np.unique(kepler["KIC"])) == len(kepler)


def test_general_sample_spans_apogee_giant_gravities(population):
    general = population[population["KIC"] < 0]
    logg = np.asarray(general["LOGG"])
    assert logg.min() >= 1.0 - 1e-9 and logg[general["EVOLSTATE"] == "RGB"].max() <= 3.8 + 1e-9
    assert np.percentile(logg, 2) < 1.5 and np.percentile(logg, 98) > 3.4
    # The clump sits at log g ≈ 2.3–2.6 for most of its stars.
    rc_logg = logg[general["EVOLSTATE"] == "RC"]
    assert 2.3 < np.median(rc_logg) < 2.6


def test_alpha_correlates_with_age_and_sequences_separate(population):
    t = population
    rho, _ = spearmanr(t["ALPHA_M"], t["AGE"])
    assert rho > 0.5
    high = (t["ALPHA_M"] > -0.2211 * t["FE_H"] + 0.0442) & (t["ALPHA_M"] > 0.05)  # paper Eq. 8
    assert np.median(t["AGE"][high]) > 8.0
    assert np.median(t["AGE"][~high]) < 6.0
    assert 0.05 < high.mean() < 0.4


def test_radial_metallicity_gradient_and_flaring(population):
    thin = population[(population["POPULATION"] == "thin") & (population["KIC"] < 0)]
    slope = np.polyfit(thin["R"], thin["FE_H"], 1)[0]
    assert -0.09 < slope < -0.03  # dex/kpc
    old, young = thin["AGE"] > 6.0, thin["AGE"] < 3.0
    outer, inner = thin["R"] > 9.0, thin["R"] < 7.0
    # Older stars sit higher above the plane, and more so in the outer disk (flaring).
    assert np.median(np.abs(thin["Z"][old])) > 1.5 * np.median(np.abs(thin["Z"][young]))
    assert np.median(np.abs(thin["Z"][old & outer])) > np.median(np.abs(thin["Z"][old & inner]))


def test_first_dredge_up_lowers_cn_with_mass(population):
    rho, _ = spearmanr(population["MASS"], population["C_N"])
    assert rho < -0.6
    np.testing.assert_allclose(population["C_N"], population["C_FE"] - population["N_FE"], atol=1e-12)


def test_kinematics_velocity_dispersion_grows_with_age(population):
    near = population[population["DIST"] < 1.5]
    young, old = near["AGE"] < 3.0, near["AGE"] > 8.0
    assert np.std(near["VLOS"][old]) > 1.3 * np.std(near["VLOS"][young])


def test_identifiers_are_unique_2mass_style(population):
    ids = np.asarray(population["APOGEE_ID"])
    assert len(np.unique(ids)) == len(ids)
    assert all(re.fullmatch(r"2M\d{8}[+-]\d{7}", s) for s in ids[:500])
    assert apogee_id([286.4024], [42.9364])[0] == "2M19053658+4256110"
    assert np.all(population["KIC"][population["KIC"] < 0] == -1)


def test_same_seed_same_table_other_seed_other_table():
    a, b, c = draw_population(300, 100, 5), draw_population(300, 100, 5), draw_population(300, 100, 6)
    for name in a.colnames:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["MASS"], c["MASS"])


@pytest.mark.parametrize("n_stars, n_kepler", [(0, 0), (10, 11), (10, -1)])
def test_bad_counts_raise(n_stars, n_kepler):
    with pytest.raises(ValueError, match="n_"):
        draw_population(n_stars, n_kepler, 1)
