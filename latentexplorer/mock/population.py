"""The mock survey's stars: a Milky Way disk of red giants with known true parameters.

The population is drawn in five steps, each a small function below:

1. **Birth** (:func:`_draw_birth`): a thin, low-[α/M] disk (ages 0.4–9.5 Gyr, flat star formation,
   inside-out: younger stars have longer radial scale lengths; scale heights grow with age and flare
   with radius) and a thick, high-[α/M] disk (ages 8.5–12.5 Gyr, short scale length, large scale height).
2. **Place** (:func:`_place_general`, :func:`_place_kepler`): Galactocentric positions drawn from the
   component's density. The general APOGEE-like sample draws (R, φ, z) from the disk and keeps stars
   with a distance completeness; the Kepler sample draws lines of sight inside the Kepler field and
   distances from the density along each line of sight.
3. **Chemistry** (:func:`_chemistry`): [Fe/H] with a radial gradient and age–metallicity relation on
   the thin disk, an age–metallicity sequence on the thick disk; [α/M] decreasing with [Fe/H] on each
   sequence, so age correlates with [α/M] as in the Galaxy (paper Sect. 7.2, Fig. 12, 14).
4. **Evolution** (:func:`_giant_weights`, :func:`_stellar_parameters`): masses by inverting the
   published age(mass, [Fe/H]) fits (:func:`rgb_age`, :func:`rc_age`); stars enter the giant phase at a
   rate ∝ IMF(M) |dM/dτ| and stay on the sampled red-giant branch (RGB) for a time ∝ their age and in
   the red clump (RC) for ~0.1 Gyr (longer for the secondary clump), which sets both the giant age bias
   and the RC fraction. RGB stars are placed along a metallicity-dependent giant branch, RC stars in a
   narrow clump; ν_max, Δν follow the scaling relations exactly; [C/N] follows first dredge-up.
5. **Observe** (:func:`_kinematics`, :func:`_observables`): disk kinematics with age-dependent
   velocity dispersions, converted to RA, Dec, proper motions and line-of-sight velocity; Kepler
   magnitude with a simple extinction layer; APOGEE S/N.

One Galactocentric frame: every position and velocity goes through
:func:`latentexplorer.galaxy.coordinates.galactocentric_frame` (the paper's frame, the one the orbits
and maps use: the Sun at in-plane radius R0_KPC and height ZSUN_KPC, velocity from VSUN_KMS), and the
Sun's position and the line-of-sight geometry of the Kepler field are derived from that frame
(:func:`_galactic_to_galactocentric`), so R, φ, z of the truth table are what
:func:`latentexplorer.galaxy.coordinates.galactocentric` gives for its RA, Dec and distance.

Parameters are tuned so that the Kepler subset resembles APOKASC-2 (RC fraction ≈ 0.42, the ν_max,
mass and age percentiles quoted in issue 3). Units: Gyr, M☉, R☉, L☉, K, dex, μHz, kpc, km/s, deg, mas/yr.
"""

from __future__ import annotations

import functools

import numpy as np
from astropy import units as u
from astropy.coordinates import ICRS, CartesianRepresentation, Galactic, SkyCoord
from astropy.table import Table

from .. import constants as C
from ..seismo import numax_from_logg

__all__ = [
    "rgb_age",
    "rc_age",
    "mass_from_age",
    "apogee_id",
    "draw_population",
]

# --- Disk components (birth) --------------------------------------------------------------------
THICK_MASS_FRACTION = 0.22  # of all stars formed in the disk
THIN_AGE_RANGE_GYR = (0.4, 9.5)
THICK_AGE_RANGE_GYR = (8.5, 12.5)
THICK_SCALE_LENGTH_KPC = 2.0
THICK_SCALE_HEIGHT_KPC = 0.8
FLARE_SCALE_LENGTH_KPC = 6.0  # thin-disk scale heights grow as exp((R - R0) / this)
R_RANGE_KPC = (2.0, 20.0)  # no bulge/bar, no stars beyond the disk edge

