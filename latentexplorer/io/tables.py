"""FITS tables: fixed-schema survey tables (allStar, seismic catalogs) and the workspace's product tables.

One code path casts a table to a column spec and writes it atomically to HDU1 of a FITS file:

- :func:`write_typed_table` writes survey-like tables (allStar, seismic catalogs) with plain DR17-style
  headers: column names, formats and units.
- :func:`write_product_table` writes a workspace product (catalog.fits, orbits.fits, truth.fits …) that
  says what it is: HDU1 carries ``LEFORMAT`` (the format name, e.g. ``'latentexplorer.catalog'``) and
  ``LEFMTVER`` (its integer version), every column's unit in ``TUNITn`` and its description in
  ``TCOMMn`` (the keyword TOPCAT and the HEASARC conventions read; astropy's own writer would put
  descriptions in a YAML block of COMMENT cards instead, which is not written here).
  :func:`read_product_table` is the matching reader: it checks the format name and version and restores
  units and descriptions; a missing file is a FileNotFoundError saying which command writes it, and
  anything else wrong with the file — not FITS, damaged or truncated, no table in HDU1, a foreign table
  (no ``LEFORMAT``), another product, a newer version, a missing column — is one ValueError naming
  the file and what is wrong.

:func:`open_survey_table` opens a survey table a user gives (an allStar file, a seismic catalog), memory-mapped,
with the same one-line errors.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import Table

from .atomic import atomic_output
from .paths import existing_file

__all__ = ["FORMAT_KEYWORD", "VERSION_KEYWORD", "write_typed_table", "write_product_table", "read_product_table",
           "open_survey_table", "numeric_column"]

#: HDU1 header keyword holding a product's format name, e.g. ``'latentexplorer.catalog'``.
FORMAT_KEYWORD = "LEFORMAT"
#: HDU1 header keyword holding the integer version of that format.
VERSION_KEYWORD = "LEFMTVER"
_FORMAT_PREFIX = "latentexplorer."


def _fits_unit(unit, name: str, what: str):
    """``unit`` as an astropy unit that FITS can store (None for no unit or a dimensionless one)."""
    if unit is None:
        return None
    try:
        unit = u.Unit(unit)
    except ValueError as err:
        raise ValueError(f"{what}: column {name} has an invalid unit {unit!r}: {err}") from None
    if unit == u.dimensionless_unscaled:
        return None
    try:
        unit.to_string("fits")
    except (ValueError, TypeError):
        raise ValueError(f"{what}: the unit {unit} of column {name} cannot be stored in a FITS header "
                         "(the FITS standard lacks it); store the values without a unit and say it in the "
                         "column's description") from None
    return unit


def _column_values(column, dtype, unit, name: str, what: str) -> np.ndarray:
    """The values of ``column`` as a plain array of ``dtype`` (None: keep its dtype) in ``unit``.

    A column with a unit different from ``unit`` is converted (ValueError if it cannot be); masked
    float entries become NaN.
    """
    values = column
    own_unit = getattr(column, "unit", None)
    if unit is not None and own_unit is not None and u.Unit(own_unit) != unit:
        try:
            values = u.Quantity(np.asarray(column), own_unit).to_value(unit)
        except (u.UnitsError, ValueError, TypeError):
            raise ValueError(f"{what}: column {name} is in {own_unit}, which does not convert to {unit}") from None
    if np.ma.isMaskedArray(values) or hasattr(values, "mask"):
        data = np.ma.asarray(values)
        values = data.filled(np.nan) if data.dtype.kind in "fc" else data.data
    values = np.asarray(values)
    if dtype is not None:
        values = values.astype(dtype)
    elif values.dtype.kind == "O":
        values = values.astype(str)
    return values


def _typed_table(table, columns, what: str) -> tuple[Table, list[str | None]]:
    """The ``columns`` ((name, dtype, unit, description)) of ``table`` as a new Table with plain,
    unit-carrying columns (no descriptions: those go to ``TCOMMn``), and the descriptions in order.

    ValueError lists the columns ``table`` lacks.
    """
    present = set(table.colnames if hasattr(table, "colnames") else table)
    missing = [spec[0] for spec in columns if spec[0] not in present]
    if missing:
        raise ValueError(f"{what} lacks the columns {', '.join(missing)}")
    out, descriptions = Table(), []
    for name, dtype, unit, description in columns:
        unit = _fits_unit(unit, name, what)
        out[name] = _column_values(table[name], dtype, unit, name, what)
        if unit is not None:
            out[name].unit = unit
        if description is not None:
            description = str(description)
            if not description.isascii() or not description.isprintable():
                raise ValueError(f"{what}: the description of column {name} must be printable ASCII "
                                 f"(FITS headers are), got {description!r}")
        descriptions.append(description or None)
    return out, descriptions


def _write_hdu(path, table: Table, extname: str, descriptions=(), keywords=()) -> None:
    """Write ``table`` to HDU1 (named ``extname``) of a FITS file at ``path``, atomically; ``descriptions``
    (one per column, None for none) go to ``TCOMMn`` and ``keywords`` ((key, value, comment)) to HDU1."""
    hdu = fits.table_to_hdu(table)
    hdu.name = extname
    header = hdu.header
    for i, description in enumerate(descriptions, start=1):
        if description:
            after = next(k for k in (f"TUNIT{i}", f"TFORM{i}") if k in header)
            header.set(f"TCOMM{i}", description, after=after)
    for key, value, comment in keywords:
        header[key] = (value, comment)
    with atomic_output(path, suffix=".fits") as tmp:
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(tmp)


def write_typed_table(path, table, columns, extname: str, what: str) -> None:
    """Write the ``columns`` ((name, dtype, unit) triples) of ``table`` to HDU1 of a FITS file, atomically.

    ``table`` is an astropy Table or a mapping of equal-length columns; values are cast to the listed
    dtypes and units attached. ValueError lists the columns ``table`` lacks (``what`` names the table).
    The header has no format keywords: this writes survey-like files (allStar, seismic catalogs).
    """
    out, _ = _typed_table(table, [(name, dtype, unit, None) for name, dtype, unit in columns], what)
    _write_hdu(path, out, extname)


def _check_format_name(format_name: str) -> None:
    if not (isinstance(format_name, str) and format_name.startswith(_FORMAT_PREFIX)
            and len(format_name) > len(_FORMAT_PREFIX) and format_name.isascii() and len(format_name) <= 68):
        raise ValueError(f"a product format name is 'latentexplorer.<name>', got {format_name!r}")


def write_product_table(path, table, *, format_name: str, version: int, extname: str, columns=None,
                        keywords=()) -> Table:
    """Write ``table`` as a workspace product: a FITS file whose HDU1 (named ``extname``) holds the table
    and says what it is, written atomically (:mod:`latentexplorer.io.atomic`).

    Parameters
    ----------
    path : str or Path
    table : astropy Table, or a mapping of equal-length columns
    format_name : str
        ``'latentexplorer.<name>'``, written as ``LEFORMAT`` in HDU1's header.
    version : int
        The version of that format (≥ 1), written as ``LEFMTVER``.
    extname : str
        ``EXTNAME`` of HDU1.
    columns : sequence of (name, dtype, unit, description), optional
        The columns to write, in order: values are cast to ``dtype`` (None keeps the table's),
        converted to ``unit`` if the column carries another unit (None or '' for no unit), and
        ``description`` (printable ASCII, or None) goes to ``TCOMMn``. By default every column of
        ``table``, with its own dtype, unit and ``description``.
    keywords : sequence of (key, value, comment), optional
        Further HDU1 header cards the product records (e.g. the mock's ``SEED`` in ``truth.fits``).

    Returns
    -------
    astropy Table: the columns as written (cast, with units and descriptions).

    Raises
    ------
    ValueError
        If ``table`` lacks a listed column, a unit cannot be stored in FITS (e.g. ``dex``), a
        description is not printable ASCII, or the format name / version is malformed.
    """
    _check_format_name(format_name)
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 1:
        raise ValueError(f"a product format version is an integer ≥ 1, got {version!r}")
    if columns is None:
        if not hasattr(table, "colnames"):
            table = Table(dict(table))
        columns = [(name, None, table[name].unit, table[name].description) for name in table.colnames]
    out, descriptions = _typed_table(table, columns, f"{format_name} table")
    _write_hdu(path, out, extname, descriptions, (
        (FORMAT_KEYWORD, format_name, "latentexplorer product format"),
        (VERSION_KEYWORD, int(version), "version of the LEFORMAT format"),
        *keywords,
    ))
    for name, description in zip(out.colnames, descriptions):
        out[name].description = description
    return out


def _read_fits(path: Path, what: str):
    """(header, Table) of HDU1 of ``path``; ValueError when the file is not a FITS file, is damaged or
    truncated, or has no table in HDU1."""
    try:
        with warnings.catch_warnings():
            # astropy only warns about a file cut short (and then fails later, or reads garbage); the
            # filters added last are matched first
            warnings.filterwarnings("ignore", category=fits.verify.VerifyWarning)
            warnings.filterwarnings("error", message=".*truncated")
            warnings.filterwarnings("error", message=".*Header size is not multiple of 2880")
            with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
                if len(hdul) < 2 or not isinstance(hdul[1], fits.BinTableHDU):
                    return None, None
                header = hdul[1].header.copy()
                table = Table.read(hdul[1], character_as_bytes=False, mask_invalid=False)
    except Exception as err:  # noqa: BLE001 - any failure of astropy here means a bad file
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        with open(path, "rb") as fh:
            start = fh.read(9)
        if start != b"SIMPLE  =":
            raise ValueError(f"{path} is not a FITS file (expected a {what} file)") from None
        raise ValueError(f"{path} is damaged or truncated (expected a {what} file): {detail}") from None
    return header, table


def numeric_column(values, dtype, name: str, path) -> np.ndarray:
    """A survey table's column ``name`` of ``path`` as numbers of ``dtype`` ('f8', 'i8'…): numbers written as
    text are read, masked or blank entries become NaN (−1 for integers).

    Raises ValueError naming the file and the column when it holds text that is no number, or a fraction
    where an integer is due."""
    kind = "integers" if dtype.startswith("i") else "numbers"
    values = np.ma.asarray(values)
    if values.dtype.kind in "iu":
        return np.ma.filled(values, -1).astype(dtype)
    if values.dtype.kind in "USO":
        text = np.char.strip(np.ma.filled(values, "").astype(str))
        for value in text:
            try:
                float(value or "nan")
            except ValueError:
                raise ValueError(f"{path}: {name} must be {kind}, found {str(value)!r}") from None
        values = np.where(text == "", "nan", text)
    numbers = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan)
    if not dtype.startswith("i"):
        return numbers.astype(dtype)
    finite = np.isfinite(numbers)
    fractions = numbers[finite][numbers[finite] != np.round(numbers[finite])]
    if fractions.size:
        raise ValueError(f"{path}: {name} must be {kind}, found {float(fractions[0])!r}")
    return np.where(finite, numbers, -1).astype(dtype)


@contextlib.contextmanager
def open_survey_table(path, what: str):
    """Yield the open HDU list (memory-mapped) of a user's survey table ``what`` (e.g. "allStar") at ``path``,
    after checking that HDU1 is a binary table with at least one row, all of it in the file (not truncated).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        A directory, not a FITS file, damaged or truncated, no table in HDU1, or no rows (one line naming the
        file).
    """
    path = existing_file(path, f"FITS file ({what} expected)")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=fits.verify.VerifyWarning)
            warnings.filterwarnings("ignore", message=".*truncated")  # checked below, with the file's size
            hdul = fits.open(path, memmap=True)
            n_hdus = len(hdul)  # reads every header: a damaged header fails here
    except OSError as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"{path} is not a readable FITS file ({what} expected): {detail}") from None
    try:
        if n_hdus < 2 or not isinstance(hdul[1], fits.BinTableHDU):
            raise ValueError(f"{path} is not a {what} file: HDU1 is not a binary table")
        if hdul.fileinfo(1)["datLoc"] + hdul[1].size > path.stat().st_size:
            raise ValueError(f"{path} is damaged or truncated: its table needs more bytes than the file holds")
        if hdul[1].data is None or len(hdul[1].data) == 0:
            raise ValueError(f"{path} has no rows (an empty {what} table)")
        yield hdul
    finally:
        hdul.close()


def read_product_table(path, *, format_name: str, max_version: int, command: str, required=()) -> Table:
    """Read the product table in HDU1 of ``path`` after checking it is a ``format_name`` file of a version
    ≤ ``max_version`` (the matching reader of :func:`write_product_table`).

    Parameters
    ----------
    path : str or Path
    format_name : str
        The expected ``LEFORMAT``, e.g. ``'latentexplorer.catalog'``.
    max_version : int
        The newest ``LEFMTVER`` this reader understands.
    command : str
        The ``latentexplorer`` subcommand that writes such files, named in the FileNotFoundError.
    required : sequence of str, optional
        Columns the file must have.

    Returns
    -------
    astropy Table with the units (``TUNITn``) and descriptions (``TCOMMn``) of the file, string columns
    stripped of padding, numbers in native byte order; ``meta`` holds ``LEFORMAT`` and ``LEFMTVER``.

    Raises
    ------
    FileNotFoundError
        No file at ``path`` (the message says which command writes it).
    ValueError
        Anything else wrong with it; one line naming the file and what is wrong.
    """
    _check_format_name(format_name)
    path = existing_file(path, f"{format_name} file", f"run `latentexplorer {command}`")
    header, table = _read_fits(path, format_name)
    if header is None:
        raise ValueError(f"{path} has no table in HDU1: not a {format_name} file (or a truncated one)")
    found = header.get(FORMAT_KEYWORD)
    if not isinstance(found, str) or not found.strip():
        raise ValueError(f"{path} is not a {format_name} file (a FITS table without the {FORMAT_KEYWORD} "
                         "keyword: a foreign file?)")
    found = found.strip()
    if found != format_name:
        raise ValueError(f"{path} is a {found} file, not a {format_name} file")
    version = header.get(VERSION_KEYWORD)
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)):
        raise ValueError(f"{path} is a {format_name} file without a valid {VERSION_KEYWORD} (format version) "
                         f"keyword: {version!r}")
    if version > max_version:
        raise ValueError(f"{path} is a {format_name} file of version {version}; this latentexplorer reads "
                         f"versions ≤ {max_version}: upgrade latentexplorer")
    missing = [name for name in required if name not in table.colnames]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {', '.join(missing)} of a {format_name} file")
    table.meta.clear()
    table.meta[FORMAT_KEYWORD], table.meta[VERSION_KEYWORD] = found, int(version)
    for i, name in enumerate(table.colnames, start=1):
        col = table[name]
        unit, description = col.unit, header.get(f"TCOMM{i}")
        if col.dtype.kind in "US":
            table[name] = np.char.strip(np.asarray(col).astype(str))
        elif not col.dtype.isnative:
            table[name] = np.asarray(col).astype(col.dtype.newbyteorder("="))
        table[name].unit = unit
        if description is not None:
            table[name].description = str(description)
    return table
