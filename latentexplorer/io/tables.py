"""Writing fixed-schema FITS tables (allStar, seismic catalogs): one column spec, one atomic writer."""

from __future__ import annotations

import numpy as np
from astropy.io import fits
from astropy.table import Table

from .atomic import atomic_output

__all__ = ["write_typed_table"]


def write_typed_table(path, table, columns, extname: str, what: str) -> None:
    """Write the ``columns`` ((name, dtype, unit) triples) of ``table`` to HDU1 of a FITS file, atomically.

    ``table`` is an astropy Table or a mapping of equal-length columns; values are cast to the listed
    dtypes and units attached. ValueError lists the columns ``table`` lacks (``what`` names the table).
    """
    present = set(table.colnames if hasattr(table, "colnames") else table)
    missing = [name for name, _, _ in columns if name not in present]
    if missing:
        raise ValueError(f"{what} lacks the columns {', '.join(missing)}")
    out = Table()
    for name, dtype, unit in columns:
        out[name] = np.asarray(table[name]).astype(dtype)
        if unit is not None:
            out[name].unit = unit
    with atomic_output(path, suffix=".fits") as tmp:
        fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(out, name=extname)]).writeto(tmp)
