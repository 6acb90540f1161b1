"""The seismic model of a mock red giant: its granulation and solar-like oscillations, as a list of modes and a
background, in ppm²/μHz (single-sided, so it integrates to the variance); :mod:`latentexplorer.mock.lightcurves`
turns them into a Kepler light curve.

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

The remaining stellar parameters (ε_g, ΔΠ₁, q, Γ, amplitude, granulation) are drawn around these
relations with a small scatter from the caller's random generator (10 % in amplitude and granulation, the
scatter of the Kepler giants about the fits); the drawn values are returned with the light curve
(:class:`SeismicParameters`) so they can serve as truth. The envelope width is one relation for every
star: no published fit that separates the clump from the RGB at fixed ν_max is used here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import constants as C
from ..seismo import scaling_mass, scaling_radius

__all__ = [
    "SeismicParameters",
    "draw_seismic_parameters",
    "radial_mode_amplitude",
    "granulation_amplitude",
    "granulation_psd",
    "mode_table",
    "DEFAULT_TEFF_K",
]

# Huber et al. (2011) amplitude relation and its scale (see the module docstring).
AMPLITUDE_EXPONENTS = {"s": 0.838, "t": 1.32, "r": 2.0}
_AMPLITUDE_REFERENCE = {"amax_ppm": 40.0, "numax": 100.0, "mass": 1.2, "teff": 4800.0}
_CK_TEFF_K = 5934.0  # Kepler-band bolometric correction c_K = (Teff / 5934 K)^0.8 (Ballot et al. 2011)
# Kallinger et al. (2014) granulation amplitude a = 3710 ν_max^-0.613 M^-0.26 ppm.
GRANULATION_FIT = {"a": 3710.0, "numax_exponent": -0.613, "mass_exponent": -0.26}
DEFAULT_TEFF_K = 4800.0  # a typical Kepler red giant, used where the caller gives no Teff

_VISIBILITY2 = (1.0, 1.54, 0.63)  # l = 0, 1, 2 (Mosser et al. 2012)


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


def granulation_psd(freq, params):
    """Two-component granulation PSD (ppm²/μHz) at ``freq`` (μHz), Kallinger et al. (2014) form."""
    psd = np.zeros_like(freq)
    for a, b in zip(params.granulation_ppm, params.granulation_uhz):
        x2 = (freq / b) ** 2
        psd += (2.0 * np.sqrt(2.0) / np.pi) * a**2 / b / (1.0 + x2 * x2)
    return psd
