"""Light curve → power spectrum → flattened, smoothed, log-rebinned 2092-pixel log PSD (paper section 4.2).

The chain, each step a public function:

1. :func:`power_spectrum` — Lomb–Scargle PSD from 2 to 270 μHz at 0.009 μHz spacing (29,779 frequencies),
   computed with the NUFFT implementation of ``nifty-ls`` and normalised like lightkurve's
   ``normalization="psd"`` (ppm² μHz⁻¹ for a light curve in ppm).
2. :func:`flatten` — divide by a moving-median background in log10 frequency (lightkurve's ``logmedian``
   scheme), corrected from median to mean for χ² (2 d.o.f.) noise so pure noise flattens to 1.
3. :func:`smooth` — Gaussian smoothing with σ = 0.1 μHz (as the published pipeline).
4. :func:`log_rebin` — mean of the native pixels inside each bin of :func:`frequency_grid`.
5. natural log → the network's target. :func:`compute_power_spectrum` runs all of it and returns a
   :class:`latentexplorer.powerspectrum.PowerSpectrum`; :func:`compute_psd` returns the bare (2092,) array,
   for the PSD step's loop over thousands of light curves. (:mod:`latentexplorer.psd_reference` builds the
   same target from lightkurve's chain.)

Quality control: :func:`check_light_curve` returns :class:`PSDFlag` bits; :func:`compute_psd` raises
:class:`InvalidLightCurveError` for the fatal ones and warns (:class:`PSDQualityWarning`) for the others.
Besides the values themselves it checks what the time axis can carry: a time axis in days (one spanning
more than :data:`MAX_BASELINE_DAYS` is in another unit — seconds, minutes, hours — and gives no PSD), sorted
and without repeats, a baseline that resolves the native grid (``SHORT_BASELINE``), and a median cadence
whose Nyquist frequency reaches the grid's top (``UNDERSAMPLED``: power above it is aliased, and as every
ν_max the grid holds lies below its top, this also covers the star's oscillations). An offset of the time
axis (BJD rather than BKJD) changes nothing.
"""

from __future__ import annotations

import enum
import functools
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from scipy.ndimage import gaussian_filter1d

from . import constants as C
from .seismo import deltanu_from_numax

if TYPE_CHECKING:  # the object form imports this module's grid lazily, not the other way round
    from .powerspectrum import PowerSpectrum

__all__ = ["PSDFlag", "FATAL_FLAGS", "InvalidLightCurveError", "PSDQualityWarning", "frequency_grid",
           "native_frequency", "nyquist_frequency", "check_light_curve", "power_spectrum", "flatten", "smooth",
           "log_rebin", "compute_psd", "compute_power_spectrum", "envelope_weights", "GRID_STEP_COEFF_UHZ",
           "GRID_STEP_EXPONENT"]

#: Coefficients of the grid recurrence f_{i+1} = f_i + A f_i^b / 50 (see :func:`frequency_grid`).
GRID_STEP_COEFF_UHZ = 0.26578
GRID_STEP_EXPONENT = 0.75825

MIN_POINTS = 1000
#: FINUFFT's requested relative precision in nifty-ls (its default is 1e-9 in float64). Chosen by the
#: measured effect on the 2092-pixel log PSD against a 1e-12 transform (``python -m benchmarks.bench_psd``
#: prints the table): 1e-4 moves ln PSD by a median of ~1e-5 and at most ~4e-4 (1e-3: at most ~8e-3),
#: 30× under the 0.013 between this chain and lightkurve's, for ~25 % less time than 1e-9. Float32
#: input, the other speed-up nifty-ls offers, moves it by a median of 0.03 and is not used.
NUFFT_EPS = 1e-4
#: Mean over median of a χ² (2 d.o.f.) variable: 1/ln 2. (lightkurve uses the Wilson–Hilferty
#: approximation (9/8)³ = 1.4238 instead of 1.4427, which leaves flattened noise with a mean of 1.013.)
MEDIAN_TO_MEAN = 1.0 / np.log(2.0)
UHZ_PER_INVERSE_DAY = 1e6 / 86400.0  # 1 d⁻¹ = 11.574 μHz
# The native grid resolves 0.009 μHz only if the baseline T satisfies 1/T ≤ 0.009 μHz (T ≥ 1286 d).
MIN_BASELINE_DAYS = 1.0 / (C.PSD_NATIVE_STEP_UHZ * 1e-6) / 86400.0
#: A time axis spanning more than 30 years is not in days: no photometric mission lasts so long, while 4 years
#: of Kepler in hours span 35,000 "days" (in minutes 2.1 million, in seconds 126 million).
MAX_BASELINE_DAYS = 30 * 365.25


