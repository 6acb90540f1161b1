"""The truth product of a mock survey: ``truth.fits``, every true parameter, one row per star.

Written by ``latentexplorer simulate`` (:meth:`latentexplorer.mock.survey.MockSurvey.write`) as a
product table (:func:`~latentexplorer.io.tables.write_product_table`, format ``'latentexplorer.truth'``,
version :data:`TRUTH_VERSION`), rows in allStar order. :data:`TRUTH_COLUMNS` lists the columns a mock
draws (:func:`latentexplorer.mock.population.draw_population`) with their units and descriptions;
APOGEE_ID and AGE are required, the others optional (a test workspace may hold a few), and further
columns are written with their own unit and description. A mock survey records its seed as the
``SEED`` keyword of HDU1 (older files lack it): with it the mock's spectra can be made again
(:func:`latentexplorer.mock.survey.spectra_from_truth`), reading a few rows at a time through
:func:`mapped_truth`.
"""

from __future__ import annotations

import contextlib

from astropy.io import fits
from astropy.table import Table

from .tables import FORMAT_KEYWORD, read_product_table, write_product_table

__all__ = ["TRUTH_FORMAT", "TRUTH_VERSION", "TRUTH_COLUMNS", "TRUTH_REQUIRED", "SEED_KEYWORD", "write_truth",
           "read_truth", "mapped_truth"]

TRUTH_FORMAT = "latentexplorer.truth"
TRUTH_VERSION = 1
#: Columns every truth file has.
TRUTH_REQUIRED = ("APOGEE_ID", "AGE")
#: HDU1 keyword holding the seed of the mock survey that wrote the file.
SEED_KEYWORD = "SEED"

#: (name, unit, description) of the known truth columns (dtypes are kept as the table has them).
TRUTH_COLUMNS = (
    ("APOGEE_ID", None, "2MASS-style APOGEE identifier (allStar APOGEE_ID)"),
    ("KIC", None, "Kepler Input Catalog number; -1 outside the Kepler seismic subset"),
    ("EVOLSTATE", None, "true evolutionary state: RGB or RC"),
    ("POPULATION", None, "disk component the star was drawn from: thin or thick"),
    ("MASS", "solMass", "true mass"),
    ("RADIUS", "solRad", "true radius"),
    ("LUMINOSITY", "solLum", "true luminosity"),
    ("AGE", "Gyr", "true age"),
    ("TEFF", "K", "true effective temperature"),
    ("LOGG", None, "true log10(g / (cm s-2)), in dex"),
    ("FE_H", None, "true [Fe/H], in dex"),
    ("M_H", None, "true [M/H], in dex"),
    ("ALPHA_M", None, "true [alpha/M], in dex"),
    ("C_FE", None, "true [C/Fe] after first dredge-up, in dex"),
    ("N_FE", None, "true [N/Fe] after first dredge-up, in dex"),
    ("C_N", None, "true [C/N] after first dredge-up, in dex"),
    ("NUMAX", "uHz", "frequency of maximum oscillation power (scaling relation)"),
    ("DELTANU", "uHz", "large frequency separation (scaling relation)"),
    ("RA", "deg", "ICRS right ascension"),
    ("DEC", "deg", "ICRS declination"),
    ("GLON", "deg", "Galactic longitude"),
    ("GLAT", "deg", "Galactic latitude"),
    ("DIST", "kpc", "heliocentric distance"),
    ("PMRA", "mas / yr", "proper motion in RA, cos(Dec) included"),
    ("PMDEC", "mas / yr", "proper motion in Dec"),
    ("VLOS", "km / s", "heliocentric line-of-sight velocity"),
    ("R", "kpc", "Galactocentric cylindrical radius"),
    ("PHI", "deg", "Galactocentric azimuth: Sun at 0, increasing with Galactic rotation (galpy)"),
    ("Z", "kpc", "height above the Galactic plane"),
    ("KEPMAG", "mag", "Kepler-band magnitude"),
    ("SNR", None, "APOGEE S/N per pixel the spectra are synthesised at"),
)
_KNOWN = {name: (unit, description) for name, unit, description in TRUTH_COLUMNS}


def write_truth(table, path, seed: int | None = None) -> Table:
    """Write a mock's truth ``table`` (an astropy Table) as ``truth.fits``, atomically.

    Every column is written in the table's order and dtype; the columns of :data:`TRUTH_COLUMNS` get
    that unit (converting values from another unit of the table's) and description, other columns keep
    their own. ``seed``, the mock survey's seed, is written as the :data:`SEED_KEYWORD` keyword. Returns the
    Table as written.

    Raises
    ------
    ValueError
        If APOGEE_ID or AGE is missing, or a unit cannot be converted or stored in FITS.
    """
    if not hasattr(table, "colnames"):
        table = Table(dict(table))
    missing = [name for name in TRUTH_REQUIRED if name not in table.colnames]
    if missing:
        raise ValueError(f"truth table lacks the columns {', '.join(missing)}")
    columns = [(name, None, *_KNOWN.get(name, (table[name].unit, table[name].description)))
               for name in table.colnames]
    keywords = () if seed is None else ((SEED_KEYWORD, int(seed), "seed of the mock survey"),)
    return write_product_table(path, table, format_name=TRUTH_FORMAT, version=TRUTH_VERSION, extname="TRUTH",
                               columns=columns, keywords=keywords)


def read_truth(path) -> Table:
    """Read a mock's ``truth.fits`` written by :func:`write_truth` (``latentexplorer simulate``).

    Returns an astropy Table (units and descriptions restored, strings stripped). Raises
    FileNotFoundError for a missing file, ValueError naming the file when it is not a
    latentexplorer.truth FITS file of a version this package reads or lacks APOGEE_ID or AGE.
    """
    return read_product_table(path, format_name=TRUTH_FORMAT, max_version=TRUTH_VERSION, command="simulate",
                              required=TRUTH_REQUIRED)


@contextlib.contextmanager
def mapped_truth(path):
    """``truth.fits`` memory-mapped, to read a few rows of a survey-sized mock without reading the file.

    Yields ``(header, data)``: HDU1's header (:data:`SEED_KEYWORD` holds the mock's seed, where recorded) and its
    FITS_rec (``data["TEFF"][rows]``: numbers in the file's byte order, strings padded), valid inside the
    ``with`` block. :func:`read_truth` reads the whole table with units.

    Raises FileNotFoundError for a missing file, ValueError when HDU1 is not a latentexplorer.truth table.
    """
    try:
        hdul = fits.open(path, memmap=True)
    except FileNotFoundError:
        raise
    except OSError as err:
        raise ValueError(f"{path} is not a {TRUTH_FORMAT} file: {err}") from None
    with hdul:
        table = hdul[1] if len(hdul) > 1 and isinstance(hdul[1], fits.BinTableHDU) else None
        if table is None or str(table.header.get(FORMAT_KEYWORD, "")).strip() != TRUTH_FORMAT:
            raise ValueError(f"{path} is not a {TRUTH_FORMAT} file")
        yield table.header, table.data
