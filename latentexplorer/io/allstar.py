"""allStar-like catalogs: the APOGEE DR17 summary table of stellar parameters, one row per star.

:func:`write_allstar` writes the DR17 column names and conventions (a primary HDU and the table in
HDU1); :func:`read_allstar` reads such a file — a mock's or the real ``allStar-dr17-synspec_rev1.fits``
— returning only the columns asked for, with the DR17 missing-value sentinel (−9999) turned into NaN so
that downstream code has one missing-value convention. Flags follow the DR17 bitmasks
(:data:`STARFLAG_BITS`, :data:`ASPCAPFLAG_BITS`).
"""

from __future__ import annotations

import numpy as np
from astropy.table import Table

from .tables import numeric_column, open_survey_table, write_typed_table

__all__ = [
    "ALLSTAR_COLUMNS",
    "STARFLAG_BITS",
    "ASPCAPFLAG_BITS",
    "MISSING_VALUE",
    "write_allstar",
    "read_allstar",
    "allstar_columns",
]

#: DR17 ``APOGEE_STARFLAG`` bits used by the mock (the names of the DR17 bitmask).
STARFLAG_BITS = {"BAD_PIXELS": 0, "BRIGHT_NEIGHBOR": 2, "LOW_SNR": 4, "PERSIST_HIGH": 9, "SUSPECT_RV_COMBINATION": 16}
#: DR17 ``APOGEE_ASPCAPFLAG`` bits used by the mock.
ASPCAPFLAG_BITS = {"TEFF_WARN": 0, "LOGG_WARN": 1, "M_H_WARN": 3, "TEFF_BAD": 16, "LOGG_BAD": 17, "M_H_BAD": 19,
                   "STAR_BAD": 23}
#: The DR17 sentinel of a missing number in allStar columns.
MISSING_VALUE = -9999.0

#: The ASPCAP labels in dex that the allStar file carries, each with its ``_ERR`` column.
DEX_LABELS = ("LOGG", "M_H", "ALPHA_M", "FE_H", "C_FE", "N_FE")

#: (name, FITS-compatible dtype, unit) of the columns the mock writes, in order.
ALLSTAR_COLUMNS = (
    ("APOGEE_ID", "U18", None),
    ("TELESCOPE", "U6", None),
    ("FIELD", "U16", None),
    ("RA", "f8", "deg"),
    ("DEC", "f8", "deg"),
    ("SNREV", "f4", None),
    ("STARFLAG", "i8", None),
    ("ASPCAPFLAG", "i8", None),
    ("TEFF", "f4", "K"),
    ("TEFF_ERR", "f4", "K"),
    # each ASPCAP label in dex (FITS has no dex unit), followed by its error
    *((name + suffix, "f4", None) for name in DEX_LABELS for suffix in ("", "_ERR")),
    ("VHELIO_AVG", "f4", "km/s"),
    ("GAIAEDR3_PARALLAX", "f8", "mas"),
    ("GAIAEDR3_PARALLAX_ERROR", "f8", "mas"),
    ("GAIAEDR3_PMRA", "f8", "mas/yr"),
    ("GAIAEDR3_PMRA_ERROR", "f8", "mas/yr"),
    ("GAIAEDR3_PMDEC", "f8", "mas/yr"),
    ("GAIAEDR3_PMDEC_ERROR", "f8", "mas/yr"),
    ("DIST", "f4", "kpc"),
    ("DIST_ERR", "f4", "kpc"),
)


def write_allstar(path, table) -> None:
    """Write ``table`` as an allStar-like FITS file (primary HDU + table in HDU1), atomically.

    Parameters
    ----------
    path : str or Path
    table : astropy Table (or mapping of equal-length columns) holding every column of
        :data:`ALLSTAR_COLUMNS`; values are cast to the listed dtypes and units attached. Missing
        numbers may be NaN or −9999, as in DR17.

    Raises
    ------
    ValueError
        If a required column is missing (the message lists them).
    """
    write_typed_table(path, table, ALLSTAR_COLUMNS, "ALLSTAR", "allStar table")


def allstar_columns(path) -> set[str]:
    """The column names of an allStar-like file (without reading its rows)."""
    with open_survey_table(path, "allStar") as hdul:
        return set(hdul[1].columns.names)


def read_allstar(path, columns=None) -> Table:
    """Read an allStar-like FITS file (HDU1), a mock one or the real DR17 ``allStar``.

    Parameters
    ----------
    path : str or Path
    columns : sequence of str, optional
        Only these columns (the real DR17 file has hundreds); all by default.

    Returns
    -------
    astropy Table: string columns stripped of padding; numbers of :data:`ALLSTAR_COLUMNS` stored as text read
    as float (ValueError naming the file and column if they are no numbers); the DR17 sentinel −9999 is
    replaced by NaN in float columns, and in integer columns that are not bitmasks (names without FLAG or
    TARGET), which then become float (a Teff stored as an integer must not give −9999 K).

    Raises
    ------
    FileNotFoundError, or ValueError (one line naming the file) if it is not a FITS file, has no table in
    HDU1 or no rows, or lacks a requested column.
    """
    with open_survey_table(path, "allStar") as hdul:
        names = hdul[1].columns.names
        wanted = list(names) if columns is None else list(columns)
        absent = [c for c in wanted if c not in names]
        if absent:
            raise ValueError(f"{path} lacks the allStar columns {', '.join(absent)}")
        data = hdul[1].data
        table = Table({name: np.array(data[name]) for name in wanted})
        for name in wanted:
            unit = hdul[1].columns[name].unit
            if unit:
                table[name].unit = unit
    numeric = {name for name, dtype, _ in ALLSTAR_COLUMNS if not dtype.startswith("U")}
    for name in table.colnames:
        col = table[name]
        if col.dtype.kind in "US" and name in numeric:  # numbers stored as text: read, or refused
            table[name] = numeric_column(col, "f8", name, path)
            table[name].unit = col.unit
            col = table[name]
        if col.dtype.kind in "US":
            table[name] = np.char.strip(np.asarray(col).astype(str))
        elif col.dtype.kind in "iu" and not ("FLAG" in name.upper() or "TARGET" in name.upper()) \
                and np.any(np.asarray(col) == MISSING_VALUE):
            values = np.array(col, dtype=float)
            values[values == MISSING_VALUE] = np.nan
            table[name] = values
            table[name].unit = col.unit
        elif col.dtype.kind == "f":
            values = np.array(col, dtype=col.dtype.newbyteorder("="))
            values[values == MISSING_VALUE] = np.nan
            table[name] = values
            table[name].unit = col.unit
    return table