class PSDFlag(enum.IntFlag):
    """Per-star quality bits of a PSD. ``FATAL`` bits mean no PSD was computed."""

    OK = 0
    SHORT_BASELINE = 1  #: computed, but the baseline is shorter than 1 / 0.009 μHz ≈ 1286 d
    TOO_FEW_POINTS = 2  #: fewer than 1,000 valid cadences
    NONFINITE = 4  #: NaN or inf in time or flux
    UNSORTED_TIME = 8  #: time stamps not increasing
    DUPLICATE_TIME = 16  #: repeated time stamps
    CONSTANT_FLUX = 32  #: no variance in the flux
    UNREADABLE = 64  #: the input file is not a readable light curve
    UNDERSAMPLED = 128  #: computed, but the median cadence's Nyquist frequency is below the grid's top (≈ 269 μHz)
    TIME_NOT_DAYS = 256  #: the time axis spans more than 30 years: it is not in days (seconds, hours, …)

    def describe(self) -> str:
        """Comma-separated names of the set bits, or ``"OK"``."""
        names = [f.name for f in PSDFlag if f and f in self]
        return ", ".join(names) if names else "OK"


#: Bits that mean no PSD could be computed.
FATAL_FLAGS = (
    PSDFlag.TOO_FEW_POINTS
    | PSDFlag.NONFINITE
    | PSDFlag.UNSORTED_TIME
    | PSDFlag.DUPLICATE_TIME
    | PSDFlag.CONSTANT_FLUX
    | PSDFlag.UNREADABLE
    | PSDFlag.TIME_NOT_DAYS
)


class InvalidLightCurveError(ValueError):
    """A light curve that cannot give a meaningful PSD; ``.flags`` holds the :class:`PSDFlag` bits."""

    def __init__(self, message: str, flags: PSDFlag):
        super().__init__(message)
        self.flags = flags


class PSDQualityWarning(UserWarning):
    """A PSD was computed but should be used with care (see the flag named in the message)."""


@functools.lru_cache(maxsize=1)
def _grid() -> np.ndarray:
    f = np.empty(C.PSD_N_PIXELS)
    f[0] = C.PSD_FMIN_UHZ
    for i in range(C.PSD_N_PIXELS - 1):
        f[i + 1] = f[i] + GRID_STEP_COEFF_UHZ * f[i] ** GRID_STEP_EXPONENT / 50.0
    f.setflags(write=False)
    return f


def frequency_grid() -> np.ndarray:
    """The 2092-pixel frequency grid of the network's PSDs, in μHz, from 2.0 to ≈ 268.97 μHz.

    The paper's stated intent is a grid on which Δν is resolved by about 50 pixels at any ν_max, written as
    the recurrence f_{i+1} = f_i + Δν(f_i)/50 with Δν = 0.263 f^0.772 (its Eq. 5), and approximated by the
    quartic of its Eq. 4. As printed, Eq. 5 does not reproduce Eq. 4: iterated 2091 times from 2 μHz it
    reaches ≈ 302 μHz, and rescaling its step to end at 269 μHz still leaves 2.4 μHz deviations, so the
    step's exponent must differ. We keep the recurrence form and fit its two coefficients to Eq. 4:

        f_0 = 2 μHz,  f_{i+1} = f_i + 0.26578 f_i^0.75825 / 50,

    which agrees with Eq. 4 to 0.015 μHz at every pixel (the paper quotes 0.008 μHz between Eq. 4 and its
    exact grid) and resolves Eq. 6's Δν by 50.0 pixels at 2 μHz, 52 at 40 μHz and 53.4 at 269 μHz.

    Returns
    -------
    (2092,) float64 array, μHz, read-only.
    """
    return _grid()


