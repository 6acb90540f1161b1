"""Galactocentric coordinates, galpy orbit parameters, orbit integration and the disk age maps."""

import numpy as np
import pytest
from astropy.table import Table
from galpy.actionAngle import estimateDeltaStaeckel
from galpy.orbit import Orbit
from galpy.potential import MWPotential2014, vcirc

from latentexplorer import cli, galaxy
from latentexplorer.constants import R0_KPC, VSUN_KMS, ZSUN_KPC
from latentexplorer.galaxy import (
    OrbitFlag,
    abundance_age_map,
    age_alpha_map,
    age_distributions,
    galactocentric,
    heliocentric,
    integrate_orbit,
    is_high_alpha,
    median_age_table,
    orbit_parameters,
    quality_mask,
    rz_abundance_age_maps,
    rz_age_map,
    staeckel_delta,
)
from latentexplorer.galaxy.coordinates import SOLAR_MOTION_UW_KMS, SOLAR_PECULIAR_V_KMS, VCIRC_KMS
from latentexplorer.io.orbits import read_orbits


def disk_stars(n, seed=0):
    """Heliocentric observables of a warm disk population (a dict of six arrays)."""
    rng = np.random.default_rng(seed)
    R = rng.uniform(3.0, 15.0, n)
    vc = vcirc(MWPotential2014, R / R0_KPC) * VCIRC_KMS
    obs = heliocentric(R, rng.uniform(-0.6, 0.6, n), rng.normal(0.0, 0.6, n), rng.normal(0, 35, n),
                       vc - np.abs(rng.normal(0, 25, n)), rng.normal(0, 25, n))
    return {name: np.asarray(obs[name]) for name in obs.colnames}


def galpy_orbit(obs):
    """The same stars set up by galpy's own radec transformation, with the paper's frame."""
    u_sun, w_sun = SOLAR_MOTION_UW_KMS
    vxvv = np.stack([obs[k] for k in ("ra", "dec", "dist", "pmra", "pmdec", "vlos")], axis=1)
    return Orbit(vxvv, radec=True, ro=R0_KPC, vo=VCIRC_KMS, zo=ZSUN_KPC,
                 solarmotion=[-u_sun, SOLAR_PECULIAR_V_KMS, w_sun])


def circular_star(R_kpc=7.0, phi_rad=0.4):
    vc = float(vcirc(MWPotential2014, R_kpc / R0_KPC)) * VCIRC_KMS
    obs = heliocentric([R_kpc], [phi_rad], [0.0], [0.0], [vc], [0.0])
    return [float(obs[name][0]) for name in obs.colnames], vc


# --- coordinates -------------------------------------------------------------------------------------------


def test_sun_maps_to_R0_and_zsun():
    sun = galactocentric(123.0, -45.0, 0.0, 0.0, 0.0, 0.0)
    assert sun["R"][0] == pytest.approx(R0_KPC, abs=1e-12)
    assert sun["z"][0] == pytest.approx(ZSUN_KPC, abs=1e-12)
    assert sun["phi"][0] == pytest.approx(0.0, abs=1e-12)
    assert sun["vT"][0] == pytest.approx(VSUN_KMS, abs=1e-9)
    assert sun["vR"][0] == pytest.approx(-SOLAR_MOTION_UW_KMS[0], abs=1e-9)  # U points to the centre
    assert sun["vz"][0] == pytest.approx(SOLAR_MOTION_UW_KMS[1], abs=1e-9)


def test_astropy_and_galpy_transformations_agree():
    obs = disk_stars(400)
    ours = galactocentric(*obs.values())
    theirs = galpy_orbit(obs)
    for name, galpy_values in (("R", theirs.R()), ("z", theirs.z()), ("vT", theirs.vT()), ("vR", theirs.vR()),
                               ("vz", theirs.vz()), ("phi", theirs.phi())):
        np.testing.assert_allclose(ours[name], galpy_values, rtol=1e-6, atol=1e-9, err_msg=name)


def test_heliocentric_inverts_galactocentric():
    obs = disk_stars(50, seed=3)
    back = heliocentric(*(galactocentric(*obs.values())[c] for c in ("R", "phi", "z", "vR", "vT", "vz")))
    for name in obs:
        np.testing.assert_allclose(back[name], obs[name], rtol=1e-9, atol=1e-9, err_msg=name)