# --- Selections -----------------------------------------------------------------------------------
GENERAL_DISTANCE_SCALE_KPC = 2.5  # distance completeness 1 / (1 + (d / scale)^3) of the general sample
KEPLER_FIELD_RADIUS_DEG = 8.0
KEPLER_MAX_DISTANCE_KPC = 8.0
KEPLER_DISTANCE_SCALE_KPC = 3.0  # 1 / (1 + (d / scale)^4) along the Kepler lines of sight
KEPLER_MAG_LIMIT = 14.0  # soft limit (0.3 mag wide) of the Kepler giant targets
KEPLER_NUMAX_RANGE_UHZ = C.TRAIN_NUMAX_RANGE_UHZ
GENERAL_LOGG_RANGE = (1.0, 3.8)

# Position on the red-giant branch: truncated normal in log g (mean, sigma) per selection, and the
# fraction of a star's age it spends on the part of the RGB the selection samples.
RGB_LOGG_DISTRIBUTION = {"general": (2.45, 0.65), "kepler": (3.05, 0.64)}
RGB_LIFETIME_FRACTION = {"general": 0.1, "kepler": 0.066}
CHEB_LIFETIME_GYR = 0.1  # core-helium burning, low-mass stars; secondary clump longer (below)
RC_LOG_L = np.log10(50.0)  # primary clump luminosity, L☉
SECONDARY_CLUMP_LOG_L = 1.55  # faintest core-helium burners, at ≈ 2.3 M☉
IMF_SLOPE = 2.35  # Salpeter

_BATCH = 65_536  # candidates per rejection-sampling batch (fixed, so results depend on seed and n only)


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


# --- Birth ---------------------------------------------------------------------------------------
def _thin_scale_length(age):
    """Inside-out thin disk: radial scale length (kpc) from 3.8 (youngest) to ~1.9 kpc (oldest)."""
    return 3.8 - 0.2 * age


def _scale_height(thick, age, R):
    """Scale height (kpc) of the sech² vertical profile; thin-disk heights grow with age and flare."""
    thin_h = (0.10 + 0.035 * age) * np.exp((R - C.R0_KPC) / FLARE_SCALE_LENGTH_KPC)
    return np.where(thick, THICK_SCALE_HEIGHT_KPC, thin_h)


def _scale_length(thick, age):
    return np.where(thick, THICK_SCALE_LENGTH_KPC, _thin_scale_length(age))


def _density(thick, age, R, z):
    """Normalised stellar density (kpc⁻³) of the star's mono-age component at (R, z):
    exp(−R/h_R) / (2π h_R²) × sech²(z / 2h_z) / (4 h_z), which integrates to one over the disk."""
    h_r = _scale_length(thick, age)
    h_z = _scale_height(thick, age, R)
    return np.exp(-R / h_r) / (2 * np.pi * h_r**2) / (4 * h_z * np.cosh(z / (2 * h_z)) ** 2)


def _draw_birth(rng, n):
    """Component (True = thick) and age (Gyr) of ``n`` stars formed with a flat star-formation history."""
    thick = rng.random(n) < THICK_MASS_FRACTION
    age = np.where(thick, rng.uniform(*THICK_AGE_RANGE_GYR, n), rng.uniform(*THIN_AGE_RANGE_GYR, n))
    return thick, age


# --- Place ---------------------------------------------------------------------------------------
def _galactocentric_xyz(R, phi_rad, z):
    """Astropy Galactocentric Cartesian (kpc) from R, φ (galpy convention: Sun at φ=0, φ grows in the
    direction of rotation), z."""
    return -R * np.cos(phi_rad), R * np.sin(phi_rad), z


def _frame():
    """The paper's Galactocentric frame, :func:`latentexplorer.galaxy.coordinates.galactocentric_frame`.

    Imported at first use: importing :mod:`latentexplorer.galaxy` also loads galpy and the maps, which
    the mock does not otherwise need.
    """
    from ..galaxy.coordinates import galactocentric_frame

    return galactocentric_frame()


@functools.cache
def _galactic_to_galactocentric():
    """The frame's (affine) map of heliocentric Galactic Cartesian positions — x towards (l, b) = (0, 0),
    y towards l = 90°, z towards b = 90°, kpc — to astropy Galactocentric Cartesian ones (kpc):
    ``xyz_gc = M @ xyz_gal + sun``.

    Returns (M, sun): M (3, 3), and the Sun's position in the frame (3,) — (−R0, 0, z⊙) in the paper's
    frame. Derived by transforming the origin and the unit vectors, so the mock's shortcuts (the Sun's
    distance, the Kepler lines of sight) follow the frame exactly, its tilt and the Galactic centre's
    offset from (l, b) = (0, 0) included.
    """
    points = CartesianRepresentation(np.hstack([np.zeros((3, 1)), np.eye(3)]) * u.kpc)
    xyz = Galactic(points).transform_to(_frame()).cartesian.xyz.to_value(u.kpc)  # (3, 4)
    sun = xyz[:, 0]
    return xyz[:, 1:] - sun[:, None], sun