@functools.lru_cache(maxsize=1)
def _native() -> np.ndarray:
    n = int(round((C.PSD_FMAX_UHZ - C.PSD_FMIN_UHZ) / C.PSD_NATIVE_STEP_UHZ)) + 1
    f = C.PSD_FMIN_UHZ + C.PSD_NATIVE_STEP_UHZ * np.arange(n)
    f.setflags(write=False)
    return f


def native_frequency() -> np.ndarray:
    """The native Lomb–Scargle grid: 2 to 270 μHz at 0.009 μHz, (29779,) float64, μHz, read-only."""
    return _native()


def nyquist_frequency(time_days) -> float:
    """The Nyquist frequency, μHz, of a time axis (n,) in days: 1 / (2 × its median cadence), the median of
    the absolute steps (gaps and a reversed order do not change it)."""
    with np.errstate(divide="ignore"):  # every step zero: infinite
        return float(UHZ_PER_INVERSE_DAY / (2.0 * np.median(np.abs(np.diff(np.asarray(time_days, float))))))


def check_light_curve(time_days, flux) -> PSDFlag:
    """Quality bits of a light curve, without raising. ``time_days`` and ``flux`` are (n,) arrays."""
    t = np.asarray(time_days, dtype=float)
    y = np.asarray(flux, dtype=float)
    if t.shape != y.shape or t.ndim != 1:
        raise ValueError(f"time and flux must be 1-D arrays of equal length, got {t.shape} and {y.shape}")
    flags = PSDFlag.OK
    finite = np.isfinite(t) & np.isfinite(y)
    if not finite.all():
        flags |= PSDFlag.NONFINITE
    t, y = t[finite], y[finite]
    if t.size < MIN_POINTS:
        return flags | PSDFlag.TOO_FEW_POINTS
    if np.ptp(t) > MAX_BASELINE_DAYS:  # cadence and baseline mean nothing in an unknown unit
        return flags | PSDFlag.TIME_NOT_DAYS
    dt = np.diff(t)
    if np.any(dt < 0):
        flags |= PSDFlag.UNSORTED_TIME
    if np.any(dt == 0):
        flags |= PSDFlag.DUPLICATE_TIME
    if np.ptp(y) == 0:
        flags |= PSDFlag.CONSTANT_FLUX
    if np.ptp(t) < MIN_BASELINE_DAYS:
        flags |= PSDFlag.SHORT_BASELINE
    if nyquist_frequency(t) < frequency_grid()[-1]:
        flags |= PSDFlag.UNDERSAMPLED
    return flags


_FLAG_ADVICE = {
    PSDFlag.NONFINITE: "time or flux contains NaN/inf values; drop them first (e.g. lc.remove_nans())",
    PSDFlag.TOO_FEW_POINTS: f"fewer than {MIN_POINTS} valid cadences",
    PSDFlag.UNSORTED_TIME: "time stamps are not sorted; sort the light curve by time",
    PSDFlag.DUPLICATE_TIME: "time stamps are repeated; remove duplicate cadences",
    PSDFlag.CONSTANT_FLUX: "the flux is constant: there is no signal to transform",
    PSDFlag.TIME_NOT_DAYS: f"the time axis spans more than {MAX_BASELINE_DAYS / 365.25:.0f} years: it is not in days "
                           "(seconds? hours?); convert it to days",
}


def _validate(time_days, flux) -> tuple[np.ndarray, np.ndarray, PSDFlag]:
    flags = check_light_curve(time_days, flux)
    fatal = flags & FATAL_FLAGS
    if fatal:
        reasons = "; ".join(msg for bit, msg in _FLAG_ADVICE.items() if bit in fatal)
        raise InvalidLightCurveError(f"cannot compute a PSD: {reasons}", flags)
    t, y = np.asarray(time_days, float), np.asarray(flux, float)
    if PSDFlag.SHORT_BASELINE in flags:
        span = float(np.ptp(t))
        warnings.warn(
            f"light curve spans {span:.0f} d, shorter than the {MIN_BASELINE_DAYS:.0f} d needed to resolve "
            f"{C.PSD_NATIVE_STEP_UHZ} μHz; the PSD is computed but flagged SHORT_BASELINE",
            PSDQualityWarning,
            stacklevel=3,
        )
    if PSDFlag.UNDERSAMPLED in flags:
        nyquist = nyquist_frequency(t)
        warnings.warn(
            f"median cadence {24 * UHZ_PER_INVERSE_DAY / (2 * nyquist):.3g} h: Nyquist frequency {nyquist:.3g} μHz, "
            f"below the grid's {frequency_grid()[-1]:.0f} μHz (the power above it is aliased); the PSD is "
            "computed but flagged UNDERSAMPLED",
            PSDQualityWarning,
            stacklevel=3,
        )
    return t, y, flags


