"""The mock's giants: stellar evolution and seismology of red-giant-branch (RGB) and red-clump (RC) stars.

Masses come from inverting the published age(mass, [Fe/H]) fits (:func:`rgb_age`, :func:`rc_age`); stars enter
the giant phase at a rate ∝ IMF(M) |dM/dτ| and stay on the sampled red-giant branch for a time ∝ their age and
in the red clump for ~0.1 Gyr (longer for the secondary clump), which sets both the giant age bias and the RC
fraction (:func:`giant_weights`). RGB stars are placed along a metallicity-dependent giant branch, RC stars in a
narrow clump; ν_max, Δν follow the scaling relations exactly (:func:`stellar_parameters`); [C/N] follows first
dredge-up (:func:`carbon_nitrogen`). Units: Gyr, M☉, R☉, L☉, K, dex, μHz.
"""

from __future__ import annotations

import numpy as np

from .. import constants as C
from ..seismo import numax_from_logg

__all__ = ["rgb_age", "rc_age", "mass_from_age", "giant_weights", "giant_weight_envelope", "stellar_parameters",
           "carbon_nitrogen"]

GENERAL_LOGG_RANGE = (1.0, 3.8)  # bounds of the RGB log g draw (both selections)
# Position on the red-giant branch: truncated normal in log g (mean, sigma) per selection, and the
# fraction of a star's age it spends on the part of the RGB the selection samples.
RGB_LOGG_DISTRIBUTION = {"general": (2.45, 0.65), "kepler": (3.05, 0.64)}
RGB_LIFETIME_FRACTION = {"general": 0.1, "kepler": 0.066}
CHEB_LIFETIME_GYR = 0.1  # core-helium burning, low-mass stars; secondary clump longer (below)
RC_LOG_L = np.log10(50.0)  # primary clump luminosity, L☉
SECONDARY_CLUMP_LOG_L = 1.55  # faintest core-helium burners, at ≈ 2.3 M☉
IMF_SLOPE = 2.35  # Salpeter


# --- Published fits to DR17 asteroseismic ages (issue 3) --------------------------------------------
def rgb_age(mass, feh):
    """Age (Gyr) of a red-giant-branch star of ``mass`` (M☉) and ``feh`` (dex):
    10.67 M^-3.06 − 6.16 M [Fe/H] + 11.22 [Fe/H]."""
    mass, feh = np.asarray(mass, float), np.asarray(feh, float)
    return 10.67 * mass**-3.06 - 6.16 * mass * feh + 11.22 * feh


def rc_age(mass, feh):
    """Age (Gyr) of a red-clump star of ``mass`` (M☉) and ``feh`` (dex):
    6.29 M^-2.25 − 1.62 M [Fe/H] + 3.94 [Fe/H]."""
    mass, feh = np.asarray(mass, float), np.asarray(feh, float)
    return 6.29 * mass**-2.25 - 1.62 * mass * feh + 3.94 * feh


_FITS = {"RGB": (rgb_age, 10.67, 3.06, 6.16), "RC": (rc_age, 6.29, 2.25, 1.62)}
_MASS_RANGE = (0.6, 4.0)  # M☉, the range over which the fits are inverted


def mass_from_age(age, feh, evolstate):
    """Invert :func:`rgb_age` or :func:`rc_age`: the mass (M☉) with that age (Gyr) at ``feh`` (dex).

    The fits decrease with mass up to a turning point that exists for [Fe/H] < 0; the inversion is
    on the decreasing branch within 0.6–4 M☉, so an age outside the fit's range at that [Fe/H] maps to
    the nearest end (the caller recomputes the age from the returned mass where that matters).

    Returns
    -------
    mass : ndarray, same shape as ``age``, M☉.
    """
    if evolstate not in _FITS:
        raise ValueError(f"evolstate must be 'RGB' or 'RC', got {evolstate!r}")
    fit, a, p, b = _FITS[evolstate]
    age, feh = np.broadcast_arrays(np.asarray(age, float), np.asarray(feh, float))
    lo = np.full(age.shape, _MASS_RANGE[0])
    # Turning point where d age / d M = 0 (only for [Fe/H] < 0): M = (p a / (b |feh|))^(1/(p+1)).
    with np.errstate(divide="ignore"):
        turn = np.where(feh < 0, (p * a / (b * np.abs(feh))) ** (1.0 / (p + 1.0)), np.inf)
    hi = np.minimum(turn, _MASS_RANGE[1])
    for _ in range(40):  # bisection: the bracket shrinks below 1e-11 M☉
        mid = 0.5 * (lo + hi)
        older = fit(mid, feh) > age  # still older than the target: need more mass
        lo = np.where(older, mid, lo)
        hi = np.where(older, hi, mid)
    return 0.5 * (lo + hi)


