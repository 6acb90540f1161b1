"""Mock Kepler light curves (latentexplorer.mock.lightcurves, with the seismic model of latentexplorer.mock.oscillations)
and the Kepler llc writer (io.kepler)."""

import warnings

import numpy as np
import pytest
from astropy.io import fits

from latentexplorer import constants as C
from latentexplorer.io.kepler import flux_level_e_per_s, kepler_llc_filename, write_kepler_llc
from latentexplorer.mock import lightcurves as L
from latentexplorer.mock import oscillations as O
from latentexplorer.psd import compute_psd, frequency_grid
from latentexplorer.seismo import deltanu_from_numax, estimate_global_parameters

DT = C.KEPLER_LONG_CADENCE_DAYS


def star(numax, evolstate="RGB", kepmag=11.5, seed=0, **kwargs):
    return L.synthesize_light_curve(numax, float(deltanu_from_numax(numax)), evolstate, kepmag,
                                    np.random.default_rng(seed), **kwargs)


@pytest.fixture(scope="module")
def lc():
    return star(40.0, "RC", seed=1)


def test_same_generator_state_gives_the_same_light_curve():
    a, b, c = star(60.0, seed=5), star(60.0, seed=5), star(60.0, seed=6)
    np.testing.assert_array_equal(a.flux_ppm, b.flux_ppm)
    np.testing.assert_array_equal(a.quality, b.quality)
    assert a.time_days.size != c.time_days.size or not np.array_equal(a.flux_ppm, c.flux_ppm)


def test_long_cadence_sampling_over_four_years_with_quarterly_gaps(lc):
    steps = np.diff(lc.time_days) / DT
    np.testing.assert_allclose(steps, np.rint(steps), atol=1e-6)  # on the 29.4244-min grid
    assert lc.time_days[0] == pytest.approx(L.KEPLER_START_BKJD)
    assert 1465.0 < lc.time_days[-1] - lc.time_days[0] <= 1470.0
    gaps = np.diff(lc.time_days)
    assert np.count_nonzero(gaps > 0.9) >= 16  # a downlink every ~93 days plus safe modes
    assert np.count_nonzero(gaps > 3.0) >= 2  # safe-mode gaps
    assert 0.85 < lc.time_days.size / (1470.0 / DT) < 0.99
    assert lc.time_days.dtype == np.float64 and lc.quality.dtype == np.int32


def test_flagged_cadences_carry_bad_flux_and_are_in_lightkurves_default_mask(lc):
    from lightkurve.utils import KeplerQualityFlags

    flagged = ~lc.good
    assert 100 < flagged.sum() < 0.03 * lc.quality.size
    assert np.all(lc.quality[flagged] & KeplerQualityFlags.DEFAULT_BITMASK)
    good_scatter = np.std(lc.flux_ppm[lc.good])
    residual = np.abs(lc.flux_ppm[flagged] - np.median(lc.flux_ppm[lc.good]))
    assert np.median(residual) > 3 * good_scatter


def test_photon_noise_follows_the_kepler_magnitude():
    noise = L.photometric_noise_ppm([10.0, 12.0, 14.0])
    assert 50.0 < noise[1] < 70.0  # ~60 ppm per 29.4-min cadence at Kp = 12 (~17 ppm in 6.5 h)
    assert np.all(np.diff(noise) > 0)
    faint = star(8.0, kepmag=15.0, seed=2)  # a quiet, faint star: point-to-point scatter is photon noise
    consecutive = np.flatnonzero((np.diff(faint.time_days) < 1.5 * DT) & faint.good[:-1] & faint.good[1:])
    scatter = np.std(faint.flux_ppm[consecutive + 1] - faint.flux_ppm[consecutive]) / np.sqrt(2)
    assert scatter == pytest.approx(faint.flux_err_ppm[0], rel=0.1)