def _sun_distance(x, y, z):
    """Heliocentric distance (kpc) of astropy Galactocentric Cartesian positions (kpc)."""
    sun = _galactic_to_galactocentric()[1]
    return np.sqrt((x - sun[0]) ** 2 + (y - sun[1]) ** 2 + (z - sun[2]) ** 2)


def _place_general(rng, thick, age):
    """Disk positions of the general sample: R from the component's exponential disk (a Gamma(2)
    draw), φ uniform, z from sech² (a logistic draw), kept with probability 1 / (1 + (d / 2.5 kpc)³).

    Returns (x, y, z) in kpc and a boolean ``kept`` mask.
    """
    n = thick.size
    R = rng.gamma(2.0, _scale_length(thick, age), n)
    phi = rng.uniform(0.0, 2 * np.pi, n)
    z = rng.logistic(0.0, _scale_height(thick, age, R), n)
    x, y, z = _galactocentric_xyz(R, phi, z)
    d = _sun_distance(x, y, z)
    completeness = 1.0 / (1.0 + (d / GENERAL_DISTANCE_SCALE_KPC) ** 3)
    kept = (rng.random(n) < completeness) & (R > R_RANGE_KPC[0]) & (R < R_RANGE_KPC[1])
    return (x, y, z), kept


_KEPLER_CENTRE = SkyCoord(C.KEPLER_FIELD_RA_DEG * u.deg, C.KEPLER_FIELD_DEC_DEG * u.deg, frame="icrs")
_LOS_GRID_KPC = np.linspace(0.04, KEPLER_MAX_DISTANCE_KPC, 100)


def _los_weights(thick, age, l_rad, b_rad):
    """Density × d² × distance completeness on the distance grid along each line of sight, (n, 100),
    in float32 (it only sets acceptance probabilities and a distance draw)."""
    d = _LOS_GRID_KPC[None, :].astype(np.float32)
    cos_b = np.cos(b_rad)
    # unit vector of each line of sight, Galactic Cartesian → Galactocentric (the frame's rotation)
    matrix, sun = _galactic_to_galactocentric()
    unit = matrix @ np.stack([cos_b * np.cos(l_rad), cos_b * np.sin(l_rad), np.sin(b_rad)])  # (3, n)
    x, y, z = (d * unit[i].astype(np.float32)[:, None] + np.float32(sun[i]) for i in range(3))
    R = np.hypot(x, y)
    rho = _density(thick[:, None], age.astype(np.float32)[:, None], R, z)
    return rho * d**2 / (1.0 + (d / KEPLER_DISTANCE_SCALE_KPC) ** 4)


def _kepler_column_envelope():
    """An upper bound of the line-of-sight integral over the Kepler field, components and ages
    (from a deterministic grid, ×1.2), so that the column acceptance is a fixed function."""
    pa = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    dirs = _KEPLER_CENTRE.directional_offset_by(pa * u.rad, KEPLER_FIELD_RADIUS_DEG * u.deg).galactic
    ages = np.concatenate([np.linspace(*THIN_AGE_RANGE_GYR, 40), np.linspace(*THICK_AGE_RANGE_GYR, 10)])
    thick = np.r_[np.zeros(40, bool), np.ones(10, bool)]
    grid_thick, grid_l = np.meshgrid(thick, dirs.l.rad, indexing="ij")
    grid_age, grid_b = np.meshgrid(ages, dirs.b.rad, indexing="ij")
    w = _los_weights(grid_thick.ravel(), grid_age.ravel(), grid_l.ravel(), grid_b.ravel())
    return 1.2 * float(w.sum(axis=1).max())


