"""Heliocentric observables → Galactocentric cylindrical coordinates (paper section 7.1).

The frame follows the paper: R0 = 8.23 kpc and a total solar azimuthal velocity of 249.44 km/s
(Leung et al. 2023), z⊙ = 20.8 pc (Bennett & Bovy 2019), with the radial and vertical solar motion of
Schönrich, Binney & Dehnen (2010). The transformation itself is astropy's
:class:`~astropy.coordinates.Galactocentric` frame.

Output follows galpy's conventions, the ones orbit codes and APOGEE value-added catalogs use: the Sun
sits at φ = 0, rotation of the disk is positive (v_T > 0, L_z > 0 for disk stars) and v_R > 0 points
away from the Galactic centre.
"""

from __future__ import annotations

import astropy.coordinates as coord
import astropy.units as u
import numpy as np
from astropy.table import Table

from ..constants import R0_KPC, VSUN_KMS, ZSUN_KPC

__all__ = [
    "SOLAR_MOTION_UW_KMS",
    "SOLAR_PECULIAR_V_KMS",
    "VCIRC_KMS",
    "galactocentric",
    "galactocentric_frame",
    "heliocentric",
]

# Solar motion with respect to the local standard of rest (Schönrich, Binney & Dehnen 2010):
# U towards the Galactic centre and W towards the north Galactic pole; the azimuthal total is VSUN_KMS.
SOLAR_MOTION_UW_KMS = (11.1, 7.25)  # km/s
SOLAR_PECULIAR_V_KMS = 12.24  # km/s, the Sun's azimuthal velocity relative to the LSR
VCIRC_KMS = VSUN_KMS - SOLAR_PECULIAR_V_KMS  # km/s, circular velocity at R0 that scales the galpy potential


def galactocentric_frame() -> coord.Galactocentric:
    """The paper's Galactocentric frame: the Sun at in-plane radius R0 and height z⊙, velocity (U, v⊙, W)."""
    u_sun, w_sun = SOLAR_MOTION_UW_KMS
    return coord.Galactocentric(
        # astropy's galcen_distance is the Sun's 3-D distance; this puts the Sun at in-plane R = R0.
        galcen_distance=np.hypot(R0_KPC, ZSUN_KPC) * u.kpc,
        z_sun=ZSUN_KPC * u.kpc,
        galcen_v_sun=coord.CartesianDifferential([u_sun, VSUN_KMS, w_sun] * u.km / u.s),
    )


def as_float_array(value, unit, name: str) -> np.ndarray:
    """``value`` as a float64 array in ``unit``; a Quantity is converted, a plain number is taken as ``unit``.

    Raises :class:`ValueError` naming ``name`` when a Quantity has incompatible units.
    """
    if isinstance(value, u.Quantity):
        try:
            return np.asarray(value.to_value(unit, u.dimensionless_angles()), dtype=float)
        except u.UnitConversionError as err:
            raise ValueError(f"{name} must be convertible to {unit}, got {value.unit}") from err
    return np.asarray(np.ma.filled(np.ma.asarray(value, dtype=float), np.nan), dtype=float)


def broadcast_inputs(ra_deg, dec_deg, dist_kpc, pmra_masyr, pmdec_masyr, vlos_kms) -> list[np.ndarray]:
    """The six observables as 1-D float arrays of one length (masked entries → NaN).

    Raises :class:`ValueError` when the inputs cannot be broadcast to one shape.
    """
    names = ("ra_deg", "dec_deg", "dist_kpc", "pmra_masyr", "pmdec_masyr", "vlos_kms")
    units = (u.deg, u.deg, u.kpc, u.mas / u.yr, u.mas / u.yr, u.km / u.s)
    arrays = [as_float_array(v, un, n) for v, un, n in zip((ra_deg, dec_deg, dist_kpc, pmra_masyr, pmdec_masyr,
                                                               vlos_kms), units, names)]
    try:
        arrays = np.broadcast_arrays(*arrays)
    except ValueError as err:
        shapes = ", ".join(f"{n}{a.shape}" for n, a in zip(names, arrays))
        raise ValueError(f"inputs have incompatible shapes: {shapes}") from err
    return [np.atleast_1d(a).ravel().copy() for a in arrays]