@pytest.mark.parametrize("evolstate, numax", [("RGB", 60.0), ("RC", 40.0)])
def test_mixed_dipole_modes_share_one_p_mode_of_power_per_order(evolstate, numax):
    params = O.draw_seismic_parameters(numax, float(deltanu_from_numax(numax)), evolstate,
                                       np.random.default_rng(3))
    nu, width, power, degree = O.mode_table(params, resolution_uhz=1 / (1470 * 0.0864))
    nu_p = nu[degree == 0] + (0.5 + params.d01) * params.deltanu
    _, frac, parent = O._mixed_dipole_modes(params, nu_p)
    orders = np.unique(parent)[1:-1]  # whole orders only
    np.testing.assert_allclose(np.bincount(parent, weights=frac)[orders], 1.0, atol=0.1)
    # one mixed mode per g-mode period, Δν / (ν² ΔΠ₁) of them per order, plus the p mode
    expected = params.deltanu / (nu_p[orders] ** 2 * params.deltapi1_s * 1e-6) + 1
    np.testing.assert_allclose(np.bincount(parent)[orders], expected, rtol=0.1, atol=1)
    assert np.all(width[degree == 1] <= params.linewidth + 1e-12)


def test_clump_dipole_power_is_spread_far_from_the_p_mode_in_the_mode_table():
    def concentration(evolstate):
        params = O.draw_seismic_parameters(40.0, 4.6, evolstate, np.random.default_rng(4))
        nu, _, power, degree = O.mode_table(params, resolution_uhz=0.00787)
        nu1, p1 = nu[degree == 1], power[degree == 1]
        phase = np.mod(nu1 / params.deltanu - params.epsilon - 0.5 - params.d01 + 0.5, 1.0) - 0.5
        return p1[np.abs(phase) < 0.1].sum() / p1.sum()

    assert concentration("RGB") > 0.7
    assert concentration("RC") < 0.6


@pytest.fixture(scope="module")
def recovered():
    """(true ν_max, S/N-peak ν_max, estimated ν_max, true Δν, estimated Δν) for a few stars, 4–250 μHz."""
    freq = frequency_grid()
    rows = []
    for i, (numax, evolstate) in enumerate([(8.0, "RGB"), (30.0, "RC"), (100.0, "RGB"), (220.0, "RGB")]):
        curve = star(numax, evolstate, kepmag=11.0, seed=10 + i)
        good = curve.good
        estimate = estimate_global_parameters(freq, compute_psd(curve.time_days[good], curve.flux_ppm[good]))
        rows.append((numax, _snr_peak(curve.seismic, curve.flux_err_ppm[0]), estimate.numax,
                     curve.seismic.deltanu, estimate.deltanu))
    return np.array(rows)


def _snr_peak(params, sigma_ppm):
    """Where the mode envelope over the background (granulation + photon noise) peaks, μHz: the hump
    of a background-flattened PSD sits there, a few per cent above ν_max."""
    f = np.linspace(1.0, 280.0, 50000)
    background = O.granulation_psd(f, params) * L._apodisation(f) + 2e-6 * sigma_ppm**2 * L._CADENCE_S
    envelope = np.exp(-0.5 * ((f - params.numax) / params.envelope_sigma) ** 2) * L._apodisation(f)
    return f[np.argmax(envelope / background)]


def test_flattened_psd_hump_sits_where_the_envelope_over_background_peaks(recovered):
    snr_peak, estimate = recovered[:, 1], recovered[:, 2]
    offset = np.abs(estimate / snr_peak - 1)
    assert np.all(offset < 0.1) and np.median(offset) < 0.05


def test_psd_recovers_the_large_separation(recovered):
    np.testing.assert_allclose(recovered[:, 4], recovered[:, 3], rtol=0.02)


def test_clump_and_rgb_psds_differ_in_dipole_concentration():
    freq = frequency_grid()

    def concentration(curve):
        p = curve.seismic
        log_psd = compute_psd(curve.time_days[curve.good], curve.flux_ppm[curve.good])
        phase = np.mod(freq / p.deltanu - p.epsilon, 1.0)
        dipole = (np.abs(freq - p.numax) < 3 * p.deltanu) & (phase > 0.2) & (phase < 0.75)
        excess = np.clip(np.expm1(log_psd[dipole]), 0.0, None)
        return excess[np.abs(phase[dipole] - 0.5 - p.d01) < 0.06].sum() / excess.sum()

    rgb = [concentration(star(numax, "RGB", seed=20 + i)) for i, numax in enumerate((32.0, 40.0, 50.0))]
    rc = [concentration(star(numax, "RC", seed=30 + i)) for i, numax in enumerate((32.0, 40.0, 50.0))]
    assert min(rgb) > max(rc)
    assert np.mean(rgb) - np.mean(rc) > 0.1


