"""The mock's Galaxy: where and when its stars are born, with what composition, and how they move.

A thin, low-[α/M] disk (ages 0.4–9.5 Gyr, flat star formation, inside-out: younger stars have longer radial
scale lengths; scale heights grow with age and flare with radius) and a thick, high-[α/M] disk (ages 8.5–12.5
Gyr, short scale length, large scale height):

- **birth** (:func:`draw_birth`): component and age of the stars formed;
- **place** (:func:`place_general`, :func:`place_kepler`): Galactocentric positions drawn from the component's
  density. The general APOGEE-like sample draws (R, φ, z) from the disk and keeps stars with a distance
  completeness; the Kepler sample draws lines of sight inside the Kepler field and distances from the density
  along each line of sight;
- **chemistry** (:func:`chemistry`): [Fe/H] with a radial gradient and age–metallicity relation on the thin
  disk, an age–metallicity sequence on the thick disk; [α/M] decreasing with [Fe/H] on each sequence, so age
  correlates with [α/M] as in the Galaxy (paper Sect. 7.2, Fig. 12, 14);
- **kinematics** (:func:`kinematics`, :func:`to_icrs`): disk velocities with age-dependent dispersions,
  converted to RA, Dec, proper motions and line-of-sight velocity.

One Galactocentric frame: every position and velocity goes through
:func:`latentexplorer.galaxy.coordinates.galactocentric_frame` (the paper's frame, the one the orbits
and maps use: the Sun at in-plane radius R0_KPC and height ZSUN_KPC, velocity from VSUN_KMS), and the
Sun's position and the line-of-sight geometry of the Kepler field are derived from that frame
(:func:`_galactic_to_galactocentric`), so R, φ, z of the truth table are what
:func:`latentexplorer.galaxy.coordinates.galactocentric` gives for its RA, Dec and distance.
Units: Gyr, dex, kpc, km/s, deg, mas/yr.
"""

from __future__ import annotations

import functools

import numpy as np
from astropy import units as u
from astropy.coordinates import ICRS, CartesianRepresentation, Galactic, SkyCoord

from .. import constants as C

__all__ = ["THIN_AGE_RANGE_GYR", "THICK_AGE_RANGE_GYR", "draw_birth", "place_general", "place_kepler",
           "kepler_column_envelope", "chemistry", "kinematics", "to_galactocentric", "to_icrs"]

# --- Disk components (birth) --------------------------------------------------------------------
THICK_MASS_FRACTION = 0.22  # of all stars formed in the disk
THIN_AGE_RANGE_GYR = (0.4, 9.5)
THICK_AGE_RANGE_GYR = (8.5, 12.5)
THICK_SCALE_LENGTH_KPC = 2.0
THICK_SCALE_HEIGHT_KPC = 0.8
FLARE_SCALE_LENGTH_KPC = 6.0  # thin-disk scale heights grow as exp((R - R0) / this)
R_RANGE_KPC = (2.0, 20.0)  # no bulge/bar, no stars beyond the disk edge

# --- Kepler field and distance completeness --------------------------------------------------------
GENERAL_DISTANCE_SCALE_KPC = 2.5  # distance completeness 1 / (1 + (d / scale)^3) of the general sample
KEPLER_FIELD_RADIUS_DEG = 8.0
KEPLER_MAX_DISTANCE_KPC = 8.0
KEPLER_DISTANCE_SCALE_KPC = 3.0  # 1 / (1 + (d / scale)^4) along the Kepler lines of sight


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


def draw_birth(rng, n):
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


def place_general(rng, thick, age):
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


def kepler_column_envelope():
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


def place_kepler(rng, thick, age, envelope):
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
def chemistry(rng, thick, age, R):
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




# --- Kinematics -----------------------------------------------------------------------------------
def kinematics(rng, thick, age, x, y, z):
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


def to_galactocentric(ra, dec, dist):
    """Astropy Galactocentric Cartesian (kpc) of ICRS positions."""
    g = SkyCoord(ra=ra * u.deg, dec=dec * u.deg, distance=dist * u.kpc, frame="icrs").transform_to(_frame())
    return g.x.to_value(u.kpc), g.y.to_value(u.kpc), g.z.to_value(u.kpc)


def to_icrs(x, y, z, vx, vy, vz):
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