def power_spectrum(time_days, flux_ppm):
    """Lomb–Scargle power spectral density on :func:`native_frequency`.

    Parameters
    ----------
    time_days : (n,) array, days, sorted, finite, at least 1,000 points.
    flux_ppm : (n,) array, relative flux in ppm (mean-subtracted or not; the mean is fitted).

    Returns
    -------
    freq : (29779,) array, μHz.
    power : (29779,) array, ppm² μHz⁻¹ — astropy's ``normalization="psd"`` power times 2 / (N δf_T) with
        δf_T = 1/T the natural resolution of a baseline T: lightkurve's ``to_periodogram(normalization="psd")``
        scaling, so the two agree value for value.
    """
    t, y, _ = _validate(time_days, flux_ppm)
    return native_frequency(), _lomb_scargle(t, y)


def _lomb_scargle(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:func:`power_spectrum`'s power for already validated float64 arrays: one nifty-ls call (FINUFFT at
    :data:`NUFFT_EPS`, one thread) and the lightkurve scaling."""
    import nifty_ls

    freq = native_frequency()
    per_day = 1.0 / UHZ_PER_INVERSE_DAY
    result = nifty_ls.lombscargle(
        t,
        y,
        fmin=freq[0] * per_day,
        fmax=freq[-1] * per_day,
        Nf=freq.size,
        normalization="psd",
        center_data=True,
        fit_mean=True,
        backend="finufft",
        nthreads=1,  # one star per core: faster than finufft's threads here; batches parallelise over stars
        finufft_kwargs={"eps": NUFFT_EPS},
    )
    power = result.power
    power *= 2.0 / (t.size * (UHZ_PER_INVERSE_DAY / (t[-1] - t[0])))
    return power


def _window_bounds(log_freq: np.ndarray, filter_width: float):
    """Index ranges [lo, hi) of the windows |log10 ν − x0| < filter_width, x0 stepping by filter_width/2."""
    centres = np.arange(log_freq[0], log_freq[-1], 0.5 * filter_width)
    lo = np.searchsorted(log_freq, centres - filter_width, side="right")
    hi = np.searchsorted(log_freq, centres + filter_width, side="left")
    return lo, hi


@functools.lru_cache(maxsize=4)
def _flatten_plan(freq_bytes: bytes, filter_width: float):
    """(lo, hi, count) of :func:`flatten` for a frequency grid given as float64 bytes: the non-empty windows'
    index ranges and the number of windows covering each pixel, (n + 1,) with a trailing zero."""
    freq = np.frombuffer(freq_bytes)
    lo, hi = _window_bounds(np.log10(freq), filter_width)
    keep = hi > lo
    lo, hi = lo[keep], hi[keep]
    count = np.cumsum(np.bincount(lo, minlength=freq.size + 1) - np.bincount(hi, minlength=freq.size + 1))
    return lo, hi, count


def _window_medians(row: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Median of row[lo[w]:hi[w]] for every window w (in-place partition of a copy: ~6x faster than np.median)."""
    out = np.empty(lo.size)
    for w, (a, b) in enumerate(zip(lo.tolist(), hi.tolist())):
        part = row[a:b].copy()
        k = (b - a) // 2
        if (b - a) % 2:
            part.partition(k)
            out[w] = part[k]
        else:
            part.partition((k - 1, k))
            out[w] = 0.5 * (part[k - 1] + part[k])
    return out