# --- amplitudes that follow the published fits to Kepler giants --------------------------------------


def deltanu_of(numax, mass, teff):
    """Δν (μHz) of a star of ν_max (μHz), mass (M☉) and Teff (K) on the scaling relations."""
    t = np.asarray(teff) / C.TEFF_SUN_K
    radius2 = mass * t**-0.5 / (numax / C.NUMAX_SUN_UHZ)
    return C.DELTANU_SUN_UHZ * np.sqrt(mass / radius2**1.5)


@pytest.fixture(scope="module")
def population():
    """20,000 giants drawn over ν_max 8–200 μHz, 0.8–2.6 M☉, 4,300–5,100 K, with their drawn parameters."""
    rng = np.random.default_rng(42)
    n = 20_000
    numax = np.exp(rng.uniform(np.log(8.0), np.log(200.0), n))
    mass = rng.uniform(0.8, 2.6, n)
    teff = rng.uniform(4300.0, 5100.0, n)
    state = np.where(rng.random(n) < 0.3, "RC", "RGB")
    deltanu = deltanu_of(numax, mass, teff)
    return [O.draw_seismic_parameters(*row, rng, teff=t) for *row, t in zip(numax, deltanu, state, teff)]


def _fit(y, *columns):
    """Least-squares coefficients of y on [1, columns...] and their standard errors."""
    X = np.column_stack([np.ones_like(y), *columns])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    cov = np.linalg.inv(X.T @ X) * resid.var(ddof=X.shape[1])
    return coef[1:], np.sqrt(np.diag(cov))[1:]


def test_drawn_stars_carry_their_scaling_mass_and_luminosity(population):
    p = population[0]
    t = p.teff / C.TEFF_SUN_K
    radius = (p.numax / C.NUMAX_SUN_UHZ) * (p.deltanu / C.DELTANU_SUN_UHZ) ** -2 * t**0.5
    assert p.mass == pytest.approx((p.numax / C.NUMAX_SUN_UHZ) ** 3 * (p.deltanu / C.DELTANU_SUN_UHZ) ** -4 * t**1.5)
    assert p.luminosity == pytest.approx(radius**2 * t**4)


def test_radial_mode_amplitudes_recover_huber_et_al_2011_exponents(population):
    """A ∝ L^s / (M^t Teff c_K): Huber et al. (2011) fitted s = 0.838 ± 0.002, t = 1.32 ± 0.02."""
    lum, mass, teff, amax = (np.array([getattr(p, k) for p in population])
                             for k in ("luminosity", "mass", "teff", "amax_ppm"))
    y = np.log(amax * teff * (teff / 5934.0) ** 0.8)
    (s, minus_t), _ = _fit(y, np.log(lum), np.log(mass))
    assert s == pytest.approx(0.838, abs=0.002)
    assert -minus_t == pytest.approx(1.32, abs=0.02)


def test_radial_mode_amplitude_falls_with_mass_at_fixed_numax():
    # at fixed ν_max and Teff, L ∝ M: A ∝ M^(s − t) = M^-0.48
    numax, teff = 60.0, 4800.0
    lum = lambda m: m * (teff / C.TEFF_SUN_K) ** 3.5 / (numax / C.NUMAX_SUN_UHZ)  # noqa: E731
    ratio = O.radial_mode_amplitude(lum(2.0), 2.0, teff) / O.radial_mode_amplitude(lum(1.0), 1.0, teff)
    assert ratio == pytest.approx(2.0 ** (0.838 - 1.32), rel=1e-9)
    assert O.radial_mode_amplitude(lum(1.2) * (60.0 / 100.0), 1.2, teff) == pytest.approx(40.0)