def test_missing_velocity_keeps_position():
    out = galactocentric([10.0, 10.0], [5.0, 5.0], [2.0, 2.0], [1.0, np.nan], [2.0, 2.0], [30.0, 30.0])
    assert out["R"][1] == out["R"][0] and out["z"][1] == out["z"][0]
    assert np.isnan(out["vR"][1]) and np.isnan(out["vT"][1]) and np.isnan(out["vz"][1])


def test_incompatible_shapes_raise():
    with pytest.raises(ValueError, match="incompatible shapes"):
        galactocentric([1.0, 2.0], [1.0, 2.0, 3.0], 1.0, 0.0, 0.0, 0.0)


# --- orbits ------------------------------------------------------------------------------------------------


def test_staeckel_delta_matches_galpy_estimate():
    obs = galactocentric(*disk_stars(40, seed=1).values())
    R, z = np.asarray(obs["R"]) / R0_KPC, np.asarray(obs["z"]) / R0_KPC
    np.testing.assert_allclose(staeckel_delta(MWPotential2014, R, z),
                               estimateDeltaStaeckel(MWPotential2014, R, z.copy(), no_median=True), rtol=1e-12)


def test_orbit_parameters_match_galpy_orbit_api():
    obs = disk_stars(30, seed=2)
    ours = orbit_parameters(*obs.values())
    o = galpy_orbit(obs)
    pot = MWPotential2014
    assert np.all(ours["FLAG"] == 0)
    np.testing.assert_allclose(ours["Lz"], o.Lz(), rtol=1e-6)
    np.testing.assert_allclose(ours["Jr"], o.jr(pot=pot, type="staeckel"), rtol=1e-6)
    np.testing.assert_allclose(ours["Jz"], o.jz(pot=pot, type="staeckel"), rtol=1e-6)
    np.testing.assert_allclose(ours["ecc"], o.e(pot=pot, analytic=True, type="staeckel"), rtol=1e-6)
    np.testing.assert_allclose(ours["zmax"], o.zmax(pot=pot, analytic=True, type="staeckel"), rtol=1e-6)
    np.testing.assert_allclose(ours["rguide"], o.rguiding(pot=pot), rtol=1e-6)


def test_circular_orbit_has_zero_eccentricity_and_keeps_lz():
    star, vc = circular_star()
    params = orbit_parameters(*star)
    assert params["FLAG"][0] == 0
    assert params["Lz"][0] == pytest.approx(7.0 * vc, rel=1e-9)
    assert params["ecc"][0] < 1e-4
    assert params["Jr"][0] < 1e-3  # kpc km/s, vs L_z ≈ 1600
    assert params["zmax"][0] < 1e-3
    assert params["rguide"][0] == pytest.approx(7.0, rel=1e-6)
    track = integrate_orbit(*star, t_gyr=1.0, n_steps=501)
    np.testing.assert_allclose(track.Lz, params["Lz"][0], rtol=1e-9)
    np.testing.assert_allclose(track.R, 7.0, rtol=1e-6)


def test_integrated_orbit_conserves_energy():
    obs = disk_stars(1, seed=5)
    track = integrate_orbit(*(v[0] for v in obs.values()), t_gyr=3.0)
    assert track.t_gyr.shape == track.x.shape == track.R.shape == (3001,)
    assert track.t_gyr[-1] == pytest.approx(3.0)
    assert np.ptp(track.R) > 0.2  # a genuinely eccentric orbit
    assert np.max(np.abs(track.energy / track.energy[0] - 1.0)) < 1e-6
    np.testing.assert_allclose(np.hypot(track.x, track.y), track.R, rtol=1e-12)
    assert track.R[0] == pytest.approx(galactocentric(*(v[0] for v in obs.values()))["R"][0], rel=1e-9)


def test_integrate_orbit_rejects_bad_star():
    with pytest.raises(ValueError, match="positive distance"):
        integrate_orbit(10.0, 20.0, np.nan, 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="one star"):
        integrate_orbit([10.0, 11.0], 20.0, 1.0, 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="t_gyr"):
        integrate_orbit(10.0, 20.0, 1.0, 1.0, 1.0, 0.0, t_gyr=-1.0)