def flatten(freq, power, filter_width: float = C.PSD_FLATTEN_WIDTH_LOG10):
    """Divide a PSD by its moving-median background; white noise flattens to a mean of 1.

    The background follows lightkurve's ``Periodogram.flatten(method="logmedian")``: window centres x0 step
    by ``filter_width / 2`` in log10(ν/μHz) from the first frequency; each window takes the pixels with
    |log10 ν − x0| < ``filter_width``; each pixel's background is the mean of the medians of the windows
    that contain it, times 1/ln 2 — the mean of a χ² (2 d.o.f.) variable over its median — so that noise
    divided by it has a mean of 1. (lightkurve multiplies by (9/8)³ ≈ 1.424, an approximation of 1/ln 2 =
    1.443; that is the one deliberate difference, 0.013 in ln PSD.)

    Parameters
    ----------
    freq : (n,) increasing array, μHz (> 0).
    power : (n,) or (m, n) array.
    filter_width : float, log10 frequency units (0.01 as in the paper).

    Returns
    -------
    Array shaped like ``power``: the signal-to-noise spectrum.
    """
    freq = np.asarray(freq, dtype=float)
    power = np.asarray(power, dtype=float)
    if freq.ndim != 1 or power.shape[-1] != freq.size:
        raise ValueError(f"power's last axis ({power.shape}) must match freq ({freq.shape})")
    if filter_width <= 0:
        raise ValueError(f"filter_width must be positive, got {filter_width}")
    lo, hi, count = _flatten_plan(freq.tobytes(), float(filter_width))
    rows = power.reshape(-1, freq.size)
    medians = np.array([_window_medians(row, lo, hi) for row in rows])
    # Sum, at every pixel, of the medians of the windows covering it: a difference array + cumulative sum.
    diff = np.zeros((rows.shape[0], freq.size + 1))
    for r in range(rows.shape[0]):
        diff[r] += np.bincount(lo, weights=medians[r], minlength=freq.size + 1)
        diff[r] -= np.bincount(hi, weights=medians[r], minlength=freq.size + 1)
    background = np.cumsum(diff, axis=1)[:, :-1] / count[:-1] * MEDIAN_TO_MEAN
    return (rows / background).reshape(power.shape)


def smooth(power, sigma_uhz: float = C.PSD_SMOOTH_SIGMA_UHZ, step_uhz: float = C.PSD_NATIVE_STEP_UHZ):
    """Gaussian smoothing of a PSD on an evenly spaced grid: σ in μHz, grid step in μHz, last axis."""
    return gaussian_filter1d(np.asarray(power, float), sigma_uhz / step_uhz, axis=-1, mode="nearest")


@functools.lru_cache(maxsize=4)
def _rebin_plan(native_bytes: bytes, grid_bytes: bytes):
    """(which, inside, counts) of :func:`log_rebin` for native and grid frequencies given as float64 bytes."""
    native = np.frombuffer(native_bytes)
    grid = np.frombuffer(grid_bytes)
    edges = np.concatenate(([grid[0] - 0.5 * (grid[1] - grid[0])], 0.5 * (grid[1:] + grid[:-1]),
                            [grid[-1] + 0.5 * (grid[-1] - grid[-2])]))
    which = np.searchsorted(edges, native, side="right") - 1
    inside = (which >= 0) & (which < grid.size)
    counts = np.bincount(which[inside], minlength=grid.size)
    return which, inside, counts


def log_rebin(freq, power, grid=None):
    """Rebin a PSD onto the log-spaced grid: the mean of the native pixels inside each grid bin.

    Bin edges are the midpoints between grid frequencies (the first and last bins are symmetric about
    their pixel). Below ≈ 2.03 μHz the grid is finer than the 0.009 μHz native step, so a few bins hold
    no native pixel; those take the linear interpolation of the (already smoothed) PSD at the bin centre.

    Parameters
    ----------
    freq : (n,) array, μHz, increasing.  power : (n,) or (m, n) array.  grid : (k,) array, default
        :func:`frequency_grid`.

    Returns
    -------
    (k,) or (m, k) array.
    """
    freq = np.asarray(freq, float)
    power = np.asarray(power, float)
    grid = frequency_grid() if grid is None else np.asarray(grid, float)
    which, inside, counts = _rebin_plan(freq.tobytes(), grid.tobytes())
    rows = power.reshape(-1, freq.size)
    out = np.empty((rows.shape[0], grid.size))
    empty = counts == 0
    for r, row in enumerate(rows):
        sums = np.bincount(which[inside], weights=row[inside], minlength=grid.size)
        out[r] = sums / np.maximum(counts, 1)
        if empty.any():
            out[r, empty] = np.interp(grid[empty], freq, row)
    return out.reshape(power.shape[:-1] + (grid.size,))