def test_granulation_amplitudes_recover_kallinger_et_al_2014_exponents(population):
    """a = 3710 ν_max^-0.613 M^-0.26 ppm (Kallinger et al. 2014)."""
    numax, mass, gran = (np.array([getattr(p, k) for p in population]) for k in ("numax", "mass", "granulation_ppm"))
    (b_numax, b_mass), _ = _fit(np.log(gran[:, 0]), np.log(numax), np.log(mass))
    assert b_numax == pytest.approx(-0.613, abs=0.005)
    assert b_mass == pytest.approx(-0.26, abs=0.01)


def test_mode_table_carries_the_drawn_radial_amplitude():
    """The smoothed mode power within Δν of ν_max, over the total visibility, gives back A_max² (the
    Kjeldsen et al. 2008 way of measuring amplitudes), for light and heavy, RGB and clump stars."""
    for i, (numax, mass, state) in enumerate([(30.0, 1.0, "RC"), (30.0, 2.2, "RC"), (90.0, 1.0, "RGB"),
                                               (90.0, 2.2, "RGB")]):
        params = O.draw_seismic_parameters(numax, deltanu_of(numax, mass, 4800.0), state, np.random.default_rng(i))
        nu, _, power, _ = O.mode_table(params, resolution_uhz=1 / (1470 * 0.0864))
        near = np.abs(nu - numax) < params.deltanu  # two orders: phase-independent
        measured = np.sqrt(power[near].sum() / 2.0 / sum(O._VISIBILITY2))
        assert measured == pytest.approx(params.amax_ppm, rel=0.06)


def test_height_to_background_ratio_near_numax_stays_at_the_observed_three_to_four(population):
    """Mosser et al. (2012): the smoothed oscillation height over the background at ν_max is ~3–4."""
    ratio = np.array([sum(O._VISIBILITY2) * p.amax_ppm**2 / p.deltanu / O.granulation_psd(np.array([p.numax]), p)[0]
                      for p in population])
    assert 3.0 < np.median(ratio) < 4.0


def test_a_heavier_giant_has_a_lower_envelope_over_background_in_its_model_psd():
    """At the same ν_max and Teff the smoothed mode power over the granulation background falls with mass:
    A² ∝ M^-0.96 (Huber), spread over Δν ∝ M^-0.25, against a² ∝ M^-0.52 (Kallinger): H/B ∝ M^-0.19.
    (Before, with amplitudes of ν_max alone, H/B grew as M^0.25.)"""
    n_fft = 71_980

    def height_over_background(mass):
        params = O.draw_seismic_parameters(50.0, deltanu_of(50.0, mass, 4800.0), "RGB", np.random.default_rng(0))
        freq, _, total = L._signal_psd(params, n_fft)
        background = O.granulation_psd(freq, params) * L._apodisation(freq) \
            + O.granulation_psd(2.0 * L._NYQUIST_UHZ - freq, params) * L._apodisation(2.0 * L._NYQUIST_UHZ - freq)
        near = np.abs(freq - 50.0) < params.deltanu  # two whole orders: smoothed over the mode pattern
        return np.mean(total[near] - background[near]) / np.mean(background[near])

    # the same generator state draws the same scatter terms, so the ratio is the relations' alone
    assert height_over_background(2.2) / height_over_background(1.0) == pytest.approx(2.2**-0.19, rel=0.03)


@pytest.mark.parametrize("kwargs, word", [
    (dict(numax=300.0), "numax"), (dict(deltanu=50.0), "deltanu"), (dict(evolstate="AGB"), "evolstate"),
    (dict(kepmag=np.nan), "kepmag"),
])
def test_bad_star_parameters_raise_a_clear_error(kwargs, word):
    args = dict(numax=40.0, deltanu=4.5, evolstate="RGB", kepmag=12.0) | kwargs
    with pytest.raises(ValueError, match=word):
        L.synthesize_light_curve(rng=np.random.default_rng(0), **args)


def test_batch_yields_none_for_a_bad_row_and_goes_on():
    curves = list(L.iter_light_curves([40.0, 40.0, 80.0], [4.5, 4.5, 7.6], ["RGB", "XX", "RC"],
                                      [12.0, 12.0, 12.0], 7, baseline_days=100.0))
    assert curves[1] is None
    assert curves[0].seismic.evolstate == "RGB" and curves[2].seismic.evolstate == "RC"
    again = next(L.iter_light_curves([40.0], [4.5], ["RGB"], [12.0], 7, baseline_days=100.0))
    np.testing.assert_array_equal(again.flux_ppm, curves[0].flux_ppm)


