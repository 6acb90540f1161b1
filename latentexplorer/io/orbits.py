"""The orbits product: ``orbits.fits``, Galactocentric coordinates and orbit parameters of a catalog's stars.

Written by ``latentexplorer orbits`` (:func:`latentexplorer.steps.compute_orbits`, columns from
:func:`latentexplorer.galaxy.orbits.orbit_parameters`) as a product table
(:func:`~latentexplorer.io.tables.write_product_table`, format ``'latentexplorer.orbits'``, version
:data:`ORBITS_VERSION`), one row per input row, in input order. Columns (:data:`ORBITS_COLUMNS`):
APOGEE_ID; R, phi, z (kpc, rad); vR, vT, vz (km/s); Lz, Jr, Jz (kpc km/s); ecc; zmax, rguide (kpc);
FLAG (:class:`~latentexplorer.galaxy.orbits.OrbitFlag` bits). Coordinates follow galpy's conventions:
the Sun at φ = 0, disk rotation positive, v_R > 0 away from the Galactic centre.
"""

from __future__ import annotations

from astropy.table import Table

from .tables import read_product_table, write_product_table

__all__ = ["ORBITS_FORMAT", "ORBITS_VERSION", "ORBITS_COLUMNS", "write_orbits", "read_orbits"]

ORBITS_FORMAT = "latentexplorer.orbits"
ORBITS_VERSION = 1

_ACTION = "kpc km / s"
#: (name, dtype, unit, description) of the orbits columns, in order.
ORBITS_COLUMNS = (
    ("APOGEE_ID", "U", None, "APOGEE identifier of the input row; rows are in input order"),
    ("R", "f8", "kpc", "Galactocentric cylindrical radius"),
    ("phi", "f8", "rad", "Galactocentric azimuth: Sun at 0, increasing with Galactic rotation (galpy)"),
    ("z", "f8", "kpc", "height above the Galactic plane"),
    ("vR", "f8", "km / s", "Galactocentric radial velocity, > 0 away from the Galactic centre"),
    ("vT", "f8", "km / s", "azimuthal velocity, > 0 in the direction of Galactic rotation"),
    ("vz", "f8", "km / s", "vertical velocity, > 0 towards the north Galactic pole"),
    ("Lz", "f8", _ACTION, "angular momentum about the Galactic axis, R vT"),
    ("Jr", "f8", _ACTION, "radial action (Staeckel approximation, MWPotential2014)"),
    ("Jz", "f8", _ACTION, "vertical action (Staeckel approximation, MWPotential2014)"),
    ("ecc", "f8", None, "orbital eccentricity (Staeckel approximation; dimensionless)"),
    ("zmax", "f8", "kpc", "maximum height above the plane (Staeckel approximation)"),
    ("rguide", "f8", "kpc", "guiding radius: radius of the circular orbit with this Lz"),
    ("FLAG", "i4", None, "0: every column valid; bits: 1 position missing, 2 velocity missing, "
                         "4 unbound, 8 Staeckel approximation failed"),
)


def write_orbits(table, path) -> Table:
    """Write ``table`` (every column of :data:`ORBITS_COLUMNS`; others are left out) as ``orbits.fits``,
    atomically; values are cast to the listed dtypes and converted to the listed units.

    Returns the Table as written. Raises ValueError if a column is missing (the message lists them).
    """
    return write_product_table(path, table, format_name=ORBITS_FORMAT, version=ORBITS_VERSION, extname="ORBITS",
                               columns=ORBITS_COLUMNS)


def read_orbits(path) -> Table:
    """Read an ``orbits.fits`` written by :func:`write_orbits` (``latentexplorer orbits``).

    Returns an astropy Table with the :data:`ORBITS_COLUMNS` (units and descriptions restored; ``ecc``
    without a unit). Raises FileNotFoundError for a missing file, ValueError naming the file when it is
    not a latentexplorer.orbits FITS file of a version this package reads or lacks a column.
    """
    return read_product_table(path, format_name=ORBITS_FORMAT, max_version=ORBITS_VERSION, command="orbits",
                              required=[name for name, *_ in ORBITS_COLUMNS])