def _metallicity(feh, alpha):
    """Overall [M/H] (dex) of an α-enhanced mixture (Salaris et al. 1993)."""
    return feh + np.log10(0.638 * 10**alpha + 0.362)


# --- Evolution -----------------------------------------------------------------------------------
def _cheb_lifetime(mass):
    """Core-helium-burning lifetime (Gyr): ~0.1 Gyr for a degenerate-core clump, rising to 0.15 Gyr
    for the secondary clump (M ≳ 1.7 M☉)."""
    return CHEB_LIFETIME_GYR * (1.0 + 0.5 * np.clip((mass - 1.7) / 0.8, 0.0, 1.0))


def _solar_mass(age, evolstate):
    """Mass (M☉) at ``age`` (Gyr) for [Fe/H] = 0, where the fits invert in closed form: M = (τ/a)^(−1/p)."""
    _, a, p, _ = _FITS[evolstate]
    return (age / a) ** (-1.0 / p)


def _turnoff_rate(age):
    """Stars leaving the main sequence per Gyr of birth time (arbitrary units) at ``age`` (Gyr): the
    Salpeter IMF at the turn-off mass times |dM/dτ| = M / (p τ), from the solar-metallicity RGB fit."""
    mass = _solar_mass(age, "RGB")
    return mass ** (-IMF_SLOPE) * mass / (_FITS["RGB"][2] * age)


def giant_weights(age, selection):
    """Relative numbers of RGB and RC giants of this age (Gyr) in the selection: the turn-off rate
    times the time spent on the sampled RGB (a fixed fraction of the age) or in the clump (the CHeB
    lifetime of the solar-metallicity clump mass at that age).

    Returns (w_rgb, w_rc), each shaped like ``age``, in arbitrary units.
    """
    rate = _turnoff_rate(age)
    return rate * RGB_LIFETIME_FRACTION[selection] * age, rate * _cheb_lifetime(_solar_mass(age, "RC"))


def giant_weight_envelope(selection, age_range):
    """Upper bound (×1.05) of w_rgb + w_rc over the ages of the disk, ``age_range`` (Gyr), from a fine grid."""
    w_rgb, w_rc = giant_weights(np.linspace(*age_range, 2000), selection)
    return 1.05 * float((w_rgb + w_rc).max())


def _rgb_teff(logg, mh, mass):
    """Metallicity-dependent giant branch: Teff (K) = 4650 + 380 (log g − 2.5) − 330 [M/H] + 80 (M − 1.2)."""
    return 4650.0 + 380.0 * (logg - 2.5) - 330.0 * mh + 80.0 * (mass - 1.2)


def _rc_teff(mh, mass):
    """Narrow red clump: Teff (K) = 4720 − 250 [M/H] + 150 min(M − 1.3, 1)₊ (the secondary clump is hotter)."""
    return 4720.0 - 250.0 * mh + 150.0 * np.clip(mass - 1.3, 0.0, 1.0)


def _rc_luminosity(mass):
    """Clump luminosity (L☉): 50 L☉ (log L = 1.70) for degenerate-core ignition below 1.8 M☉, falling to
    the faint secondary clump, log L = 1.55 at 2.3 M☉, then rising 1.2 dex per M☉ as non-degenerate
    helium cores grow with mass (Girardi 2016's sequence: a 3 M☉ core-helium burner is ~240 L☉)."""
    mass = np.asarray(mass, float)
    log_l = np.where(mass < 1.8, RC_LOG_L, RC_LOG_L + (SECONDARY_CLUMP_LOG_L - RC_LOG_L) * (mass - 1.8) / 0.5)
    log_l = np.where(mass > 2.3, SECONDARY_CLUMP_LOG_L + 1.2 * (mass - 2.3), log_l)
    return 10.0**log_l