# --- the Kepler llc writer ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llc_file(tmp_path_factory, lc):
    path = tmp_path_factory.mktemp("kepler") / kepler_llc_filename(8006161)
    write_kepler_llc(path, 8006161, lc.time_days, lc.flux_ppm, lc.flux_err_ppm, lc.quality, kepmag=11.5,
                     ra=290.5, dec=44.1)
    return path


def test_filename_follows_the_archive_pattern():
    name = kepler_llc_filename(757076)
    assert name.startswith("kplr000757076-2013131") and name.endswith("_llc.fits") and len(name) == 36


def test_llc_round_trips_through_astropy(llc_file, lc):
    level = flux_level_e_per_s(11.5)
    with fits.open(llc_file) as hdul:
        head, data = hdul[0].header, hdul["LIGHTCURVE"].data
        assert (head["KEPLERID"], head["OBJECT"], head["TELESCOP"], head["MISSION"]) == (
            8006161, "KIC 8006161", "Kepler", "Kepler")
        assert (head["KEPMAG"], head["RA_OBJ"], head["DEC_OBJ"]) == (11.5, 290.5, 44.1)
        assert hdul["LIGHTCURVE"].header["TUNIT1"] == "BJD - 2454833"
        assert hdul["LIGHTCURVE"].header["BJDREFI"] == 2454833
        np.testing.assert_array_equal(data["TIME"], lc.time_days)
        np.testing.assert_array_equal(data["SAP_QUALITY"], lc.quality)
        np.testing.assert_array_equal(data["PDCSAP_FLUX"], np.float32(level * (1 + 1e-6 * lc.flux_ppm)))
        np.testing.assert_array_equal(data["PDCSAP_FLUX_ERR"], np.float32(level * 1e-6 * lc.flux_err_ppm))
        assert np.all(np.diff(data["CADENCENO"]) >= 1)
        assert hdul["LIGHTCURVE"].columns["SAP_FLUX"].unit == "e-/s"


def test_llc_opens_in_lightkurve_without_flagged_cadences(llc_file, lc):
    import lightkurve

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read = lightkurve.read(str(llc_file))
    assert type(read).__name__ == "KeplerLightCurve"
    assert read.meta["KEPLERID"] == 8006161 and read.time.format == "bkjd"
    assert len(read) == lc.good.sum()
    np.testing.assert_allclose(read.time.value, lc.time_days[lc.good], rtol=0, atol=1e-9)
    ppm = (read.flux.value / flux_level_e_per_s(11.5) - 1) * 1e6
    np.testing.assert_allclose(ppm, lc.flux_ppm[lc.good], rtol=0, atol=0.1)  # float32 e-/s ≈ 0.06 ppm


def test_writer_is_byte_deterministic_and_leaves_no_temporary_file(tmp_path, lc):
    paths = [tmp_path / f"{i}.fits" for i in range(2)]
    for path in paths:
        write_kepler_llc(path, 11, lc.time_days[:500], lc.flux_ppm[:500], lc.flux_err_ppm[:500],
                         lc.quality[:500])
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.fits", "1.fits"]


@pytest.mark.parametrize("change, word", [
    (dict(kic=-3), "kic"), (dict(flux_ppm=np.zeros(3)), "length"),
    (dict(time_days=np.array([3.0, 2.0, 1.0, 0.5])), "increasing"), (dict(quality=np.full(4, 0.5)), "quality"),
])
def test_writer_rejects_bad_input(tmp_path, change, word):
    args = dict(kic=5, time_days=np.arange(4.0), flux_ppm=np.zeros(4), flux_err_ppm=np.ones(4),
                quality=np.zeros(4, int)) | change
    with pytest.raises(ValueError, match=word):
        write_kepler_llc(tmp_path / "x.fits", **args)
    assert not any(tmp_path.iterdir())
