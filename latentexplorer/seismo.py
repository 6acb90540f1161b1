"""Asteroseismic scaling relations and a global-parameter estimator for flattened power spectra.

Relations follow the paper (Eqs. 3, 6, 7) with the solar reference values in
:mod:`latentexplorer.constants` (Huber et al. 2011: ν_max,⊙ = 3090 μHz, Δν⊙ = 135.1 μHz,
Teff,⊙ = 5777 K). Every function is vectorised over NumPy arrays; frequencies are in μHz,
temperatures in K, masses and radii in solar units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from . import constants as C

__all__ = [
    "deltanu_from_numax",
    "excess_deltanu",
    "scaling_mass",
    "scaling_radius",
    "scaling_logg",
    "numax_from_logg",
    "GlobalSeismicParameters",
    "estimate_global_parameters",
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


def _estimate_numax(freq, excess):
    """ν_max from the excess power: a heavy smoothing over ~4 Δν to find the hump, then a Gaussian
    (in frequency) fitted to the lightly smoothed excess around it."""
    from scipy.optimize import curve_fit

    # Pixels per Δν on the 2092 grid are nearly constant (≈ 53), so a pixel-space smoothing of fixed
    # width is a fixed number of Δν at every frequency.
    pix_per_dnu = deltanu_from_numax(freq[:-1]) / np.diff(freq)
    width_pix = 3.0 * float(np.median(pix_per_dnu))
    smooth = gaussian_filter1d(excess, width_pix, mode="nearest")
    peak = int(np.argmax(smooth))
    guess = freq[peak]
    sigma_env = 0.66 * guess**0.88 / 2.355  # envelope width (Mosser et al. 2012), μHz
    window = np.abs(freq - guess) < 3 * sigma_env
    if window.sum() < 10:
        return float(guess)
    light = gaussian_filter1d(excess, 0.5 * float(np.median(pix_per_dnu)), mode="nearest")

    def gauss(f, height, mu, sig, floor):
        return floor + height * np.exp(-0.5 * ((f - mu) / sig) ** 2)

    try:
        p, _ = curve_fit(
            gauss,
            freq[window],
            light[window],
            p0=(max(smooth[peak], 1e-3), guess, sigma_env, 0.0),
            maxfev=4000,
        )
    except (RuntimeError, ValueError):
        return float(guess)
    if not (freq[window][0] <= p[1] <= freq[window][-1]):
        return float(guess)
    return float(p[1])


def _estimate_deltanu(freq, excess, numax):
    """Δν from the autocorrelation of the excess power within ±3 expected Δν... of ν_max, searched
    within ±25 % of Eq. 6, refined with a parabola through the ACF peak."""
    dnu0 = float(deltanu_from_numax(numax))
    half_width = max(4.0 * dnu0, 0.66 * numax**0.88)
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
    if 0 < k < n - 1:
        a, b, c = acf[k - 1], acf[k], acf[k + 1]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom != 0 else 0.0
    else:
        shift = 0.0
    return float((k + shift) * step)


def estimate_global_parameters(freq, log_psd) -> GlobalSeismicParameters:
    """Estimate ν_max and Δν (μHz) from a flattened natural-log PSD, e.g. on the 2092 grid.

    Parameters
    ----------
    freq : (n,) array, μHz, increasing.
    log_psd : (n,) array, natural log of the background-flattened PSD (≈ 0 where there is only noise),
        such as the output of :func:`latentexplorer.psd.compute_psd` or a decoder reconstruction.

    The excess power exp(log_psd) − 1 is smoothed heavily to locate the p-mode hump; ν_max is the
    centre of a Gaussian fitted around it. Δν is the autocorrelation peak of the excess power around
    ν_max within ±25 % of the Eq. 6 expectation. Returns NaN values if the spectrum is not finite.
    """
    freq = np.asarray(freq, float)
    log_psd = np.asarray(log_psd, float)
    if freq.shape != log_psd.shape or freq.ndim != 1:
        raise ValueError(f"freq and log_psd must be 1-D of equal length, got {freq.shape} and {log_psd.shape}")
    if not np.all(np.isfinite(log_psd)):
        return GlobalSeismicParameters(float("nan"), float("nan"))
    excess = np.expm1(log_psd)
    numax = _estimate_numax(freq, excess)
    return GlobalSeismicParameters(numax, _estimate_deltanu(freq, excess, numax))
