"""latentexplorer.psd: the light curve → 2092-pixel log PSD chain (paper section 4.2)."""

import warnings

import numpy as np
import pytest
from astropy.timeseries import LombScargle

from latentexplorer import psd, seismo
from latentexplorer.psd_reference import compute_psd_lightkurve
from synthetic import KEPLER_4YR_DAYS, kepler_cadences, oscillating_star, white_noise


def eq4(i):
    x = np.asarray(i) / 2092
    return 77.35 * x**4 + 102.55 * x**3 + 68.96 * x**2 + 18.47 * x + 2.00


class TestFrequencyGrid:
    def test_has_2092_pixels_from_2_to_about_269_uhz(self):
        f = psd.frequency_grid()
        assert f.shape == (2092,)
        assert f[0] == 2.0
        assert f[-1] == pytest.approx(269.0, abs=0.5)
        assert np.all(np.diff(f) > 0)

    def test_agrees_with_paper_eq4_within_0p04_uhz_everywhere(self):
        assert np.max(np.abs(psd.frequency_grid() - eq4(np.arange(2092)))) < 0.04

    def test_resolves_deltanu_by_about_50_pixels_at_any_numax(self):
        f = psd.frequency_grid()
        pixels_per_dnu = seismo.deltanu_from_numax(f[:-1]) / np.diff(f)
        assert 49 < pixels_per_dnu.min() and pixels_per_dnu.max() < 55


def test_native_grid_is_2_to_270_uhz_at_0p009():
    f = psd.native_frequency()
    assert f.size == 29779
    assert np.allclose(np.diff(f), 0.009)
    assert f[0] == 2.0 and f[-1] == pytest.approx(270.0, abs=0.01)


def test_power_spectrum_matches_astropy_lombscargle():
    t, y = oscillating_star(60.0, 6.0, seed=4)
    freq, power = psd.power_spectrum(t, y)
    every = slice(None, None, 37)  # astropy's exact method is O(N_t N_f): check a sample of frequencies
    reference = LombScargle(t, y, normalization="psd").power(freq[every] * 0.0864, method="cython")
    reference = reference * 2.0 / (t.size * (1e6 / 86400.0 / np.ptp(t)))
    error = power[every] - reference  # FINUFFT at the requested precision: l2 error ~7e-6 of the spectrum's
    assert np.linalg.norm(error) < psd.NUFFT_EPS * np.linalg.norm(reference)
    assert np.abs(error).max() < psd.NUFFT_EPS * reference.max()


def test_white_noise_flattens_to_a_mean_of_one():
    t, y = white_noise(seed=2)
    freq, power = psd.power_spectrum(t, y)
    assert psd.flatten(freq, power).mean() == pytest.approx(1.0, abs=0.05)
    assert np.exp(psd.compute_psd(t, y)).mean() == pytest.approx(1.0, abs=0.05)


def test_flatten_treats_each_row_of_a_batch_like_a_single_spectrum():
    t, y = white_noise(seed=3)
    freq, power = psd.power_spectrum(t, y)
    batch = psd.flatten(freq, np.stack([power, 3.0 * power]))
    assert np.allclose(batch[0], psd.flatten(freq, power))
    assert np.allclose(batch[1], batch[0])  # scale-free


def test_log_rebin_averages_the_native_pixels_of_each_bin():
    freq = psd.native_frequency()
    rebinned = psd.log_rebin(freq, freq)  # the mean frequency in each bin ≈ the bin centre
    assert np.allclose(rebinned, psd.frequency_grid(), atol=0.02)
    assert np.allclose(psd.log_rebin(freq, np.full(freq.size, 7.0)), 7.0)


def test_smooth_keeps_the_integral_and_spreads_by_0p1_uhz():
    spike = np.zeros(2001)
    spike[1000] = 1.0
    smoothed = psd.smooth(spike)
    assert smoothed.sum() == pytest.approx(1.0)
    x = (np.arange(2001) - 1000) * psd.C.PSD_NATIVE_STEP_UHZ
    assert np.sqrt((smoothed * x**2).sum()) == pytest.approx(0.1, rel=0.01)