def test_bad_rows_get_nan_and_flags_and_batch_continues():
    obs = disk_stars(8, seed=4)
    bad = {k: v.copy() for k, v in obs.items()}
    bad["dist"][0] = np.nan
    bad["dist"][1] = -9999.0
    bad["vlos"][2] = np.nan
    bad["pmra"][3] = np.inf
    bad["vlos"][4] = 3000.0  # escapes the Galaxy
    out = orbit_parameters(*bad.values())
    assert list(out["FLAG"]) == [OrbitFlag.MISSING_POSITION] * 2 + [OrbitFlag.MISSING_VELOCITY] * 2 + [
        OrbitFlag.UNBOUND] + [0] * 3
    assert np.all(np.isnan([out[c][0] for c in out.colnames if c != "FLAG"]))
    assert np.isfinite(out["R"][2]) and np.isnan(out["vT"][2]) and np.isnan(out["Jr"][2])
    assert np.isfinite(out["Lz"][4]) and np.isnan(out["Jr"][4]) and np.isnan(out["ecc"][4])
    alone = orbit_parameters(*(v[5:] for v in obs.values()))
    for name in ("Jr", "Jz", "ecc", "zmax", "rguide"):
        np.testing.assert_allclose(out[name][5:], alone[name], rtol=1e-12)


# --- maps --------------------------------------------------------------------------------------------------


def test_is_high_alpha_follows_eq8():
    feh = np.array([-0.5, -0.5, 0.3, 0.3, 0.0, np.nan])
    alpha = np.array([0.20, 0.14, 0.06, 0.04, 0.045, 0.2])
    # thresholds: max(-0.2211 feh + 0.0442, 0.05) = 0.15, 0.15, 0.05, 0.05, 0.05
    np.testing.assert_array_equal(is_high_alpha(feh, alpha), [True, False, True, False, False, False])


def test_quality_mask_applies_section_71_cuts():
    age = np.array([5.0, 5.0, 5.0, 5.0, 5.0, np.nan, 5.0])
    err = np.array([1.0, 2.5, 1.0, 1.0, 1.0, 1.0, 1.0])
    starflag = np.array([0, 0, 4, 0, 0, 0, 0])
    aspcapflag = np.array([0, 0, 0, 8, 0, 0, 0])
    snr = np.array([100, 100, 100, 100, 20, 100, 100])
    logg = np.array([3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.5])
    np.testing.assert_array_equal(quality_mask(age, err, starflag, aspcapflag, snr),
                                  [True, False, False, False, False, False, True])
    np.testing.assert_array_equal(quality_mask(age, err, starflag, aspcapflag, snr, logg=logg, logg_range=(2.5, 3.3)),
                                  [True, False, False, False, False, False, False])
    with pytest.raises(ValueError, match="starflag"):
        quality_mask(age, err, starflag[:3], aspcapflag, snr)


def test_abundance_age_map_bins_mean_age_in_image_orientation():
    feh = np.array([-0.5, -0.5, -0.5, 0.2, 0.2])
    alpha = np.array([0.25, 0.25, 0.25, 0.0, 0.0])
    age = np.array([10.0, 11.0, 12.0, 2.0, 4.0])
    m = abundance_age_map(feh, alpha, age, feh_edges=[-1, 0, 0.5], alpha_edges=[-0.1, 0.1, 0.3], min_count=2)
    assert m.statistic.shape == (2, 2)  # (alpha bins, feh bins)
    np.testing.assert_allclose(m.statistic, [[np.nan, 3.0], [11.0, np.nan]])
    np.testing.assert_array_equal(m.counts, [[0, 2], [3, 0]])
    m3 = abundance_age_map(feh, alpha, age, feh_edges=[-1, 0, 0.5], alpha_edges=[-0.1, 0.1, 0.3], min_count=3)
    assert np.isnan(m3.statistic[0, 1]) and m3.statistic[1, 0] == 11.0


def test_age_alpha_map_has_median_relation_and_mean_lz():
    rng = np.random.default_rng(0)
    age = rng.uniform(0, 14, 20_000)
    alpha = 0.02 * age + rng.normal(0, 0.05, age.size)
    lz = 2000.0 - 50.0 * age
    m = age_alpha_map(age, alpha, lz, alpha_edges=np.linspace(-0.3, 0.6, 19))
    np.testing.assert_allclose(m.relation.median, 0.02 * m.relation.x_centers, atol=0.006)
    np.testing.assert_allclose(m.relation.upper - m.relation.lower, 0.1, atol=0.01)  # ±1σ of 0.05 dex
    ok = np.isfinite(m.statistic)
    centers = 0.5 * (m.x_edges[1:] + m.x_edges[:-1])
    expected = np.broadcast_to(2000.0 - 50.0 * centers, m.statistic.shape)
    np.testing.assert_allclose(m.statistic[ok], expected[ok], atol=50.0 * 0.5 / 2 + 1)  # within half a bin