def _place_kepler(rng, thick, age, envelope):
    """Kepler-field positions: a direction uniform within 8° of the field centre and a distance from
    the density along that line of sight; each star is kept with probability ∝ its column density, so
    that the mix of components and ages follows the Galaxy along these sightlines.

    Returns (ra, dec) in deg, distance in kpc and a boolean ``kept`` mask.
    """
    n = thick.size
    cos_max = np.cos(np.radians(KEPLER_FIELD_RADIUS_DEG))
    sep = np.degrees(np.arccos(rng.uniform(cos_max, 1.0, n)))
    pa = rng.uniform(0.0, 360.0, n)
    sky = _KEPLER_CENTRE.directional_offset_by(pa * u.deg, sep * u.deg)
    gal = sky.galactic
    w = _los_weights(thick, age, gal.l.rad, gal.b.rad)
    cdf = np.cumsum(w, axis=1)
    total = cdf[:, -1]
    kept = rng.random(n) < total / envelope
    # Invert the cumulative distribution, linearly within the grid cell.
    target = rng.random(n) * total
    k = np.minimum((cdf < target[:, None]).sum(axis=1), _LOS_GRID_KPC.size - 1)
    prev = np.where(k > 0, cdf[np.arange(n), np.maximum(k - 1, 0)], 0.0)
    frac = (target - prev) / np.maximum(cdf[np.arange(n), k] - prev, 1e-300)
    step = _LOS_GRID_KPC[1] - _LOS_GRID_KPC[0]
    dist = _LOS_GRID_KPC[k] + (frac - 0.5) * step
    return sky.ra.deg, sky.dec.deg, np.clip(dist, 0.01, None), kept


# --- Chemistry -----------------------------------------------------------------------------------
def _chemistry(rng, thick, age, R):
    """[Fe/H] and [α/M] (dex).

    Thin disk: [Fe/H] = −0.06 (R − R0) − 0.015 (τ − 4) ± 0.15, [α/M] = 0.004 τ − 0.08 [Fe/H] ± 0.02.
    Thick disk: [Fe/H] from −0.75 at 12.5 Gyr to +0.05 at 8.5 Gyr ± 0.10, [α/M] = 0.19 − 0.12 [Fe/H] ± 0.025.
    """
    n = age.size
    feh_thin = -0.06 * (R - C.R0_KPC) - 0.015 * (age - 4.0) + 0.15 * rng.standard_normal(n)
    feh_thick = 0.05 - 0.2 * (age - THICK_AGE_RANGE_GYR[0]) + 0.10 * rng.standard_normal(n)
    feh = np.clip(np.where(thick, feh_thick, feh_thin), -1.2, 0.5)
    alpha_thin = 0.004 * age - 0.08 * feh + 0.02 * rng.standard_normal(n)
    alpha_thick = 0.19 - 0.12 * feh + 0.025 * rng.standard_normal(n)
    alpha = np.where(thick, alpha_thick, alpha_thin)
    return feh, alpha


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


def _giant_weights(age, selection):
    """Relative numbers of RGB and RC giants of this age (Gyr) in the selection: the turn-off rate
    times the time spent on the sampled RGB (a fixed fraction of the age) or in the clump (the CHeB
    lifetime of the solar-metallicity clump mass at that age).

    Returns (w_rgb, w_rc), each shaped like ``age``, in arbitrary units.
    """
    rate = _turnoff_rate(age)
    return rate * RGB_LIFETIME_FRACTION[selection] * age, rate * _cheb_lifetime(_solar_mass(age, "RC"))


def _giant_weight_envelope(selection):
    """Upper bound (×1.05) of w_rgb + w_rc over the ages of the disk, from a fine grid."""
    w_rgb, w_rc = _giant_weights(np.linspace(THIN_AGE_RANGE_GYR[0], THICK_AGE_RANGE_GYR[1], 2000), selection)
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


def _stellar_parameters(rng, evolstate_rc, age, feh, alpha, selection):
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


def _carbon_nitrogen(rng, mass, feh, alpha, evolstate_rc):
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