def _as_arrays(time_or_lc, flux):
    if flux is not None:
        return time_or_lc, flux
    lc = time_or_lc
    if not hasattr(lc, "time") or not hasattr(lc, "flux"):
        raise TypeError("compute_psd takes (time_days, flux_ppm) arrays or a lightkurve.LightCurve")
    from .io.lightcurves import lightcurve_to_ppm

    return lightcurve_to_ppm(lc)


def compute_psd(time_or_lc, flux_ppm=None, *, return_flags: bool = False):
    """The network's target: natural log of the flattened, smoothed, log-rebinned PSD.

    Parameters
    ----------
    time_or_lc : (n,) array of times in days, or a ``lightkurve.LightCurve`` (its flux is converted to
        ppm about its median; NaN cadences dropped).
    flux_ppm : (n,) array in ppm, when the first argument is a time array.
    return_flags : also return the :class:`PSDFlag` bits (``SHORT_BASELINE`` and ``UNDERSAMPLED`` are the
        non-fatal ones).

    Returns
    -------
    (2092,) float32 natural-log PSD on :func:`frequency_grid` (≈ 0 where there is only noise), and the
    flags if asked.

    Raises
    ------
    InvalidLightCurveError
        For NaN/inf values, unsorted or duplicate times, < 1,000 points, constant flux or a time axis that
        is not in days.
    """
    t, y, flags = _validate(*_as_arrays(time_or_lc, flux_ppm))
    freq = native_frequency()
    log_psd = np.log(log_rebin(freq, smooth(flatten(freq, _lomb_scargle(t, y))))).astype(np.float32)
    return (log_psd, flags) if return_flags else log_psd


def compute_power_spectrum(time_or_lc, flux_ppm=None, *, label: str | None = None) -> PowerSpectrum:
    """:func:`compute_psd` as an object: the log PSD of a light curve with its frequency grid and name.

    Parameters
    ----------
    time_or_lc : (n,) array of times in days, a ``lightkurve.LightCurve``, or a
        :class:`latentexplorer.io.lightcurves.LightCurveRecord` (from ``read_light_curve``).
    flux_ppm : (n,) array in ppm, when the first argument is a time array.
    label : str, optional
        Default: the record's ``target_id``, or "KIC n"/"TIC n"/OBJECT from a LightCurve's header metadata.

    Returns
    -------
    :class:`latentexplorer.powerspectrum.PowerSpectrum`
        One star's (2092,) float32 natural-log PSD on :func:`frequency_grid` (μHz) — the values of
        :func:`compute_psd` — with ``meta["flags"]`` its :class:`PSDFlag` bits.

    Raises
    ------
    InvalidLightCurveError
        As :func:`compute_psd`.
    """
    from .powerspectrum import PowerSpectrum

    if flux_ppm is None and hasattr(time_or_lc, "time_days") and hasattr(time_or_lc, "flux_ppm"):
        label = time_or_lc.target_id if label is None else label
        time_or_lc, flux_ppm = time_or_lc.time_days, time_or_lc.flux_ppm
    elif flux_ppm is None and label is None and isinstance(getattr(time_or_lc, "meta", None), Mapping):
        from .io.lightcurves import target_ids

        name, _, _ = target_ids(time_or_lc.meta)
        label = None if name == "unknown" else name
    log_psd, flags = compute_psd(time_or_lc, flux_ppm, return_flags=True)
    return PowerSpectrum(frequency_grid(), log_psd, label=label, meta={"flags": flags})


def envelope_weights(numax, freq=None, height: float = 1.0):
    """Pixel weights of the training loss (paper section 5): 1 + a Gaussian of ``height`` (the paper's: 1)
    at ν_max with standard deviation 2 Δν(ν_max) (Eq. 6).

    Parameters
    ----------
    numax : scalar or (n,) array, μHz.  freq : (k,) array, μHz, default :func:`frequency_grid`.
    height : the Gaussian's height (≥ 0).

    Returns
    -------
    (k,) or (n, k) float32 array.
    """
    freq = frequency_grid() if freq is None else np.asarray(freq, float)
    numax = np.asarray(numax, float)
    width = 2.0 * deltanu_from_numax(numax)
    w = 1.0 + height * np.exp(-0.5 * ((freq - numax[..., None]) / width[..., None]) ** 2)
    return w.astype(np.float32)