def test_rz_maps_select_the_right_stars():
    R = np.array([4.0, 4.0, 12.0, 12.0, 12.0, 8.0])
    z = np.array([0.2, -0.3, 1.5, -1.2, 0.1, 5.0])
    age = np.array([9.0, 11.0, 2.0, 4.0, 1.0, 13.0])
    feh = np.zeros(6)
    alpha = np.array([0.2, 0.2, 0.0, 0.0, 0.0, 0.0])
    grid = rz_abundance_age_maps(R, z, feh, alpha, age, min_count=1)
    assert len(grid.panels) == 3 and len(grid.panels[0]) == 5
    assert np.nanmax(grid.panels[0][0].statistic) == 10.0  # 3<R<5, |z|<0.5: median of 9 and 11
    assert np.nanmax(grid.panels[2][4].statistic) == 3.0  # 11<R<13, 1<|z|<2: median of 2 and 4
    assert sum(p.counts.sum() for row in grid.panels for p in row) == 5  # |z| = 5 kpc is outside
    rz = rz_age_map(R, z, age, R_edges=[0, 10, 20], z_edges=[-2, 0, 2], min_count=1)
    np.testing.assert_allclose(rz.statistic, [[11.0, 4.0], [9.0, 1.5]])


def test_age_distributions_split_regions_and_sequences():
    R = np.array([4.0, 4.5, 5.0, 11.0, 12.0, 8.0])
    age = np.array([10.5, 3.5, 9.5, 2.5, 10.5, 5.0])
    feh = np.array([-0.5, 0.0, -0.4, -0.2, -0.6, 0.0])
    alpha = np.array([0.25, 0.0, 0.22, 0.0, 0.25, 0.0])
    d = age_distributions(R, age, feh, alpha, age_edges=np.arange(0, 15, 1.0))
    inner, outer = d.counts["inner"], d.counts["outer"]
    assert inner["all"].sum() == 3 and inner["high_alpha"].sum() == 2 and inner["low_alpha"][3] == 1
    assert outer["high_alpha"][10] == 1 and outer["low_alpha"][2] == 1
    assert np.sum(d.density("inner", "all") * np.diff(d.age_edges)) == pytest.approx(1.0)


def test_median_age_table_rows_line_up():
    R = np.array([4.0, 5.0, 11.0, 12.0])
    absz = np.array([0.1, 0.3, 1.5, 0.2])
    table = median_age_table(R, absz, [8.0, 10.0, 3.0, 2.0], R_edges=[3, 8, 13], z_edges=[0, 1, 2])
    assert len(table) == 4
    assert list(table["R_min"]) == [3, 8, 3, 8] and list(table["absz_min"]) == [0, 0, 1, 1]
    np.testing.assert_allclose(table["median_age"], [9.0, 2.0, np.nan, 3.0])
    assert list(table["N"]) == [2, 1, 0, 1]


# --- command line ------------------------------------------------------------------------------------------


def test_cli_orbits_truth_and_allstar_style(tmp_path, capsys):
    obs = disk_stars(5, seed=6)
    truth = Table({"APOGEE_ID": [f"2M{i:08d}" for i in range(5)], "RA": obs["ra"], "DEC": obs["dec"],
                   "DIST": obs["dist"], "PMRA": obs["pmra"], "PMDEC": obs["pmdec"], "VLOS": obs["vlos"]})
    truth["DIST"][1] = np.nan
    truth.write(tmp_path / "truth.fits")
    assert cli.main(["orbits", str(tmp_path / "truth.fits"), "-o", str(tmp_path / "orbits.fits"),
                     "--chunk-size", "2"]) == 0
    out = read_orbits(tmp_path / "orbits.fits")
    assert out.colnames == ["APOGEE_ID", "R", "phi", "z", "vR", "vT", "vz", "Lz", "Jr", "Jz", "ecc", "zmax",
                            "rguide", "FLAG"]
    assert list(out["APOGEE_ID"]) == list(truth["APOGEE_ID"])
    assert list(out["FLAG"]) == [0, OrbitFlag.MISSING_POSITION, 0, 0, 0]
    expected = orbit_parameters(*obs.values())
    np.testing.assert_allclose(out["Jz"][[0, 2, 3, 4]], expected["Jz"][[0, 2, 3, 4]], rtol=1e-12)
    assert "1 flagged" in capsys.readouterr().out

    allstar = Table({"APOGEE_ID": truth["APOGEE_ID"], "RA": obs["ra"], "DEC": obs["dec"], "DIST": obs["dist"],
                     "GAIAEDR3_PMRA": obs["pmra"], "GAIAEDR3_PMDEC": obs["pmdec"], "VHELIO_AVG": obs["vlos"]})
    allstar["VHELIO_AVG"][3] = -9999.0
    allstar.write(tmp_path / "allStar.fits")
    assert cli.main(["orbits", str(tmp_path / "allStar.fits")]) == 0
    out = read_orbits(tmp_path / "orbits.fits")  # default output beside the catalog
    assert list(out["FLAG"]) == [0, 0, 0, OrbitFlag.MISSING_VELOCITY, 0]