def galactocentric(ra_deg, dec_deg, dist_kpc, pmra_masyr, pmdec_masyr, vlos_kms) -> Table:
    """Galactocentric cylindrical positions and velocities of stars, through astropy.

    Parameters
    ----------
    ra_deg, dec_deg : array_like, shape (N,)
        ICRS right ascension and declination, degrees (or angle Quantities).
    dist_kpc : array_like, shape (N,)
        Heliocentric distance, kpc (or length Quantity).
    pmra_masyr, pmdec_masyr : array_like, shape (N,)
        Proper motions μ_α* = μ_α cos δ and μ_δ, mas/yr.
    vlos_kms : array_like, shape (N,)
        Heliocentric line-of-sight velocity, km/s.

    Returns
    -------
    astropy.table.Table
        N rows, columns ``R`` (kpc), ``phi`` (rad, Sun at 0, increasing with Galactic rotation),
        ``z`` (kpc), ``vR``, ``vT``, ``vz`` (km/s). A non-finite input, or a declination beyond ±90°, gives NaN in the
        outputs that depend on it (positions need RA, Dec and distance; velocities need all six).
    """
    ra, dec, dist, pmra, pmdec, vlos = broadcast_inputs(ra_deg, dec_deg, dist_kpc, pmra_masyr, pmdec_masyr,
                                                        vlos_kms)
    with np.errstate(invalid="ignore"):
        pos_ok = np.isfinite(ra) & (np.abs(dec) <= 90.0) & np.isfinite(dist)
    vel_ok = pos_ok & np.isfinite(pmra) & np.isfinite(pmdec) & np.isfinite(vlos)
    # astropy propagates NaN through whole rows of its rotation matrices; transform clean numbers and mask after.
    sky = coord.SkyCoord(
        ra=np.where(pos_ok, ra, 0.0) * u.deg,
        dec=np.where(pos_ok, dec, 0.0) * u.deg,
        distance=np.where(pos_ok, dist, 0.0) * u.kpc,
        pm_ra_cosdec=np.where(vel_ok, pmra, 0.0) * u.mas / u.yr,
        pm_dec=np.where(vel_ok, pmdec, 0.0) * u.mas / u.yr,
        radial_velocity=np.where(vel_ok, vlos, 0.0) * u.km / u.s,
        frame="icrs",
    )
    gc = sky.transform_to(galactocentric_frame())
    # astropy's frame is right-handed with the Sun at x < 0; galpy's is left-handed with the Sun at x > 0.
    x = -gc.x.to_value(u.kpc)
    y = gc.y.to_value(u.kpc)
    vx = -gc.v_x.to_value(u.km / u.s)
    vy = gc.v_y.to_value(u.km / u.s)
    R = np.hypot(x, y)
    phi = np.arctan2(y, x)
    cos_phi, sin_phi = np.cos(phi), np.sin(phi)
    columns = {
        "R": (R, pos_ok, u.kpc),
        "phi": (phi, pos_ok, u.rad),
        "z": (gc.z.to_value(u.kpc), pos_ok, u.kpc),
        "vR": (vx * cos_phi + vy * sin_phi, vel_ok, u.km / u.s),
        "vT": (vy * cos_phi - vx * sin_phi, vel_ok, u.km / u.s),
        "vz": (gc.v_z.to_value(u.km / u.s), vel_ok, u.km / u.s),
    }
    return Table({name: np.where(ok, values, np.nan) for name, (values, ok, _) in columns.items()},
                 units={name: unit for name, (_, _, unit) in columns.items()})


def heliocentric(R_kpc, phi_rad, z_kpc, vR_kms, vT_kms, vz_kms) -> Table:
    """The inverse of :func:`galactocentric`: Galactocentric cylindrical phase space → observables.

    Parameters are arrays of shape (N,) in galactocentric's conventions (kpc, rad, km/s). Returns a
    Table with ``ra``, ``dec`` (deg), ``dist`` (kpc), ``pmra``, ``pmdec`` (mas/yr), ``vlos`` (km/s).
    """
    R, phi, z = (as_float_array(v, un, n) for v, un, n in ((R_kpc, u.kpc, "R_kpc"), (phi_rad, u.rad, "phi_rad"),
                                                           (z_kpc, u.kpc, "z_kpc")))
    vR, vT, vz = (as_float_array(v, u.km / u.s, n) for v, n in ((vR_kms, "vR_kms"), (vT_kms, "vT_kms"),
                                                                  (vz_kms, "vz_kms")))
    cos_phi, sin_phi = np.cos(phi), np.sin(phi)
    # galpy's left-handed frame back to astropy's right-handed one (x → −x).
    gc = coord.SkyCoord(
        x=-R * cos_phi * u.kpc, y=R * sin_phi * u.kpc, z=z * u.kpc,
        v_x=-(vR * cos_phi - vT * sin_phi) * u.km / u.s, v_y=(vR * sin_phi + vT * cos_phi) * u.km / u.s,
        v_z=vz * u.km / u.s, frame=galactocentric_frame(),
    )
    icrs = gc.transform_to(coord.ICRS())
    return Table(
        {"ra": icrs.ra.to_value(u.deg), "dec": icrs.dec.to_value(u.deg), "dist": icrs.distance.to_value(u.kpc),
         "pmra": icrs.pm_ra_cosdec.to_value(u.mas / u.yr), "pmdec": icrs.pm_dec.to_value(u.mas / u.yr),
         "vlos": icrs.radial_velocity.to_value(u.km / u.s)},
        units={"ra": u.deg, "dec": u.deg, "dist": u.kpc, "pmra": u.mas / u.yr, "pmdec": u.mas / u.yr,
               "vlos": u.km / u.s},
    )