def _truncated_normal(rng, mean, sigma, lo, hi, n):
    """Draws from a normal(mean, sigma) truncated to [lo, hi] by inverting its CDF."""
    from scipy.special import ndtr, ndtri

    a, b = ndtr((lo - mean) / sigma), ndtr((hi - mean) / sigma)
    return mean + sigma * ndtri(a + (b - a) * rng.random(n))


def stellar_parameters(rng, evolstate_rc, age, feh, alpha, selection):
    """Mass, log g, Teff, radius, luminosity, ν_max, Δν of each giant (and a consistent age).

    Masses come from the fit of the star's evolutionary state; where the target age lies outside the
    fit's range at that [Fe/H] the age is recomputed from the mass, so AGE and MASS always satisfy the
    published relations.
    """
    n = age.size
    mh = _metallicity(feh, alpha)
    mass = np.where(evolstate_rc, mass_from_age(age, feh, "RC"), mass_from_age(age, feh, "RGB"))
    age = np.where(evolstate_rc, rc_age(mass, feh), rgb_age(mass, feh))
    # RGB: a position on the giant branch; RC: a clump luminosity. Then the radius and log g follow.
    mu, sigma = RGB_LOGG_DISTRIBUTION[selection]
    logg_rgb = _truncated_normal(rng, mu, sigma, *GENERAL_LOGG_RANGE, n)
    teff_rgb = _rgb_teff(logg_rgb, mh, mass) + 30.0 * rng.standard_normal(n)
    teff_rc = _rc_teff(mh, mass) + 30.0 * rng.standard_normal(n)
    lum_rc = _rc_luminosity(mass) * np.exp(0.05 * rng.standard_normal(n))
    radius_rc = np.sqrt(lum_rc) / (teff_rc / C.TEFF_SUN_K) ** 2
    logg_rc = C.LOGG_SUN + np.log10(mass) - 2.0 * np.log10(radius_rc)
    teff = np.where(evolstate_rc, teff_rc, teff_rgb)
    logg = np.where(evolstate_rc, logg_rc, logg_rgb)
    radius = np.sqrt(mass / 10 ** (logg - C.LOGG_SUN))
    luminosity = radius**2 * (teff / C.TEFF_SUN_K) ** 4
    numax = numax_from_logg(logg, teff)
    deltanu = C.DELTANU_SUN_UHZ * np.sqrt(mass / radius**3)
    return {
        "AGE": age,
        "MASS": mass,
        "LOGG": logg,
        "TEFF": teff,
        "RADIUS": radius,
        "LUMINOSITY": luminosity,
        "NUMAX": numax,
        "DELTANU": deltanu,
        "M_H": mh,
    }


_LOG_SOLAR_C_OVER_N = 8.43 - 7.83  # Asplund et al. 2009, by number


def carbon_nitrogen(rng, mass, feh, alpha, evolstate_rc):
    """[C/Fe], [N/Fe], [C/N] (dex) after first dredge-up.

    Birth: [C/Fe]₀ = 0.5 [α/M], [N/Fe]₀ = 0. Dredge-up brings the surface to
    [C/N] = −0.25 − 0.9 log10 M + 0.1 [Fe/H] (−0.05 more in the clump, ±0.04), converting carbon into
    nitrogen at a conserved C+N number.
    """
    n = mass.size
    cfe0, nfe0 = 0.5 * alpha, np.zeros(n)
    cn0 = cfe0 - nfe0
    cn = -0.25 - 0.9 * np.log10(mass) + 0.1 * feh - 0.05 * evolstate_rc + 0.04 * rng.standard_normal(n)
    cn = np.minimum(cn, cn0)
    r0 = 10 ** (_LOG_SOLAR_C_OVER_N + cn0)  # birth C/N by number
    q = 10 ** (_LOG_SOLAR_C_OVER_N + cn)  # C/N after dredge-up
    x = (1.0 - q / r0) / (1.0 + q)  # fraction of the birth carbon turned into nitrogen
    return cfe0 + np.log10(1.0 - x), nfe0 + np.log10(1.0 + x * r0), cn
