"""Mock Kepler long-cadence light curves of red giants with a known ν_max, Δν and evolutionary state.

A light curve is synthesised in the frequency domain: the star's model power spectral density (PSD) is
built on the Fourier grid of an evenly sampled series (29.4244-min cadence over ~4 years), complex
Gaussian coefficients are drawn on it (so the power in each bin follows χ² with 2 degrees of freedom
about the model), an inverse real FFT gives the time series, photon noise is added, and the Kepler
observing window (quarterly downlinks, safe modes, randomly missing cadences, quality-flagged cadences
with bad flux) is cut out. One curve costs a few milliseconds (see ``benchmarks/bench_mock_lightcurves``).

The model PSD, in ppm²/μHz (single-sided, so it integrates to the variance), is the star's granulation and
modes (:mod:`latentexplorer.mock.oscillations`: their parameters drawn around published relations and returned
with the light curve as truth, :class:`~latentexplorer.mock.oscillations.SeismicParameters`) seen by Kepler:

* Apodisation of the signal by the 29.4-min integration, sinc²(πν / 2ν_Nyq) (Chaplin et al. 2011),
  with super-Nyquist power reflected about ν_Nyq.
* **Photon noise** (white) from the Kepler magnitude: 1.74 × 10⁵ e⁻/s at Kp = 12 (Kepler Instrument
  Handbook; Jenkins et al. 2010, ApJ 713, L87) over 270 × 6.02 s of exposure per long cadence, plus the
  read-out and background term 7 × 10⁶ max(1, Kp/14)⁴ e⁻² per 6.5 h (Gilliland et al. 2010, ApJ 713,
  L160) scaled to one cadence; it is part of the model PSD, so one inverse FFT gives the whole series.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np
import scipy.fft

from .. import constants as C
from .oscillations import DEFAULT_TEFF_K, SeismicParameters, draw_seismic_parameters, granulation_psd, mode_table

__all__ = [
    "MockLightCurve",
    "photometric_noise_ppm",
    "synthesize_light_curve",
    "iter_light_curves",
    "KEPLER_START_BKJD",
    "QUALITY_BAD_FLAGS",
]

log = logging.getLogger(__name__)

KEPLER_START_BKJD = 120.539  # first long cadence of Q0 (2009 May 2), BJD − 2454833
_CADENCE_S = C.KEPLER_LONG_CADENCE_DAYS * 86400.0
_NYQUIST_UHZ = 0.5e6 / _CADENCE_S  # ≈ 283.2 μHz
_EXPOSURE_S = 270 * 6.019802  # 270 co-added frames of 6.02 s integration per long cadence
_FLUX_KP12_E_PER_S = 1.74e5  # e⁻/s collected for a Kp = 12 star

_LORENTZ_HALF_WINDOW = 8.0  # each Lorentzian is summed over ±8 linewidths, its power renormalised
_NARROW_HALF_BINS = 16  # window (bins either side) shared by the modes narrower than 16/20 bins

# Kepler SAP_QUALITY bits (Kepler Archive Manual, Table 2.3) that the mock sets on bad cadences; all are
# in lightkurve's default bitmask, so a default read drops them.
_ATTITUDE_TWEAK, _SAFE_MODE, _COARSE_POINT, _DESAT, _NO_DATA = 1, 2, 4, 32, 65536
QUALITY_BAD_FLAGS = _ATTITUDE_TWEAK | _SAFE_MODE | _COARSE_POINT | _DESAT | _NO_DATA


@dataclass(frozen=True)
class MockLightCurve:
    """A mock Kepler long-cadence light curve.

    Attributes
    ----------
    time_days : (n,) float64, BJD − 2454833 (Kepler's BKJD), increasing, on the 29.4244-min cadence.
    flux_ppm : (n,) float64, relative flux in ppm; cadences with ``quality != 0`` carry bad flux.
    flux_err_ppm : (n,) float64, 1σ photon noise per cadence, ppm.
    quality : (n,) int32, Kepler SAP_QUALITY bits (see :data:`QUALITY_BAD_FLAGS`).
    kepmag : Kepler magnitude used for the photon noise.
    seismic : the drawn :class:`SeismicParameters` (the truth behind the PSD).
    """

    time_days: np.ndarray
    flux_ppm: np.ndarray
    flux_err_ppm: np.ndarray
    quality: np.ndarray
    kepmag: float
    seismic: SeismicParameters

    @property
    def good(self) -> np.ndarray:
        """(n,) bool, the cadences with no quality flag."""
        return self.quality == 0


def _validate_star(numax, deltanu, evolstate, kepmag, teff):
    if not (np.isfinite(numax) and 0.5 < numax < _NYQUIST_UHZ):
        raise ValueError(f"numax must be a finite frequency in (0.5, {_NYQUIST_UHZ:.1f}) μHz, got {numax!r}")
    if not (np.isfinite(deltanu) and 0.0 < deltanu < numax):
        raise ValueError(f"deltanu must be finite, positive and below numax={numax!r} μHz, got {deltanu!r}")
    if evolstate not in ("RGB", "RC"):
        raise ValueError(f"evolstate must be 'RGB' or 'RC', got {evolstate!r}")
    if not (np.isfinite(kepmag) and 4.0 <= kepmag <= 20.0):
        raise ValueError(f"kepmag must be a Kepler magnitude in [4, 20], got {kepmag!r}")
    if not (np.isfinite(teff) and 3000.0 <= teff <= 7000.0):
        raise ValueError(f"teff must be a giant's effective temperature in [3000, 7000] K, got {teff!r}")


def photometric_noise_ppm(kepmag):
    """1σ white (photon + read/background) noise per Kepler long cadence, ppm, for Kepler magnitude(s)."""
    kepmag = np.asarray(kepmag, dtype=float)
    electrons = _FLUX_KP12_E_PER_S * 10.0 ** (-0.4 * (kepmag - 12.0)) * _EXPOSURE_S
    floor = 7e6 * np.maximum(1.0, kepmag / 14.0) ** 4 * _CADENCE_S / (6.5 * 3600.0)
    return 1e6 * np.sqrt(electrons + floor) / electrons


def _apodisation(freq):
    """Power attenuation sinc²(πν/2ν_Nyq) of the 29.4-min integration."""
    return np.sinc(freq / (2.0 * _NYQUIST_UHZ)) ** 2


@functools.lru_cache(maxsize=4)
def _fourier_grid(n_fft):
    """(freq, df, apodisation of freq, apodisation of its super-Nyquist reflection 2ν_Nyq − freq) on the
    real-FFT grid of ``n_fft`` long cadences; μHz. Shared by every star (read-only arrays)."""
    df = 1e6 / (n_fft * _CADENCE_S)
    freq = np.arange(n_fft // 2 + 1) * df
    arrays = (freq, _apodisation(freq), _apodisation(2.0 * _NYQUIST_UHZ - freq))
    for x in arrays:
        x.flags.writeable = False
    return arrays[0], df, arrays[1], arrays[2]


def _binned_lorentzians(nu, width, power, df, n_freq, half):
    """Sum of Lorentzians (centres ``nu``, FWHM ``width`` in μHz, variances ``power`` in ppm²) on the
    grid k·df, k < n_freq, in ppm²/μHz. Each mode's profile is integrated over the bins within
    ±``half`` bins of its centre (so modes narrower than a bin keep their power) and renormalised to
    the mode's full power (the tails beyond the window are folded in)."""
    bins = np.rint(nu / df).astype(np.int64)[:, None] + np.arange(-half, half + 1)
    edges = bins * df - nu[:, None]
    half_width = 0.5 * np.maximum(width, 1e-9)[:, None]
    frac = np.arctan((edges + 0.5 * df) / half_width) - np.arctan((edges - 0.5 * df) / half_width)
    frac /= frac.sum(axis=1, keepdims=True)
    inside = (bins >= 0) & (bins < n_freq)
    weights = np.where(inside, frac * (power / df)[:, None], 0.0)
    return np.bincount(np.where(inside, bins, 0).ravel(), weights=weights.ravel(), minlength=n_freq)


def _signal_psd(params: SeismicParameters, n_fft):
    """Model PSD of granulation + oscillations, ppm²/μHz, on the real-FFT grid of ``n_fft`` cadences:
    (freq (m,), df, psd (m,)), μHz."""
    freq, df, apod, apod_reflected = _fourier_grid(n_fft)
    psd = granulation_psd(freq, params) * apod
    psd += granulation_psd(2.0 * _NYQUIST_UHZ - freq, params) * apod_reflected

    nu, width, power, _ = mode_table(params, df)
    power = power * _apodisation(nu)
    nu = np.where(nu > _NYQUIST_UHZ, 2.0 * _NYQUIST_UHZ - nu, nu)
    half = np.ceil(_LORENTZ_HALF_WINDOW * width / df).astype(np.int64) + 2
    narrow = half <= _NARROW_HALF_BINS  # mostly g-dominated mixed modes: a short window suffices
    for group, n_bins in ((narrow, _NARROW_HALF_BINS), (~narrow, half.max(initial=0))):
        if group.any():
            psd += _binned_lorentzians(nu[group], width[group], power[group], df, freq.size, n_bins)
    return freq, df, psd


def _observing_window(n_cadences, rng):
    """Kepler's observing window over ``n_cadences``: (keep (n,) bool, quality (n,) int32).

    Quarters: Q0 (9.7 d), Q1 (33.5 d), then 93-day quarters, each followed by a 1–2 day downlink gap
    and 4 coarse-point cadences; 2–4 safe-mode gaps of 3–12 days followed by 0.5 day flagged as safe
    mode; a momentum desaturation (one flagged cadence) every ~3 days; a few attitude tweaks; ~1 % of
    cadences randomly missing."""
    dt = C.KEPLER_LONG_CADENCE_DAYS
    span = n_cadences * dt
    boundaries = np.concatenate([[9.7, 43.2], np.arange(43.2 + 93.0, span, 93.0)])
    boundaries = np.rint(boundaries[boundaries < span] / dt).astype(int)
    keep = np.ones(n_cadences, dtype=bool)
    keep[rng.integers(0, n_cadences, n_cadences // 100)] = False
    quality = np.zeros(n_cadences, dtype=np.int32)

    def gap(starts, lengths, flag, n_flagged):
        for start, stop in zip(starts, starts + np.rint(lengths / dt).astype(int)):
            keep[start:stop] = False
            quality[stop:stop + n_flagged] |= flag

    gap(boundaries, rng.uniform(1.0, 2.0, boundaries.size), _COARSE_POINT, 4)
    n_safe = rng.integers(2, 5)
    gap(rng.integers(0, n_cadences, n_safe), rng.uniform(3.0, 12.0, n_safe), _SAFE_MODE, int(0.5 / dt))
    desat = np.rint((np.arange(rng.uniform(0.0, 3.0), span, 3.0) + rng.normal(0.0, 0.1)) / dt).astype(int)
    quality[desat[(desat >= 0) & (desat < n_cadences)]] |= _DESAT
    quality[rng.integers(0, n_cadences, rng.integers(3, 10))] |= _ATTITUDE_TWEAK
    return keep, quality


def synthesize_light_curve(numax, deltanu, evolstate, kepmag, rng, *, teff=DEFAULT_TEFF_K, baseline_days=1470.0,
                           start_bkjd=KEPLER_START_BKJD) -> MockLightCurve:
    """Simulate one red giant's Kepler long-cadence light curve.

    Parameters
    ----------
    numax, deltanu : float, μHz (ν_max, Δν of the star).
    evolstate : 'RGB' or 'RC'.
    kepmag : float, Kepler magnitude (sets the photon noise).
    rng : numpy.random.Generator or int seed; the same generator state gives the same light curve.
    teff : float, effective temperature (K, default 4,800); sets, with ν_max and Δν, the mass and
        luminosity that the mode and granulation amplitudes follow.
    baseline_days : float, span of the observations (days, default 1,470 as for Q0–Q17).
    start_bkjd : float, time of the first cadence, BJD − 2454833.

    Returns
    -------
    MockLightCurve
        (n,) arrays with n ≈ 0.93 × baseline_days / 29.4244 min after gaps.

    Raises
    ------
    ValueError
        If a parameter is out of range (the message names it).
    """
    _validate_star(numax, deltanu, evolstate, kepmag, teff)
    if not (np.isfinite(baseline_days) and baseline_days >= 10.0):
        raise ValueError(f"baseline_days must be at least 10 days, got {baseline_days!r}")
    rng = np.random.default_rng(rng)
    params = draw_seismic_parameters(numax, deltanu, evolstate, rng, teff=teff)

    n_cadences = int(round(baseline_days / C.KEPLER_LONG_CADENCE_DAYS))
    n_fft = scipy.fft.next_fast_len(n_cadences, real=True)
    freq, df, psd = _signal_psd(params, n_fft)
    sigma = float(photometric_noise_ppm(kepmag))
    psd += 2e-6 * sigma**2 * _CADENCE_S  # white noise of variance σ² spread over 0 … ν_Nyq
    # E|X_k|² = 2 c_k² and the variance of bin k in the series is 2|X_k|²/N², so c_k = N √(S_k df) / 2.
    scale = 0.5 * n_fft * np.sqrt(psd * df)
    scale[0] = 0.0
    if n_fft % 2 == 0:
        scale[-1] = 0.0
    coeff = scale * rng.standard_normal((freq.size, 2)).view(np.complex128)[:, 0]
    flux = scipy.fft.irfft(coeff, n_fft)[:n_cadences]

    keep, quality = _observing_window(n_cadences, rng)
    bad = np.flatnonzero(quality)
    flux[bad] += rng.choice([-1.0, 1.0], bad.size) * rng.uniform(5.0, 20.0, bad.size) * np.std(flux)
    time = start_bkjd + np.arange(n_cadences) * C.KEPLER_LONG_CADENCE_DAYS
    return MockLightCurve(time[keep], flux[keep], np.full(np.count_nonzero(keep), sigma), quality[keep],
                          float(kepmag), params)


def iter_light_curves(numax, deltanu, evolstate, kepmag, rng, teff=None, **kwargs):
    """Yield one :class:`MockLightCurve` per star; each star gets its own child of ``rng``.

    Parameters
    ----------
    numax, deltanu, evolstate, kepmag : (N,) array-likes as in :func:`synthesize_light_curve`.
    rng : numpy.random.Generator or int seed.
    teff : (N,) array-like, K, optional (default 4,800 K for every star).
    **kwargs : passed to :func:`synthesize_light_curve`.

    Yields
    ------
    MockLightCurve or None
        None for a star whose parameters are invalid (logged as a warning); the batch goes on.
    """
    numax, deltanu, evolstate, kepmag = (np.asarray(x) for x in (numax, deltanu, evolstate, kepmag))
    if not numax.shape == deltanu.shape == evolstate.shape == kepmag.shape or numax.ndim != 1:
        raise ValueError(f"numax, deltanu, evolstate and kepmag must be 1-D of one length, got "
                         f"{numax.shape}, {deltanu.shape}, {evolstate.shape}, {kepmag.shape}")
    teff = np.full(numax.shape, DEFAULT_TEFF_K) if teff is None else np.asarray(teff, float)
    if teff.shape != numax.shape:
        raise ValueError(f"teff must have the shape of numax {numax.shape}, got {teff.shape}")
    children = np.random.default_rng(rng).spawn(numax.size)
    for i, child in enumerate(children):
        try:
            yield synthesize_light_curve(float(numax[i]), float(deltanu[i]), str(evolstate[i]),
                                         float(kepmag[i]), child, teff=float(teff[i]), **kwargs)
        except ValueError as err:
            log.warning("star %d: no light curve (%s)", i, err)
            yield None