@pytest.mark.parametrize("numax", [10.0, 40.0, 120.0])
def test_injected_numax_and_deltanu_come_back(numax):
    deltanu = 1.02 * float(seismo.deltanu_from_numax(numax))  # 2 % off Eq. 6, like a light star
    for seed in range(3):
        t, y = oscillating_star(numax, deltanu, seed=seed)
        # white background injected: tell the estimator so (its default assumes red-giant granulation)
        found = seismo.estimate_global_parameters(psd.frequency_grid(), psd.compute_psd(t, y), background=None)
        assert found.numax == pytest.approx(numax, rel=0.03)
        assert found.deltanu == pytest.approx(deltanu, rel=0.02)


def test_matches_the_lightkurve_chain():
    t, y = oscillating_star(40.0, 4.8, seed=1)
    ours = psd.compute_psd(t, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = compute_psd_lightkurve(t, y)
    difference = np.abs(ours - reference)
    assert np.median(difference) <= 0.02
    # The only systematic difference is the median→mean constant: ln((1/ln 2) / (9/8)^3).
    assert np.median(reference - ours) == pytest.approx(np.log(psd.MEDIAN_TO_MEAN / (9 / 8) ** 3), abs=2e-3)


def test_accepts_a_lightkurve_lightcurve():
    import lightkurve

    t, y = oscillating_star(80.0, 7.8, seed=5)
    lc = lightkurve.LightCurve(time=t, flux=1e4 * (1 + 1e-6 * y))
    assert np.allclose(psd.compute_psd(lc), psd.compute_psd(t, y), atol=1e-3)


def test_envelope_weights_are_one_plus_a_unit_gaussian_of_width_two_deltanu():
    f = psd.frequency_grid()
    w = psd.envelope_weights(50.0)
    assert w.shape == (2092,)
    assert w.max() == pytest.approx(2.0, abs=1e-3)
    assert f[np.argmax(w)] == pytest.approx(50.0, abs=0.1)
    sigma = 2 * seismo.deltanu_from_numax(50.0)
    at_one_sigma = np.interp(50.0 + sigma, f, w)
    assert at_one_sigma == pytest.approx(1 + np.exp(-0.5), abs=1e-3)
    assert psd.envelope_weights([10.0, 100.0]).shape == (2, 2092)


class TestBadInput:
    def good(self):
        return white_noise(seed=7)

    def test_nonfinite_flux_is_a_clear_error(self):
        t, y = self.good()
        y[10] = np.nan
        y[20] = np.inf
        with pytest.raises(psd.InvalidLightCurveError, match="NaN/inf") as err:
            psd.compute_psd(t, y)
        assert psd.PSDFlag.NONFINITE in err.value.flags

    def test_unsorted_times_are_a_clear_error(self):
        t, y = self.good()
        t[[5, 6]] = t[[6, 5]]
        with pytest.raises(psd.InvalidLightCurveError, match="not sorted"):
            psd.compute_psd(t, y)

    def test_duplicate_times_are_a_clear_error(self):
        t, y = self.good()
        t[6] = t[5]
        with pytest.raises(psd.InvalidLightCurveError, match="repeated"):
            psd.compute_psd(t, y)

    def test_fewer_than_1000_points_is_a_clear_error(self):
        t, y = self.good()
        with pytest.raises(psd.InvalidLightCurveError, match="fewer than 1000"):
            psd.compute_psd(t[:999], y[:999])

    def test_constant_flux_is_a_clear_error(self):
        t, _ = self.good()
        with pytest.raises(psd.InvalidLightCurveError, match="constant"):
            psd.compute_psd(t, np.full(t.size, 5.0))

    def test_a_90_day_light_curve_is_computed_but_flagged(self):
        _, t = kepler_cadences(90.0)
        y = np.random.default_rng(0).normal(0, 100, t.size)
        with pytest.warns(psd.PSDQualityWarning, match="shorter than"):
            log_psd, flags = psd.compute_psd(t, y, return_flags=True)
        assert flags == psd.PSDFlag.SHORT_BASELINE
        assert np.all(np.isfinite(log_psd))

    def test_a_4_year_light_curve_is_not_flagged(self):
        t, y = self.good()
        assert np.ptp(t) > 0.99 * KEPLER_4YR_DAYS
        assert psd.check_light_curve(t, y) == psd.PSDFlag.OK

    def test_mismatched_lengths_are_a_clear_error(self):
        t, y = self.good()
        with pytest.raises(ValueError, match="equal length"):
            psd.compute_psd(t, y[:-1])
