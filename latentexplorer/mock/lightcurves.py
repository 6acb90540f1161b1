"""Mock Kepler long-cadence light curves of red giants with a known ν_max, Δν and evolutionary state.

A light curve is synthesised in the frequency domain: the star's model power spectral density (PSD) is
built on the Fourier grid of an evenly sampled series (29.4244-min cadence over ~4 years), complex
Gaussian coefficients are drawn on it (so the power in each bin follows χ² with 2 degrees of freedom
about the model), an inverse real FFT gives the time series, photon noise is added, and the Kepler
observing window (quarterly downlinks, safe modes, randomly missing cadences, quality-flagged cadences
with bad flux) is cut out. One curve costs a few milliseconds (see ``benchmarks/bench_mock_lightcurves``).

The model PSD, in ppm²/μHz (single-sided, so it integrates to the variance):

* **Granulation**: two Harvey-like components with exponent 4, amplitude a = 3710 ν_max^-0.613 M^-0.26 ppm
  (:func:`granulation_amplitude`: Kallinger et al. 2014, A&A 570, A41, their fit to ~1,000 Kepler giants
  with a separate mass term; the mass-free fit a = 3382 ν_max^-0.609 of the same paper gives the same a
  at M ≈ 1.4 M☉) and characteristic frequencies b₁ = 0.317 ν_max^0.970, b₂ = 0.948 ν_max^0.992 μHz (same
  paper: the timescales follow ν_max alone), P(ν) = ξ a²/b / (1 + (ν/b)⁴) with ξ = 2√2/π. At fixed ν_max a
  heavier giant has weaker granulation.
* **Solar-like oscillations** on the asymptotic relation of red giants (Mosser et al. 2011, A&A 525,
  L9; 2013, A&A 550, A126): radial modes ν_{n,0} = (n + ε + α/2 (n − n_max)²) Δν with
  ε = 0.601 + 0.632 log₁₀ Δν (Corsaro et al. 2012, ApJ 757, 190; 0.1 lower for the clump, Kallinger et
  al. 2012, A&A 541, A51), curvature α = 0.015 Δν^-0.32, small separations δν₀₁/Δν = −(0.056 + 0.002
  log₁₀ Δν) and δν₀₂/Δν = 0.121 + 0.035 log₁₀ Δν. Mode heights follow a Gaussian envelope at ν_max of
  FWHM 0.66 ν_max^0.88 (Mosser et al. 2012, A&A 537, A30) with a radial-mode rms amplitude from the
  luminosity–mass relation of Huber et al. (2011, ApJ 743, 143, their fit to ~1,700 Kepler stars from
  the main sequence to the clump), A_max ∝ L^s / (M^t Teff^(r−1) c_K(Teff)) with s = 0.838, t = 1.32,
  r = 2 and the Kepler-band bolometric correction c_K = (Teff / 5934 K)^0.8 (Ballot et al. 2011, A&A 531,
  A124) (:func:`radial_mode_amplitude`). L and M are the star's own (the scaling relations give both from
  ν_max, Δν and Teff), so at fixed ν_max A_max ∝ ν_max^-0.84 M^-0.48 Teff^1.1: a heavier giant oscillates
  with smaller modes, and a clump star (hotter, more luminous at its ν_max) differs from an RGB star of the
  same ν_max. The scale, 40 ppm for a 1.2 M☉, 4,800 K giant at ν_max = 100 μHz, puts the smoothed
  height-to-background ratio near ν_max at the observed ~3–4 (Mosser et al. 2012). Relative visibilities V²_l = 1, 1.54, 0.63 for l = 0, 1, 2 (Mosser et al. 2012).
  Finite lifetimes give Lorentzian profiles of width Γ = 0.10 μHz (Δν / 7 μHz)^0.5 on the RGB and
  0.15 μHz (Δν / 4 μHz)^0.5 in the clump: the 0.05–0.2 μHz of Vrard et al. (2018, A&A 616, A94), wider
  in the clump, narrowing towards the luminous giants (Dréau et al. 2021, A&A 650, A115).
* **Mixed dipole modes**: dipole p modes couple to the core g modes, tan[π(ν − ν_p)/Δν] =
  q tan[π/(ν ΔΠ₁) − π ε_g] (Mosser et al. 2012, A&A 540, A143; 2015, A&A 584, A50). Each mixed mode
  carries the fraction 1 − ζ of the p-mode power and of its linewidth, with
  ζ = [1 + (ν² ΔΠ₁ / (q Δν)) cos²(π/(νΔΠ₁) − πε_g) / cos²(π(ν − ν_p)/Δν)]⁻¹. RGB stars have
  ΔΠ₁ ≈ 60–90 s rising with Δν and q ≈ 0.15 (smaller for evolved RGB stars); clump stars ΔΠ₁ ≈ 250–320 s
  and q ≈ 0.3 (Vrard et al. 2016, A&A 588, A87; Mosser et al. 2017, A&A 600, A1), so clump dipole power
  is spread over many widely spaced mixed modes while RGB dipole power stays close to the p mode: the
  evolutionary state is visible in the PSD. Where the g-mode spacing ν²ΔΠ₁ is below two frequency bins
  of the 4-year series (luminous RGB stars, ν_max ≲ 20 μHz) the dipole modes are pure p modes.
* Apodisation of the signal by the 29.4-min integration, sinc²(πν / 2ν_Nyq) (Chaplin et al. 2011),
  with super-Nyquist power reflected about ν_Nyq.
* **Photon noise** (white) from the Kepler magnitude: 1.74 × 10⁵ e⁻/s at Kp = 12 (Kepler Instrument
  Handbook; Jenkins et al. 2010, ApJ 713, L87) over 270 × 6.02 s of exposure per long cadence, plus the
  read-out and background term 7 × 10⁶ max(1, Kp/14)⁴ e⁻² per 6.5 h (Gilliland et al. 2010, ApJ 713,
  L160) scaled to one cadence; it is part of the model PSD, so one inverse FFT gives the whole series.

The remaining stellar parameters (ε_g, ΔΠ₁, q, Γ, amplitude, granulation) are drawn around these
relations with a small scatter from the caller's random generator (10 % in amplitude and granulation, the
scatter of the Kepler giants about the fits); the drawn values are returned with the light curve
(:class:`SeismicParameters`) so they can serve as truth. The envelope width is one relation for every
star: no published fit that separates the clump from the RGB at fixed ν_max is used here.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np
import scipy.fft

from .. import constants as C
from ..seismo import scaling_mass, scaling_radius

__all__ = [
    "SeismicParameters",
    "MockLightCurve",
    "draw_seismic_parameters",
    "radial_mode_amplitude",
    "granulation_amplitude",
    "mode_table",
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

# Huber et al. (2011) amplitude relation and its scale (see the module docstring).
AMPLITUDE_EXPONENTS = {"s": 0.838, "t": 1.32, "r": 2.0}
_AMPLITUDE_REFERENCE = {"amax_ppm": 40.0, "numax": 100.0, "mass": 1.2, "teff": 4800.0}
_CK_TEFF_K = 5934.0  # Kepler-band bolometric correction c_K = (Teff / 5934 K)^0.8 (Ballot et al. 2011)
# Kallinger et al. (2014) granulation amplitude a = 3710 ν_max^-0.613 M^-0.26 ppm.
GRANULATION_FIT = {"a": 3710.0, "numax_exponent": -0.613, "mass_exponent": -0.26}
DEFAULT_TEFF_K = 4800.0  # a typical Kepler red giant, used where the caller gives no Teff

_VISIBILITY2 = (1.0, 1.54, 0.63)  # l = 0, 1, 2 (Mosser et al. 2012)
_LORENTZ_HALF_WINDOW = 8.0  # each Lorentzian is summed over ±8 linewidths, its power renormalised
_NARROW_HALF_BINS = 16  # window (bins either side) shared by the modes narrower than 16/20 bins

# Kepler SAP_QUALITY bits (Kepler Archive Manual, Table 2.3) that the mock sets on bad cadences; all are
# in lightkurve's default bitmask, so a default read drops them.
_ATTITUDE_TWEAK, _SAFE_MODE, _COARSE_POINT, _DESAT, _NO_DATA = 1, 2, 4, 32, 65536
QUALITY_BAD_FLAGS = _ATTITUDE_TWEAK | _SAFE_MODE | _COARSE_POINT | _DESAT | _NO_DATA


@dataclass(frozen=True)
class SeismicParameters:
    """The oscillation and granulation parameters of one mock star (frequencies in μHz).

    ``epsilon`` is the radial-mode phase ε; ``d01``/``d02`` the small separations δν₀₁/Δν, δν₀₂/Δν;
    ``alpha`` the curvature of the radial ridge; ``deltapi1_s`` the dipole g-mode period spacing ΔΠ₁ (s);
    ``coupling`` the mixed-mode coupling q; ``epsilon_g`` the g-mode phase; ``linewidth`` the radial-mode
    linewidth Γ; ``amax_ppm`` the rms amplitude of a radial mode at ν_max; ``granulation_ppm`` and
    ``granulation_uhz`` the amplitudes a and characteristic frequencies b of the two Harvey components;
    ``teff`` (K), ``mass`` (M☉) and ``luminosity`` (L☉) the star's, mass and luminosity from the scaling
    relations (exact for a mock star, whose ν_max and Δν follow them).
    """

    numax: float
    deltanu: float
    evolstate: str
    teff: float
    mass: float
    luminosity: float
    epsilon: float
    d01: float
    d02: float
    alpha: float
    deltapi1_s: float
    coupling: float
    epsilon_g: float
    linewidth: float
    amax_ppm: float
    granulation_ppm: tuple[float, float]
    granulation_uhz: tuple[float, float]

    @property
    def envelope_sigma(self) -> float:
        """Gaussian σ (μHz) of the mode envelope: FWHM 0.66 ν_max^0.88 / 2.355 (Mosser et al. 2012)."""
        return 0.66 * self.numax**0.88 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


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


def radial_mode_amplitude(luminosity, mass, teff):
    """rms amplitude (ppm) of a radial mode at ν_max, Huber et al. (2011):
    A_max ∝ L^s / (M^t Teff^(r−1) c_K(Teff)), s = 0.838, t = 1.32, r = 2, c_K = (Teff / 5934 K)^0.8,
    scaled to 40 ppm for a 1.2 M☉, 4,800 K giant at ν_max = 100 μHz.

    Parameters
    ----------
    luminosity : array_like, L☉.  mass : array_like, M☉.  teff : array_like, K.

    Returns
    -------
    ndarray (broadcast shape), ppm.
    """
    return _AMPLITUDE_SCALE * _huber_relation(np.asarray(luminosity, float), np.asarray(mass, float),
                                              np.asarray(teff, float))


def _huber_relation(luminosity, mass, teff):
    """L^s / (M^t Teff^(r−1) c_K(Teff)) of Huber et al. (2011), unscaled."""
    e = AMPLITUDE_EXPONENTS
    return luminosity ** e["s"] / (mass ** e["t"] * teff ** (e["r"] - 1.0) * (teff / _CK_TEFF_K) ** 0.8)


def _amplitude_scale() -> float:
    """ppm per unit of :func:`_huber_relation`: 40 ppm for the reference giant, whose luminosity follows from
    R² = M (Teff/Teff☉)^-½ / (ν_max/ν_max☉) (ν_max ∝ M R⁻² Teff^-½)."""
    ref = _AMPLITUDE_REFERENCE
    t_ref = ref["teff"] / C.TEFF_SUN_K
    lum_ref = ref["mass"] * t_ref**-0.5 / (ref["numax"] / C.NUMAX_SUN_UHZ) * t_ref**4
    return ref["amax_ppm"] / _huber_relation(lum_ref, ref["mass"], ref["teff"])


_AMPLITUDE_SCALE = _amplitude_scale()


def granulation_amplitude(numax, mass):
    """Granulation amplitude a (ppm) of each Harvey component, Kallinger et al. (2014):
    a = 3710 ν_max^-0.613 M^-0.26 (ν_max in μHz, M in M☉). Returns an ndarray (broadcast shape)."""
    g = GRANULATION_FIT
    return g["a"] * np.asarray(numax, float) ** g["numax_exponent"] * np.asarray(mass, float) ** g["mass_exponent"]


def draw_seismic_parameters(numax, deltanu, evolstate, rng, teff=DEFAULT_TEFF_K) -> SeismicParameters:
    """Draw one star's oscillation and granulation parameters around the literature relations.

    Parameters
    ----------
    numax, deltanu : float, μHz.
    evolstate : 'RGB' or 'RC'.
    rng : numpy.random.Generator.
    teff : float, K (default 4,800 K); with ν_max and Δν it gives the star's mass and luminosity
        (scaling relations), on which the mode and granulation amplitudes depend.

    Returns
    -------
    SeismicParameters
    """
    numax, deltanu, teff = float(numax), float(deltanu), float(teff)
    mass = float(scaling_mass(numax, deltanu, teff))
    luminosity = float(scaling_radius(numax, deltanu, teff) ** 2 * (teff / C.TEFF_SUN_K) ** 4)
    log_dnu = np.log10(deltanu)
    clump = evolstate == "RC"
    epsilon = 0.601 + 0.632 * log_dnu - (0.1 if clump else 0.0) + rng.normal(0.0, 0.02)
    if clump:
        deltapi1 = rng.uniform(250.0, 320.0)
        coupling = np.clip(rng.normal(0.30, 0.04), 0.2, 0.4)
        linewidth = 0.15 * (deltanu / 4.0) ** 0.5 * np.exp(rng.normal(0.0, 0.15))
    else:
        deltapi1 = np.clip(60.0 + 1.8 * (deltanu - 4.0), 50.0, 92.0) + rng.normal(0.0, 2.0)
        coupling = 0.15 * min(1.0, deltanu / 7.0) ** 0.6 * np.exp(rng.normal(0.0, 0.1))
        linewidth = 0.10 * (deltanu / 7.0) ** 0.5 * np.exp(rng.normal(0.0, 0.15))
    granulation_ppm = float(granulation_amplitude(numax, mass)) * np.exp(rng.normal(0.0, 0.1))
    return SeismicParameters(
        numax=numax,
        deltanu=deltanu,
        evolstate=evolstate,
        teff=teff,
        mass=mass,
        luminosity=luminosity,
        epsilon=float(epsilon),
        d01=-0.056 - 0.002 * log_dnu,
        d02=0.121 + 0.035 * log_dnu,
        alpha=0.015 * deltanu**-0.32,
        deltapi1_s=float(deltapi1),
        coupling=float(coupling),
        epsilon_g=float(rng.normal(0.28, 0.08)),
        linewidth=float(linewidth),
        amax_ppm=float(radial_mode_amplitude(luminosity, mass, teff) * np.exp(rng.normal(0.0, 0.1))),
        granulation_ppm=(float(granulation_ppm), float(granulation_ppm)),
        granulation_uhz=(0.317 * numax**0.970, 0.948 * numax**0.992),
    )


def _mixed_dipole_modes(p, nu_p1):
    """Mixed dipole modes around the p-mode frequencies ``nu_p1`` (μHz) that have resolvable g-mode
    spacing: (nu, 1 − ζ, index of the parent p mode), each (m,). Roots of
    G(ν) = sin θ_p cos θ_g − q cos θ_p sin θ_g (i.e. tan θ_p = q tan θ_g) found on a grid uniform in
    period, fine enough to separate neighbouring modes."""
    dpi = p.deltapi1_s * 1e-6  # ΔΠ₁ in 1/μHz
    lo = nu_p1 - 0.5 * p.deltanu
    hi = nu_p1 + 0.5 * p.deltanu
    f_lo, f_hi = lo.min(), hi.max()
    step = min(dpi, p.coupling * p.deltanu / f_hi**2) / 12.0  # in period, 1/μHz
    period = np.arange(1.0 / f_hi, 1.0 / f_lo, step)
    nu = 1.0 / period[::-1]
    parent = np.clip(np.searchsorted(hi, nu), 0, nu_p1.size - 1)
    theta_p = np.pi * (nu - nu_p1[parent]) / p.deltanu
    theta_g = np.pi / (nu * dpi) - np.pi * p.epsilon_g
    g = np.sin(theta_p) * np.cos(theta_g) - p.coupling * np.cos(theta_p) * np.sin(theta_g)
    k = np.flatnonzero((np.sign(g[:-1]) != np.sign(g[1:])) & (parent[:-1] == parent[1:]))
    root = nu[k] - g[k] * (nu[k + 1] - nu[k]) / (g[k + 1] - g[k])
    parent = parent[k]
    theta_p = np.pi * (root - nu_p1[parent]) / p.deltanu
    theta_g = np.pi / (root * dpi) - np.pi * p.epsilon_g
    ratio = root**2 * dpi / (p.coupling * p.deltanu)
    zeta = 1.0 / (1.0 + ratio * np.cos(theta_g) ** 2 / np.maximum(np.cos(theta_p) ** 2, 1e-12))
    return root, 1.0 - zeta, parent


def mode_table(params: SeismicParameters, resolution_uhz: float):
    """Frequencies, linewidths and powers of the star's radial, dipole and quadrupole modes.

    Parameters
    ----------
    params : SeismicParameters.
    resolution_uhz : float, frequency resolution 1/T of the series (μHz); dipole modes whose g-mode
        spacing ν²ΔΠ₁ is below two resolution bins are kept as pure p modes.

    Returns
    -------
    nu : (m,) μHz, the mode frequencies.
    linewidth : (m,) μHz, Lorentzian full widths at half maximum.
    power : (m,) ppm², mode variances (rms amplitude squared).
    degree : (m,) int, angular degree l.
    """
    p = params
    sigma = p.envelope_sigma
    n_max = p.numax / p.deltanu - p.epsilon
    n = np.arange(np.floor((p.numax - 4.5 * sigma) / p.deltanu - p.epsilon) - 1,
                  np.ceil((p.numax + 4.5 * sigma) / p.deltanu - p.epsilon) + 2)
    nu0 = (n + p.epsilon + 0.5 * p.alpha * (n - n_max) ** 2) * p.deltanu
    nu0 = nu0[nu0 > 0.5 * p.deltanu]
    nu1 = nu0 + (0.5 + p.d01) * p.deltanu
    nu2 = nu0 - p.d02 * p.deltanu

    mixed = nu1**2 * p.deltapi1_s * 1e-6 >= 2.0 * resolution_uhz
    nus, degrees = [nu0, nu2, nu1[~mixed]], [0, 2, 1]
    fractions = [np.ones_like(nu0), np.ones_like(nu2), np.ones(np.count_nonzero(~mixed))]
    if mixed.any():
        nu_m, frac_m, _ = _mixed_dipole_modes(p, nu1[mixed])
        nus.append(nu_m)
        fractions.append(frac_m)
        degrees.append(1)
    degree = np.concatenate([np.full(x.size, d) for x, d in zip(nus, degrees)])
    frac = np.concatenate(fractions)
    nu = np.concatenate(nus)
    widths = p.linewidth * frac
    envelope = np.exp(-0.5 * ((nu - p.numax) / sigma) ** 2)
    power = p.amax_ppm**2 * np.asarray(_VISIBILITY2)[degree] * frac * envelope
    return nu, widths, power, degree


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


def _harvey(freq, params):
    """Two-component granulation PSD (ppm²/μHz) at ``freq`` (μHz), Kallinger et al. (2014) form."""
    psd = np.zeros_like(freq)
    for a, b in zip(params.granulation_ppm, params.granulation_uhz):
        x2 = (freq / b) ** 2
        psd += (2.0 * np.sqrt(2.0) / np.pi) * a**2 / b / (1.0 + x2 * x2)
    return psd


def _signal_psd(params: SeismicParameters, n_fft):
    """Model PSD of granulation + oscillations, ppm²/μHz, on the real-FFT grid of ``n_fft`` cadences:
    (freq (m,), df, psd (m,)), μHz."""
    freq, df, apod, apod_reflected = _fourier_grid(n_fft)
    psd = _harvey(freq, params) * apod
    psd += _harvey(2.0 * _NYQUIST_UHZ - freq, params) * apod_reflected

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
