"""Asteroseismic catalogs like APOKASC-2 (Pinsonneault et al. 2018) and Miglio et al. (2021): global
seismic parameters, evolutionary state, mass and age for Kepler (or TESS) giants that APOGEE observed.

The file (:func:`write_seismic_catalog`) is a FITS table in HDU1 with the columns of
:data:`SEISMIC_COLUMNS`: the target keys KIC and TIC (either or both: the light curves' Kepler or TESS
Input Catalog numbers, -1 where a star has none), APOGEE_ID, NUMAX, NUMAX_ERR, DNU, DNU_ERR [μHz],
EVOLSTATE ('RGB'/'RC'), MASS, MASS_ERR [M☉], AGE, AGE_ERR [Gyr]. :func:`read_seismic_catalog` also reads
catalogs that use other common spellings (``numax``/``Numax``, ``dnu``/``DELTANU``, ``evstate``/``ES``,
``TICID``…) and numeric evolutionary states (1 = RGB, 2 = RC, as in Yu et al. 2018 and Miglio et al. 2021;
APOKASC-2's '2CL' secondary clump counts as RC), returning the standard names.
"""

from __future__ import annotations

import logging

import numpy as np
from astropy.table import Table

from ..match import normalise_ids
from .allstar import MISSING_VALUE
from .tables import numeric_column, open_survey_table, write_typed_table

__all__ = ["SEISMIC_COLUMNS", "TARGET_KEYS", "write_seismic_catalog", "read_seismic_catalog"]

logger = logging.getLogger(__name__)

#: (name, dtype, unit) of the seismic catalog, in order.
SEISMIC_COLUMNS = (
    ("KIC", "i8", None),
    ("TIC", "i8", None),
    ("APOGEE_ID", "U18", None),
    ("NUMAX", "f8", "uHz"),
    ("NUMAX_ERR", "f8", "uHz"),
    ("DNU", "f8", "uHz"),
    ("DNU_ERR", "f8", "uHz"),
    ("EVOLSTATE", "U3", None),
    ("MASS", "f8", "solMass"),
    ("MASS_ERR", "f8", "solMass"),
    ("AGE", "f8", "Gyr"),
    ("AGE_ERR", "f8", "Gyr"),
)

#: The columns that join a star to its light curve's PSD: a catalog has one or both.
TARGET_KEYS = ("KIC", "TIC")

_ALIASES = {
    "KIC": ("KEPLER_ID", "KEPLERID", "KIC_ID", "KICID"),
    "TIC": ("TICID", "TIC_ID"),
    "APOGEE_ID": ("2MASS_ID", "TMASS_ID"),
    "NUMAX": ("NU_MAX", "NUMAX_DW"),
    "NUMAX_ERR": ("E_NUMAX", "NUMAX_ERROR", "NU_MAX_ERR"),
    "DNU": ("DELTANU", "DELTA_NU", "DNU_DW"),
    "DNU_ERR": ("E_DNU", "DELTANU_ERR", "DNU_ERROR"),
    "EVOLSTATE": ("EVSTATE", "EVOL_STATE", "ES", "PHASE"),
    "MASS_ERR": ("E_MASS", "MASS_ERROR"),
    "AGE_ERR": ("E_AGE", "AGE_ERROR"),
}
_STATES = {"RGB": "RGB", "RC": "RC", "2CL": "RC", "RC/2CL": "RC", "CHEB": "RC", "1": "RGB", "2": "RC"}