def test_cli_orbits_reports_missing_columns(tmp_path, capsys):
    Table({"APOGEE_ID": ["a"], "RA": [1.0], "DEC": [2.0], "DIST": [1.0]}).write(tmp_path / "cat.fits")
    assert cli.main(["orbits", str(tmp_path / "cat.fits"), "-o", str(tmp_path / "o.fits")]) == 2
    assert "VHELIO_AVG" in capsys.readouterr().err
    assert not (tmp_path / "o.fits").exists()


def test_quality_mask_leaves_out_flagged_ages_when_given_age_flag():
    age, err = np.full(3, 5.0), np.full(3, 1.0)
    zero, snr = np.zeros(3, int), np.full(3, 100.0)
    assert quality_mask(age, err, zero, zero, snr, age_flag=[0, 64, 128]).tolist() == [True, False, False]


def test_map_ages_are_ten_to_the_log_age_with_the_log_error_carried():
    from latentexplorer.galaxy import map_ages

    age, err = map_ages(np.ma.masked_array([0.5, 1.0, 0.0], mask=[False, False, True]), [0.1, 0.05, 0.1])
    np.testing.assert_allclose(age[:2], [10**0.5, 10.0])
    np.testing.assert_allclose(err[:2], [10**0.5 * np.log(10) * 0.1, 10.0 * np.log(10) * 0.05])
    assert np.isnan(age[2]) and np.isnan(err[2])


def test_truth_comparison_differences_the_bin_medians_and_lists_the_big_cells():
    from latentexplorer.galaxy import rz_truth_comparison

    rng = np.random.default_rng(3)
    R, z = rng.uniform(4.0, 12.0, 5000), rng.normal(0.0, 0.3, 5000)
    truth = np.where(R > 8.0, 3.0, 9.0) + rng.normal(0.0, 0.5, R.size)
    age = truth + np.where(R > 8.0, 2.0, 0.0)  # the outer disk 2 Gyr too old
    comparison = rz_truth_comparison(R, z, age, truth, min_count=20)
    cells = comparison.cells(min_count=100)
    assert cells and all(c["n"] >= 100 for c in cells)
    for cell in cells:
        outer = cell["R"][0] >= 8.0
        assert cell["difference"] == pytest.approx(2.0 if outer else 0.0, abs=1e-9)
        assert cell["within"] is (not outer)
    assert comparison.residual.value_label.startswith("median age − median true age")


@pytest.mark.parametrize("statistic", ["mean", "median"])
def test_binned_statistics_are_scipys(statistic):
    """The maps' numpy binning gives scipy.stats.binned_statistic_2d's numbers, values on the edges and
    outside them included (the last bin holds its right edge)."""
    from scipy.stats import binned_statistic_2d

    rng = np.random.default_rng(3)
    x_edges, y_edges = np.linspace(0.0, 20.0, 41), np.linspace(-3.0, 3.0, 31)
    x = np.concatenate([rng.uniform(-1.0, 21.0, 5000), x_edges, [20.0, 20.0]])
    y = np.concatenate([rng.normal(0.0, 1.2, 5000), np.linspace(-3.0, 3.0, 41), [3.0, -3.0]])
    values = rng.lognormal(1.0, 0.6, x.size)
    ours, counts = galaxy.binned_statistic_grid(x, y, values, x_edges, y_edges, statistic)
    theirs = binned_statistic_2d(x, y, values, statistic=statistic, bins=[x_edges, y_edges]).statistic
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(counts, np.histogram2d(x, y, bins=[x_edges, y_edges])[0])


def test_binned_statistics_refuse_what_they_do_not_compute():
    with pytest.raises(ValueError, match="statistic must be one of"):
        galaxy.binned_statistic_grid([1.0], [1.0], [1.0], [0.0, 2.0], [0.0, 2.0], "std")
