"""The age catalog product: ``catalog.fits`` (and ``catalog.csv.gz``), the data model of the paper's Table 1.

One row per allStar row, in allStar order. The FITS file is a product table
(:func:`~latentexplorer.io.tables.write_product_table`, format ``'latentexplorer.catalog'``, version
:data:`CATALOG_VERSION`): every column carries its unit (``TUNITn``) and description (``TCOMMn``).
Columns (:data:`CATALOG_COLUMNS`, expanded per latent dimension by :func:`catalog_columns`):

- ``APOGEE_ID`` as in allStar, then the paper's Table 1 names: ``telescope``, ``field``, ``STARFLAG``,
  ``ASPCAPFLAG``, ``z0`` … and ``z0_err`` … (encoder mean and standard deviation per latent dimension),
  ``LogAge``, ``LogAge_Error``, ``Age``, ``Age_Error``;
- ours: ``EVOLSTATE_PRED``, ``P_RC`` and ``AGE_FLAG``.

Units: ``Age`` and ``Age_Error`` are in Gyr. ``LogAge`` and ``LogAge_Error`` are log10(age / Gyr) and
its spread, in dex, but carry no unit in the file: FITS has no ``dex`` (astropy drops it on writing, and
a hand-written ``TUNIT = 'dex'`` reads back as an UnrecognizedUnit with a UnitsWarning), so the
descriptions say "dex" instead.

The CSV (gzip) has the same columns without units; its bytes depend only on the table (no file name
and mtime 0 in the gzip header).
"""

from __future__ import annotations

import gzip
import io

from astropy.table import Table

from .atomic import atomic_outputs
from .tables import read_product_table, write_product_table

__all__ = [
    "CATALOG_FORMAT",
    "CATALOG_VERSION",
    "CATALOG_COLUMNS",
    "catalog_columns",
    "write_catalog",
    "read_catalog",
]

CATALOG_FORMAT = "latentexplorer.catalog"
CATALOG_VERSION = 1
#: The file name in the gzip header of the catalog's CSV: what marks it a latentexplorer catalog.
CSV_HEADER_NAME = f"{CATALOG_FORMAT}.csv"

_AGE_FLAG_BITS = ("1 not encoded, 2 SNREV<=30, 4 log g outside (1.5, 3.6), 8 log g outside (2.5, 3.6), "
                  "16 no Teff, 32 no [Fe/H], 64 latent outside the age model's training support, "
                  "128 Teff or [Fe/H] outside its training range (64, 128: age computed, not to be trusted)")

#: (name, unit, description) of the catalog columns, in order; ``z{i}`` / ``z{i}_err`` repeat for every
#: latent dimension (see :func:`catalog_columns`).
CATALOG_COLUMNS = (
    ("APOGEE_ID", None, "APOGEE identifier (allStar APOGEE_ID); rows are in allStar order"),
    ("telescope", None, "telescope of the APOGEE observation, apo25m or lco25m (allStar TELESCOPE)"),
    ("field", None, "APOGEE field name (allStar FIELD)"),
    ("STARFLAG", None, "APOGEE star flag bitmask (allStar STARFLAG)"),
    ("ASPCAPFLAG", None, "ASPCAP flag bitmask (allStar ASPCAPFLAG)"),
    ("z{i}", None, "latent dimension {i}: encoder mean (NaN without latent, see AGE_FLAG)"),
    ("z{i}_err", None, "latent dimension {i}: encoder standard deviation (NaN without latent)"),
    ("LogAge", None, "log10(age / Gyr), in dex (FITS has no dex unit): mean of the forest's trees' "
                     "log10 ages (NaN without age, see AGE_FLAG)"),
    ("LogAge_Error", None, "uncertainty of LogAge, in dex: calibrated spread of the trees' log10 ages"),
    ("Age", "Gyr", "age: mean over the forest's trees of 10**(tree log10 age), the published catalog's "
                   "recipe (astroNN_ages); not 10**LogAge"),
    ("Age_Error", "Gyr", "age uncertainty: standard deviation over the forest's trees of "
                         "10**(tree log10 age), the published catalog's recipe (astroNN_ages)"),
    ("EVOLSTATE_PRED", None, "RC or RGB predicted from the latent space ('' without latent)"),
    ("P_RC", None, "fraction of the latent-space classifier's trees voting RC (NaN without latent)"),
    ("AGE_FLAG", None, f"why no latent / no age / an untrusted age (0: both computed, in distribution), bits: {_AGE_FLAG_BITS}"),
)