# --- Observe -------------------------------------------------------------------------------------
def _kinematics(rng, thick, age, x, y, z):
    """Galactocentric Cartesian velocities (km/s) from age-dependent dispersions and asymmetric drift.

    Thin disk: σ_R = 38 ((τ + 0.1)/10)^0.33, σ_φ = 0.65 σ_R, σ_z = 25 ((τ + 0.1)/10)^0.45 km/s,
    falling outward as exp(−(R − R0)/8 kpc); thick disk: σ = (55, 40, 42) km/s. Mean rotation is
    v_c − σ_R² / 80 km/s with a flat v_c = VSUN_KMS − 12.24 km/s
    (:data:`latentexplorer.galaxy.coordinates.VCIRC_KMS`, the circular velocity of the frame).
    """
    from ..galaxy.coordinates import VCIRC_KMS

    n = age.size
    R = np.hypot(x, y)
    radial = np.exp(-(R - C.R0_KPC) / 8.0)
    sig_r = np.where(thick, 55.0, 38.0 * ((age + 0.1) / 10.0) ** 0.33 * radial)
    sig_phi = np.where(thick, 40.0, 0.65 * sig_r)
    sig_z = np.where(thick, 42.0, 25.0 * ((age + 0.1) / 10.0) ** 0.45 * radial)
    v_circ = VCIRC_KMS
    v_r = sig_r * rng.standard_normal(n)
    v_t = v_circ - sig_r**2 / 80.0 + sig_phi * rng.standard_normal(n)
    v_z = sig_z * rng.standard_normal(n)
    # Unit vectors in astropy's frame: radial (x, y)/R; rotation (galpy φ increasing) (−y, x)/R · −1.
    cos_p, sin_p = x / R, y / R
    return v_r * cos_p + v_t * sin_p, v_r * sin_p - v_t * cos_p, v_z


def _to_galactocentric(ra, dec, dist):
    """Astropy Galactocentric Cartesian (kpc) of ICRS positions."""
    g = SkyCoord(ra=ra * u.deg, dec=dec * u.deg, distance=dist * u.kpc, frame="icrs").transform_to(_frame())
    return g.x.to_value(u.kpc), g.y.to_value(u.kpc), g.z.to_value(u.kpc)


def _to_icrs(x, y, z, vx, vy, vz):
    """RA, Dec (deg), distance (kpc), pmra (cos δ included), pmdec (mas/yr), v_los (km/s), l, b (deg)."""
    g = SkyCoord(
        x=x * u.kpc, y=y * u.kpc, z=z * u.kpc, v_x=vx * u.km / u.s, v_y=vy * u.km / u.s, v_z=vz * u.km / u.s,
        frame=_frame(),
    )
    s = g.transform_to(ICRS())
    gal = s.galactic
    return (
        s.ra.deg,
        s.dec.deg,
        s.distance.to_value(u.kpc),
        s.pm_ra_cosdec.to_value(u.mas / u.yr),
        s.pm_dec.to_value(u.mas / u.yr),
        s.radial_velocity.to_value(u.km / u.s),
        gal.l.deg,
        gal.b.deg,
    )


def _kepler_magnitude(luminosity, teff, dist, b_deg):
    """Kepler-band magnitude: M_bol − BC_Kp(Teff) + distance modulus + extinction in a dust layer
    (0.7 mag/kpc in the plane, 0.1 kpc scale height)."""
    m_bol = 4.74 - 2.5 * np.log10(luminosity)
    bc = -0.1 - 6e-4 * (5000.0 - teff)
    sin_b = np.maximum(np.abs(np.sin(np.radians(b_deg))), 1e-3)
    extinction = 0.7 * 0.1 / sin_b * (1.0 - np.exp(-dist * sin_b / 0.1))
    return m_bol - bc + 5.0 * np.log10(dist * 100.0) + extinction


def _apogee_snr(rng, kepmag):
    """APOGEE S/N per pixel: ~100 at H = 11 (H ≈ Kp − 2.4 for giants), ±25 %, clipped to 50–300."""
    h = kepmag - 2.4
    return np.clip(100.0 * 10 ** (-0.2 * (h - 11.0)) * np.exp(0.25 * rng.standard_normal(h.size)), 50.0, 300.0)


def apogee_id(ra_deg, dec_deg):
    """2MASS-style APOGEE identifiers, e.g. ``2M19033658+4256112``, from ICRS RA/Dec (deg).

    Returns an array of str (18 characters): RA as hhmmss.ss and Dec as ±ddmmss.s without separators.
    """
    ra = np.round(np.mod(np.asarray(ra_deg, float), 360.0) / 15.0 * 360000.0).astype(np.int64)  # 0.01 s
    ra = np.mod(ra, 24 * 360000)
    dec = np.asarray(dec_deg, float)
    sign = np.where(dec < 0, "-", "+")
    dec_units = np.round(np.abs(dec) * 36000.0).astype(np.int64)  # 0.1 arcsec
    hh, rem = np.divmod(ra, 360000)
    mm, ss = np.divmod(rem, 6000)
    dd, rem_d = np.divmod(dec_units, 36000)
    dm, ds = np.divmod(rem_d, 600)
    return np.array(
        [
            f"2M{a:02d}{b:02d}{c:04d}{s}{d:02d}{e:02d}{f:03d}"
            for a, b, c, s, d, e, f in zip(hh, mm, ss, sign, dd, dm, ds)
        ],
        dtype="U18",
    )


