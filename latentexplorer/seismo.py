"""Asteroseismic scaling relations and a global-parameter estimator for flattened power spectra.

Relations follow the paper (Eqs. 3, 6, 7) with the solar reference values in
:mod:`latentexplorer.constants` (Huber et al. 2011: ν_max,⊙ = 3090 μHz, Δν⊙ = 135.1 μHz,
Teff,⊙ = 5777 K). Every function is vectorised over NumPy arrays; frequencies are in μHz,
temperatures in K, masses and radii in solar units.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from . import constants as C

__all__ = [
    "deltanu_from_numax",
    "excess_deltanu",
    "scaling_mass",
    "scaling_radius",
    "scaling_logg",
    "numax_from_logg",
    "GlobalSeismicParameters",
    "GlobalSeismicEstimate",
    "estimate_global_parameters",
    "envelope_sigma",
    "granulation_background",
]


def deltanu_from_numax(numax):
    """Expected large separation Δν (μHz) at ν_max (μHz): 0.263 ν_max^0.772 (paper Eq. 6)."""
    numax = np.asarray(numax, dtype=float)
    return C.DELTANU_NUMAX_COEFF_UHZ * numax**C.DELTANU_NUMAX_EXPONENT


def excess_deltanu(deltanu, numax):
    """Excess Δν (dimensionless): measured Δν over the Eq. 6 expectation at the same ν_max (Eq. 7)."""
    return np.asarray(deltanu, dtype=float) / deltanu_from_numax(numax)


def _relative_error(value, error):
    return np.zeros_like(np.asarray(value, dtype=float)) if error is None else np.asarray(error, float) / value


def _scaling(numax, deltanu, teff, exponents, numax_err, deltanu_err, teff_err):
    a, b, c = exponents
    x = (
        (np.asarray(numax, float) / C.NUMAX_SUN_UHZ) ** a
        * (np.asarray(deltanu, float) / C.DELTANU_SUN_UHZ) ** b
        * (np.asarray(teff, float) / C.TEFF_SUN_K) ** c
    )
    if numax_err is None and deltanu_err is None and teff_err is None:
        return x
    rel = np.sqrt(
        (a * _relative_error(numax, numax_err)) ** 2
        + (b * _relative_error(deltanu, deltanu_err)) ** 2
        + (c * _relative_error(teff, teff_err)) ** 2
    )
    return x, x * rel


def scaling_mass(numax, deltanu, teff, numax_err=None, deltanu_err=None, teff_err=None):
    """Scaling-relation mass in M☉ (paper Eq. 3): (ν_max/ν_max,⊙)³ (Δν/Δν⊙)⁻⁴ (Teff/Teff,⊙)^1.5.

    With any of the ``*_err`` (1σ, same units as the values) given, returns ``(mass, mass_err)``
    with the uncertainty propagated to first order (independent errors, added in quadrature).
    """
    return _scaling(numax, deltanu, teff, (3.0, -4.0, 1.5), numax_err, deltanu_err, teff_err)


def scaling_radius(numax, deltanu, teff, numax_err=None, deltanu_err=None, teff_err=None):
    """Scaling-relation radius in R☉: (ν_max/ν_max,⊙) (Δν/Δν⊙)⁻² (Teff/Teff,⊙)^0.5.

    Returns ``(radius, radius_err)`` when errors are given, as :func:`scaling_mass`.
    """
    return _scaling(numax, deltanu, teff, (1.0, -2.0, 0.5), numax_err, deltanu_err, teff_err)


def scaling_logg(numax, teff):
    """Surface gravity log10(g / cm s⁻²) from ν_max ∝ g Teff^-1/2."""
    return C.LOGG_SUN + np.log10(np.asarray(numax, float) / C.NUMAX_SUN_UHZ) + 0.5 * np.log10(
        np.asarray(teff, float) / C.TEFF_SUN_K
    )


def numax_from_logg(logg, teff):
    """ν_max (μHz) from log g (dex, cgs) and Teff (K); the inverse of :func:`scaling_logg`."""
    return C.NUMAX_SUN_UHZ * 10 ** (np.asarray(logg, float) - C.LOGG_SUN) * (
        np.asarray(teff, float) / C.TEFF_SUN_K
    ) ** -0.5


@dataclass(frozen=True)
class GlobalSeismicParameters:
    """ν_max and Δν (μHz) measured from one power spectrum; NaN where the estimate failed."""

    numax: float
    deltanu: float

    @property
    def excess_deltanu(self) -> float:
        return float(excess_deltanu(self.deltanu, self.numax))


@dataclass(frozen=True, eq=False, repr=False)
class GlobalSeismicEstimate:
    """ν_max and Δν measured from a :class:`latentexplorer.powerspectrum.PowerSpectrum` (one star or a stack).

    What :meth:`PowerSpectrum.estimate_global_parameters` returns; prints as a line (one star) or a table
    (a stack), so ``print(ps.estimate_global_parameters())`` is all a reader needs.

    Attributes
    ----------
    numax, deltanu : astropy Quantity, μHz
        Scalars for one spectrum, (n,) for a stack; NaN where no envelope (or no comb of modes) was found.
        ``est.numax.value`` is the bare float (array) in μHz.
    label : str, tuple of n str (a stack labelled row by row) or None
        The spectrum's label.
    excess_deltanu : float or (n,) array (property)
        Δν over the Eq. 6 expectation at the measured ν_max (paper Eq. 7), dimensionless.
    """

    numax: object
    deltanu: object
    label: object = None

    @classmethod
    def from_values(cls, numax, deltanu, label=None) -> "GlobalSeismicEstimate":
        """From floats or arrays in μHz (or Quantities, converted to μHz)."""
        import astropy.units as u

        return cls(u.Quantity(numax, u.uHz, dtype=float), u.Quantity(deltanu, u.uHz, dtype=float), label)

    @property
    def is_stack(self) -> bool:
        return bool(np.ndim(self.numax))

    @property
    def excess_deltanu(self):
        value = excess_deltanu(self.deltanu.to_value("uHz"), self.numax.to_value("uHz"))
        return value if self.is_stack else float(value)

    def to_table(self):
        """An astropy Table, one row per spectrum: label (if any), numax and deltanu (μHz), excess_deltanu."""
        from astropy.table import QTable

        columns = {"numax": np.atleast_1d(self.numax), "deltanu": np.atleast_1d(self.deltanu),
                   "excess_deltanu": np.atleast_1d(self.excess_deltanu)}
        if self.label is not None:
            labels = self.label if isinstance(self.label, tuple) else [self.label] * columns["numax"].size
            columns = {"label": list(labels), **columns}
        return QTable(columns)

    def __repr__(self) -> str:
        numax, deltanu = self.numax.to_value("uHz"), self.deltanu.to_value("uHz")
        if not self.is_stack:
            head = f"{self.label}: " if self.label else ""
            return (f"GlobalSeismicEstimate({head}ν_max = {numax:.2f} μHz, Δν = {deltanu:.3f} μHz, "
                    f"excess Δν = {self.excess_deltanu:.3f})")
        n = numax.size
        per_row = isinstance(self.label, tuple)
        names = list(self.label) if per_row else [str(i) for i in range(n)]
        title = f"{self.label}: stack of {n}" if self.label and not per_row else f"stack of {n}"
        width = max([5] + [len(name) for name in names])
        lines = [f"GlobalSeismicEstimate({title})",
                 f"  {'label' if per_row else 'row':<{width}}  {'ν_max [μHz]':>11}  {'Δν [μHz]':>9}  {'excess Δν':>9}"]
        shown = range(n) if n <= 10 else [*range(5), None, *range(n - 5, n)]
        excess = self.excess_deltanu
        for i in shown:
            lines.append("  …" if i is None else
                         f"  {names[i]:<{width}}  {numax[i]:>11.2f}  {deltanu[i]:>9.3f}  {excess[i]:>9.3f}")
        return "\n".join(lines)


def envelope_sigma(numax):
    """Standard deviation (μHz) of the p-mode envelope: FWHM = 0.66 ν_max^0.88 (Mosser et al. 2012)."""
    return 0.66 * np.asarray(numax, float) ** 0.88 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def granulation_background(freq, numax):
    """Shape of a red giant's granulation background (arbitrary units) at ``freq`` (μHz) for ``numax``:
    two Harvey-like components with knees b1 = 0.317 ν_max^0.97 and b2 = 0.948 ν_max^0.992 μHz and equal
    amplitudes (Kallinger et al. 2014)."""
    freq = np.asarray(freq, float)
    b1, b2 = 0.317 * numax**0.97, 0.948 * numax**0.992
    return 1.0 / b1 / (1.0 + (freq / b1) ** 4) + 1.0 / b2 / (1.0 + (freq / b2) ** 4)


@functools.lru_cache(maxsize=8)
def _matched_filter(freq_bytes: bytes, search: tuple) -> tuple:
    """Trial frequencies, their envelope widths and the row-normalised Gaussian kernels (trials × pixels)
    of :func:`_estimate_numax` for one frequency grid (cached: the grid rarely changes)."""
    freq = np.frombuffer(freq_bytes, dtype=float)
    trials = freq[(freq >= search[0]) & (freq <= search[1])][::4]
    sig = envelope_sigma(trials)
    kernel = np.exp(-0.5 * ((freq[None, :] - trials[:, None]) / sig[:, None]) ** 2) * np.gradient(freq)
    return trials, sig, kernel / kernel.sum(axis=1, keepdims=True)


def _estimate_numax(freq, excess, background, search=(3.0, 260.0), min_significance=4.0):
    """ν_max from the excess power by a matched filter, then an iterated centroid; NaN if no hump.

    For every trial frequency ν inside ``search`` the excess power is averaged with a Gaussian kernel of
    the expected envelope width σ_env(ν) (pixels weighted by their width in μHz); the score is that mean
    times sqrt(σ_env(ν)), its signal-to-noise for noise that decorrelates over a fixed frequency scale.
    A best score less than ``min_significance`` robust standard deviations above the median score means
    no envelope was found. The best trial is refined by iterating the excess-weighted centroid within
    ±2.5 σ_env, which removes the trial-grid quantisation and the kernel's pull towards its own centre
    (≤ 2.5 % on coherent injections from 10 to 200 μHz).

    A flattened PSD is signal over background; on a falling background its hump peaks above ν_max. With
    ``background="granulation"`` the centroid weights the excess by :func:`granulation_background` at the
    current ν_max (relative to its value there), turning it back into mode power; ``None`` assumes a flat
    (white) background.
    """
    dfreq = np.gradient(freq)
    trials, sig, kernel = _matched_filter(freq.tobytes(), search)
    score = (kernel @ excess) * np.sqrt(sig)
    spread = 1.4826 * np.median(np.abs(score - np.median(score)))
    best = int(np.argmax(score))
    if not spread > 0 or (score[best] - np.median(score)) / spread < min_significance:
        return float("nan")
    numax = float(trials[best])
    for _ in range(30):
        w = np.abs(freq - numax) < 2.5 * envelope_sigma(numax)
        weight = excess[w] * dfreq[w]
        if background == "granulation":
            weight = weight * granulation_background(freq[w], numax) / granulation_background(numax, numax)
        if weight.sum() <= 0:
            return float("nan")
        numax, previous = float((freq[w] * weight).sum() / weight.sum()), numax
        if abs(numax - previous) < 1e-5 * numax:
            break
    return numax


def _estimate_deltanu(freq, excess, numax):
    """Δν from the autocorrelation of the excess power within ±3 expected Δν... of ν_max, searched
    within ±25 % of Eq. 6, refined with a parabola through the ACF peak."""
    dnu0 = float(deltanu_from_numax(numax))
    half_width = max(4.0 * dnu0, 2.0 * float(envelope_sigma(numax)))
    step = dnu0 / 200.0
    f_uniform = np.arange(max(numax - half_width, freq[0]), min(numax + half_width, freq[-1]), step)
    if f_uniform.size < 400:
        return float("nan")
    y = np.interp(f_uniform, freq, excess)
    y = y - y.mean()
    n = y.size
    spec = np.fft.rfft(y, 2 * n)
    acf = np.fft.irfft(spec * np.conj(spec))[:n]
    lags = np.arange(n) * step
    search = (lags > 0.75 * dnu0) & (lags < 1.25 * dnu0)
    idx = np.flatnonzero(search)
    k = idx[np.argmax(acf[idx])]
    if k in (idx[0], idx[-1]):  # no ACF peak inside the search range: no comb of modes
        return float("nan")
    a, b, c = acf[k - 1], acf[k], acf[k + 1]
    denom = a - 2 * b + c
    shift = float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5)) if denom != 0 else 0.0
    return float((k + shift) * step)


def estimate_global_parameters(freq, log_psd, background: str | None = "granulation") -> GlobalSeismicParameters:
    """Estimate ν_max and Δν (μHz) from a flattened natural-log PSD, e.g. on the 2092 grid.

    Parameters
    ----------
    freq : (n,) array, μHz, increasing.
    log_psd : (n,) array, natural log of the background-flattened PSD (≈ 0 where there is only noise),
        such as the output of :func:`latentexplorer.psd.compute_psd` or a decoder reconstruction.
    background : "granulation" (default: a red giant's Kepler PSD, whose flattened envelope would
        otherwise peak 5–15 % above ν_max) or None (a white background, e.g. photon-noise dominated).
        On mock Kepler giants from 6 to 240 μHz the default gives a median |Δν_max|/ν_max of 1.7 %
        (94 % within 10 %; up to +16 % below 12 μHz, where the 0.01-dex flattening eats most of the
        envelope), against 7.8 % without the correction.

    The excess power exp(log_psd) − 1 is searched with a matched filter of the expected envelope width
    to locate the p-mode hump; ν_max is its excess-weighted centroid. Δν is the autocorrelation peak of the excess power around
    ν_max within ±25 % of the Eq. 6 expectation. Returns NaN values if the spectrum is not finite or shows
    no significant excess (e.g. pure noise).
    """
    freq = np.asarray(freq, float)
    log_psd = np.asarray(log_psd, float)
    if freq.shape != log_psd.shape or freq.ndim != 1:
        raise ValueError(f"freq and log_psd must be 1-D of equal length, got {freq.shape} and {log_psd.shape}")
    if not np.all(np.isfinite(log_psd)):
        return GlobalSeismicParameters(float("nan"), float("nan"))
    excess = np.expm1(log_psd)
    if background not in ("granulation", None):
        raise ValueError(f"background must be 'granulation' or None, got {background!r}")
    numax = _estimate_numax(freq, excess, background)
    if not np.isfinite(numax):
        return GlobalSeismicParameters(float("nan"), float("nan"))
    return GlobalSeismicParameters(numax, _estimate_deltanu(freq, excess, numax))