def write_seismic_catalog(path, table) -> None:
    """Write ``table`` (every column of :data:`SEISMIC_COLUMNS`; of the target keys KIC and TIC, those it
    has) as a seismic-catalog FITS file, atomically.

    Raises
    ------
    ValueError
        If a column is missing (or both target keys) or EVOLSTATE holds something other than 'RGB'/'RC'.
    """
    names = table.colnames if hasattr(table, "colnames") else table
    if "EVOLSTATE" in names:
        bad = set(np.unique(np.asarray(table["EVOLSTATE"]).astype(str))) - {"RGB", "RC"}
        if bad:
            raise ValueError(f"EVOLSTATE must be 'RGB' or 'RC', found {sorted(bad)}")
    keys = [key for key in TARGET_KEYS if key in names] or list(TARGET_KEYS)  # neither: the missing-column error
    columns = [column for column in SEISMIC_COLUMNS if column[0] not in TARGET_KEYS or column[0] in keys]
    write_typed_table(path, table, columns, "SEISMIC", "seismic catalog")


def _normalise_states(values) -> np.ndarray:
    raw = np.char.upper(np.char.strip(np.asarray(values).astype(str)))
    return np.array([_STATES.get(v, "") for v in raw], dtype="U3")


def _drop_repeats(table: Table, path) -> Table:
    """The first row of each star: a later row whose KIC or TIC (> 0) or APOGEE_ID (not blank; compared as
    :func:`latentexplorer.match.normalise_ids` does) repeats an earlier row's is dropped, with a warning
    giving the count."""
    keep = np.ones(len(table), bool)
    for name in (*TARGET_KEYS, "APOGEE_ID"):
        if name not in table.colnames:
            continue
        ids = normalise_ids(table[name])
        known = np.asarray(table[name]) > 0 if name in TARGET_KEYS else ids != ""
        repeat = np.ones(len(table), bool)
        repeat[np.unique(ids, return_index=True)[1]] = False
        keep &= ~(repeat & known)
    if not keep.all():
        logger.warning("%s: %d rows repeat an earlier row's %s or APOGEE_ID; the first row of each star is "
                       "used", path, int((~keep).sum()), " or ".join(k for k in TARGET_KEYS if k in table.colnames))
    return table[keep]


def read_seismic_catalog(path) -> Table:
    """Read a seismic catalog (HDU1 of a FITS file) into the standard columns, one row per star.

    Columns are matched case-insensitively, also under the common aliases listed in the module
    docstring; EVOLSTATE becomes 'RGB', 'RC' or '' (unknown). Columns that are absent from the file
    are left out, except NUMAX, DNU and a target key (KIC, TIC or both), which are required. Masked
    numbers and the −9999 sentinel become NaN (a KIC or TIC −1). A star listed twice (the same KIC or TIC
    > 0, or the same APOGEE_ID after strip and upper-case) keeps its first row; a warning gives the number
    of rows dropped.

    Returns
    -------
    astropy Table with the available :data:`SEISMIC_COLUMNS`, in that order.

    Raises
    ------
    FileNotFoundError, or ValueError (one line naming the file) if it is not a FITS file, HDU1 is not a table
    or has no rows, NUMAX, DNU or both KIC and TIC are missing, or a numeric column holds text.
    """
    with open_survey_table(path, "seismic catalog") as hdul:
        raw = Table(hdul[1].data, masked=False, copy=True)
    by_upper = {name.upper(): name for name in raw.colnames}
    out = Table()
    for name, dtype, unit in SEISMIC_COLUMNS:
        source = next((by_upper[a] for a in (name, *_ALIASES.get(name, ())) if a in by_upper), None)
        if source is None:
            continue
        values = np.asarray(raw[source])
        if name == "EVOLSTATE":
            out[name] = _normalise_states(values)
        elif dtype.startswith("U"):
            out[name] = np.char.strip(values.astype(str))
        else:
            numbers = numeric_column(values, dtype, name, path)
            out[name] = np.where(numbers == MISSING_VALUE, -1 if dtype.startswith("i") else np.nan, numbers)
            if unit is not None:
                out[name].unit = unit
    required = [c for c in ("NUMAX", "DNU") if c not in out.colnames]
    if not any(key in out.colnames for key in TARGET_KEYS):
        required.insert(0, " or ".join(TARGET_KEYS))
    if required:
        raise ValueError(f"{path} lacks the seismic columns {', '.join(required)}")
    return _drop_repeats(out, path)