def _unique_ids(ra, dec):
    """APOGEE_IDs for every star, nudging the Dec of the rare coincident ones by 0.1″ until unique."""
    dec = dec.copy()
    ids = apogee_id(ra, dec)
    while True:
        _, first = np.unique(ids, return_index=True)
        dup = np.setdiff1d(np.arange(ids.size), first)
        if dup.size == 0:
            return ids, dec
        dec[dup] += 0.1 / 3600.0
        ids[dup] = apogee_id(ra[dup], dec[dup])


# --- Assembly ------------------------------------------------------------------------------------
def _draw_batch(rng, selection, envelopes):
    """One batch of candidates through every step and acceptance; returns a dict of the kept stars."""
    thick, age = _draw_birth(rng, _BATCH)
    # Giants among the stars formed: their age bias, and the RGB/RC split.
    w_rgb, w_rc = _giant_weights(age, selection)
    giant = rng.random(age.size) < (w_rgb + w_rc) / envelopes["giant"]
    is_rc = (rng.random(age.size) < w_rc / (w_rgb + w_rc))[giant]
    thick, age = thick[giant], age[giant]
    if selection == "general":
        (x, y, z), kept = _place_general(rng, thick, age)
        thick, age, is_rc, x, y, z = thick[kept], age[kept], is_rc[kept], x[kept], y[kept], z[kept]
    else:
        ra, dec, dist, kept = _place_kepler(rng, thick, age, envelopes["column"])
        thick, age, is_rc = thick[kept], age[kept], is_rc[kept]
        x, y, z = _to_galactocentric(ra[kept], dec[kept], dist[kept])
    feh, alpha = _chemistry(rng, thick, age, np.hypot(x, y))
    s = {"THICK": thick, "RC": is_rc, "x": x, "y": y, "Z": z, "FE_H": feh, "ALPHA_M": alpha}
    s.update(_stellar_parameters(rng, is_rc, age, feh, alpha, selection))
    vx, vy, vz = _kinematics(rng, s["THICK"], s["AGE"], s["x"], s["y"], s["Z"])
    s["RA"], s["DEC"], s["DIST"], s["PMRA"], s["PMDEC"], s["VLOS"], s["GLON"], s["GLAT"] = _to_icrs(
        s["x"], s["y"], s["Z"], vx, vy, vz
    )
    s["KEPMAG"] = _kepler_magnitude(s["LUMINOSITY"], s["TEFF"], s["DIST"], s["GLAT"])
    if selection == "kepler":
        seismic = (s["NUMAX"] > KEPLER_NUMAX_RANGE_UHZ[0]) & (s["NUMAX"] < KEPLER_NUMAX_RANGE_UHZ[1])
        bright = rng.random(s["AGE"].size) < 1.0 / (1.0 + np.exp((s["KEPMAG"] - KEPLER_MAG_LIMIT) / 0.3))
        s = {k: v[seismic & bright] for k, v in s.items()}
    return s


def _draw_selection(rng, n, selection):
    """``n`` stars of ``selection`` ('general' or 'kepler'); a dict of equal-length arrays."""
    envelopes = {"giant": _giant_weight_envelope(selection)}
    if selection == "kepler":
        envelopes["column"] = _kepler_column_envelope()
    batches, have = [], 0
    while have < n:
        batches.append(_draw_batch(rng, selection, envelopes))
        have += batches[-1]["AGE"].size
    return {k: np.concatenate([b[k] for b in batches])[:n] for k in batches[0]}