# FITS dtypes of the columns ('U': as wide as the longest value).
_DTYPES = {
    "APOGEE_ID": "U", "telescope": "U", "field": "U", "STARFLAG": "i8", "ASPCAPFLAG": "i8",
    "z{i}": "f4", "z{i}_err": "f4", "LogAge": "f8", "LogAge_Error": "f8", "Age": "f8", "Age_Error": "f8",
    "EVOLSTATE_PRED": "U3", "P_RC": "f8", "AGE_FLAG": "i4",
}


def catalog_columns(latent_dim: int) -> list[tuple[str, str | None, str]]:
    """:data:`CATALOG_COLUMNS` with ``z{i}`` and ``z{i}_err`` expanded for ``latent_dim`` dimensions:
    (name, unit, description) triples in file order (``z0 … z{k-1}``, then ``z0_err …``)."""
    latent_dim = int(latent_dim)
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be at least 1, got {latent_dim}")
    out = []
    for name, unit, description in CATALOG_COLUMNS:
        if "{i}" in name:
            out.extend((name.format(i=i), unit, description.format(i=i)) for i in range(latent_dim))
        else:
            out.append((name, unit, description))
    return out


def _column_spec(latent_dim: int):
    """(name, dtype, unit, description) of every column, for :func:`write_product_table`."""
    dtypes = {name.format(i=i): dtype for name, dtype in _DTYPES.items() for i in range(latent_dim)}
    return [(name, dtypes[name], unit, description) for name, unit, description in catalog_columns(latent_dim)]


def _latent_dim(colnames) -> int:
    """The number of latent dimensions: how many of z0, z1, … the columns hold, consecutively."""
    names = set(colnames)
    k = 0
    while f"z{k}" in names:
        k += 1
    return k


def write_catalog(table, fits_path, csv_path=None) -> None:
    """Write the catalog ``table`` to ``fits_path`` and, if ``csv_path``, as gzip-compressed CSV; each
    file atomically, and the pair as one (:func:`~latentexplorer.io.atomic.atomic_outputs`, the FITS its
    mark): both are written to temporary files first, then an old FITS is removed, the CSV lands, the FITS
    lands last. Wherever a ``catalog.fits`` exists, the CSV beside it is of the same run; a run killed in
    between leaves no FITS (and its parts, to resume from).

    Parameters
    ----------
    table : astropy Table (or mapping of equal-length columns) with every column of
        :func:`catalog_columns` for its latent dimension (counted from the ``z0``, ``z1``, … columns);
        values are cast to the catalog's dtypes, units and descriptions are the catalog's, other
        columns are not written. The CSV holds the same columns and values as the FITS file.
    fits_path, csv_path : str or Path

    Raises
    ------
    ValueError
        If a column is missing (the message lists them) or there is no ``z0``.
    """
    colnames = table.colnames if hasattr(table, "colnames") else list(table)
    k = _latent_dim(colnames)
    if k == 0:
        raise ValueError("catalog table lacks the latent columns z0, z0_err, …")
    with atomic_outputs(fits_path, *([] if csv_path is None else [csv_path])) as (fits_tmp, *csv_tmp):
        written = write_product_table(fits_tmp, table, format_name=CATALOG_FORMAT, version=CATALOG_VERSION,
                                      extname="CATALOG", columns=_column_spec(k))
        for tmp in csv_tmp:
            # the product's name and mtime=0 in the gzip header: the same table gives the same bytes, and the
            # name proves the file a catalog CSV (io.outputs.product_name), so a rerun may replace it
            with (open(tmp, "wb") as file, gzip.GzipFile(CSV_HEADER_NAME, "wb", fileobj=file, mtime=0) as raw,
                  io.TextIOWrapper(raw, "utf-8", newline="") as fh):
                written.write(fh, format="ascii.csv")


def read_catalog(path) -> Table:
    """Read a ``catalog.fits`` written by :func:`write_catalog` (``latentexplorer catalog``).

    Returns
    -------
    astropy Table with the columns of :func:`catalog_columns`, units and descriptions restored, string
    columns stripped.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file is not a latentexplorer.catalog FITS file of a version this package reads, or lacks a
        catalog column; the message names the file and what is wrong.
    """
    fixed = [name for name, _, _ in CATALOG_COLUMNS if "{i}" not in name]
    table = read_product_table(path, format_name=CATALOG_FORMAT, max_version=CATALOG_VERSION, command="catalog",
                               required=fixed + ["z0"])
    k = _latent_dim(table.colnames)
    missing = [name for name, _, _ in catalog_columns(k) if name not in table.colnames]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {', '.join(missing)} of a {CATALOG_FORMAT} file")
    return table