def draw_population(n_stars, n_kepler, seed):
    """The truth table of a mock APOGEE–Kepler survey.

    Parameters
    ----------
    n_stars : int
        Number of APOGEE giants (rows), ≥ 1.
    n_kepler : int
        How many of them lie in the Kepler field with 4 < ν_max < 250 μHz (the seismic subset),
        0 ≤ n_kepler ≤ n_stars. They carry a KIC id; every other star has KIC = −1.
    seed : int or numpy.random.SeedSequence
        The same seed gives the same table, bit for bit.

    Returns
    -------
    astropy.table.Table with one row per star (rows in random order) and the columns
    APOGEE_ID, KIC, EVOLSTATE ('RGB'/'RC'), POPULATION ('thin'/'thick'), MASS [M☉], RADIUS [R☉],
    LUMINOSITY [L☉], AGE [Gyr], TEFF [K], LOGG, FE_H, M_H, ALPHA_M, C_FE, N_FE, C_N [dex], NUMAX,
    DELTANU [μHz], RA, DEC, GLON, GLAT [deg], DIST [kpc], PMRA, PMDEC [mas/yr], VLOS [km/s],
    R, Z [kpc] and PHI [deg] (Galactocentric, galpy convention: Sun at φ = 0, φ increasing in the
    direction of rotation), KEPMAG [mag], SNR (APOGEE S/N per pixel the spectra are made at).
    """
    n_stars, n_kepler = int(n_stars), int(n_kepler)
    if n_stars < 1:
        raise ValueError(f"n_stars must be at least 1, got {n_stars}")
    if not 0 <= n_kepler <= n_stars:
        raise ValueError(f"n_kepler must be between 0 and n_stars ({n_stars}), got {n_kepler}")
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    general_ss, kepler_ss, final_ss = root.spawn(3)
    parts = []
    if n_stars - n_kepler:
        parts.append(_draw_selection(np.random.default_rng(general_ss), n_stars - n_kepler, "general"))
    if n_kepler:
        parts.append(_draw_selection(np.random.default_rng(kepler_ss), n_kepler, "kepler"))
    s = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    is_kepler = np.r_[np.zeros(n_stars - n_kepler, bool), np.ones(n_kepler, bool)]

    rng = np.random.default_rng(final_ss)
    s["C_FE"], s["N_FE"], s["C_N"] = _carbon_nitrogen(rng, s["MASS"], s["FE_H"], s["ALPHA_M"], s["RC"])
    s["SNR"] = _apogee_snr(rng, s["KEPMAG"])
    ids, s["DEC"] = _unique_ids(s["RA"], s["DEC"])
    # KIC numbers grow with declination, as in the Kepler Input Catalog.
    kic = np.full(n_stars, -1, dtype=np.int64)
    numbers = np.sort(rng.choice(np.arange(1_000_000, 13_000_000), size=n_kepler, replace=False))
    kic[np.flatnonzero(is_kepler)[np.argsort(s["DEC"][is_kepler], kind="stable")]] = numbers
    order = rng.permutation(n_stars)

    R = np.hypot(s["x"], s["y"])
    phi = np.degrees(np.arctan2(s["y"], -s["x"]))
    columns = {
        "APOGEE_ID": ids,
        "KIC": kic,
        "EVOLSTATE": np.where(s["RC"], "RC", "RGB"),
        "POPULATION": np.where(s["THICK"], "thick", "thin"),
        **{k: s[k] for k in ("MASS", "RADIUS", "LUMINOSITY", "AGE", "TEFF", "LOGG", "FE_H", "M_H", "ALPHA_M",
                             "C_FE", "N_FE", "C_N", "NUMAX", "DELTANU", "RA", "DEC", "GLON", "GLAT", "DIST",
                             "PMRA", "PMDEC", "VLOS")},
        "R": R,
        "PHI": phi,
        "Z": s["Z"],
        "KEPMAG": s["KEPMAG"],
        "SNR": s["SNR"],
    }
    table = Table({k: v[order] for k, v in columns.items()})
    for name, unit in _UNITS.items():
        table[name].unit = unit
    return table


_UNITS = {
    "MASS": u.M_sun, "RADIUS": u.R_sun, "LUMINOSITY": u.L_sun, "AGE": u.Gyr, "TEFF": u.K,
    "NUMAX": u.uHz, "DELTANU": u.uHz, "RA": u.deg, "DEC": u.deg,
    "GLON": u.deg, "GLAT": u.deg, "DIST": u.kpc, "PMRA": u.mas / u.yr, "PMDEC": u.mas / u.yr,
    "VLOS": u.km / u.s, "R": u.kpc, "PHI": u.deg, "Z": u.kpc, "KEPMAG": u.mag,
}
