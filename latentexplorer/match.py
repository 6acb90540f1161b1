"""Matching stars between products by identifier (APOGEE_ID, KIC): the one helper every join uses.

Rules (:func:`normalise_ids`, :func:`match_ids`):

- identifiers are compared after normalisation: bytes are decoded (UTF-8), strings stripped of surrounding
  blanks (padded FITS strings) and upper-cased (``" 2m00000001+0000000 "`` is ``"2M00000001+0000000"``);
  integers, and floats that hold whole numbers, are written as decimal strings (``123``, ``123.0`` and
  ``"123"`` are one identifier). Blank identifiers never match.
- where ``reference`` repeats an identifier, its first row is used (and, if asked, a warning says how many
  repeat).
- given ``names`` (the two files), a warning names both files, the matched count and fraction when fewer than
  :data:`MIN_MATCH_FRACTION` of ``ids`` are found; the caller decides whether no match at all is an error.
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = ["MIN_MATCH_FRACTION", "normalise_ids", "id_index", "rows_in_index", "match_ids"]

logger = logging.getLogger(__name__)

#: Below this fraction of identifiers found, :func:`match_ids` warns (when told the files' names).
MIN_MATCH_FRACTION = 0.9


def normalise_ids(values) -> np.ndarray:
    """Identifiers as the comparable strings of the module's rules: (n,) str, stripped and upper-case."""
    values = np.asarray(values)
    if values.dtype.kind == "S":
        values = np.char.decode(values, "utf-8", "replace")
    elif values.dtype.kind == "O":
        values = np.array([v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                           for v in values.ravel()], dtype=str).reshape(values.shape)
    elif values.dtype.kind == "f":
        whole = np.isfinite(values) & (values == np.round(values))
        values = np.where(whole, np.char.mod("%d", np.where(whole, values, 0).astype(np.int64)), "")
    elif values.dtype.kind == "b":
        raise ValueError("identifiers cannot be booleans")
    return np.char.upper(np.char.strip(values.astype(str)))


def id_index(reference) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`match_ids` searches: the sorted unique normalised identifiers of ``reference``, (u,) str,
    and the first row of each in ``reference``, (u,) int64. Kept (e.g. in a column store) it answers
    :func:`rows_in_index` without sorting ``reference`` again."""
    reference = normalise_ids(reference)
    unique, first = np.unique(reference, return_index=True)
    return unique, first.astype(np.int64)


def rows_in_index(ids, index: tuple[np.ndarray, np.ndarray], *, normalised: bool = False) -> np.ndarray:
    """Row of each of ``ids`` in the reference ``index`` (:func:`id_index`) describes, −1 where absent:
    int64 of ``ids``' shape (``normalised``: ``ids`` are already :func:`normalise_ids`' output)."""
    ids = np.asarray(ids) if normalised else normalise_ids(ids)
    unique, first = index
    if unique.size == 0 or ids.size == 0:
        return np.full(ids.shape, -1, dtype=np.int64)
    pos = np.clip(np.searchsorted(unique, ids), 0, unique.size - 1)
    return np.where((unique[pos] == ids) & (ids != ""), first[pos], -1).astype(np.int64)


def match_ids(ids, reference, *, warn_duplicates: str | None = None, names: tuple[str, str] | None = None
              ) -> np.ndarray:
    """Row of each of ``ids`` in ``reference``, −1 where absent (identifiers compared as the module says).

    Parameters
    ----------
    ids, reference : 1-D arrays of identifiers (str, bytes, int or whole floats)
    warn_duplicates : str, optional
        If given and ``reference`` repeats an identifier, log a warning naming this (e.g. the file).
    names : (str, str), optional
        The files ``ids`` and ``reference`` come from: when fewer than :data:`MIN_MATCH_FRACTION` of the
        ``ids`` are found, log a warning naming both, with the matched count and fraction.

    Returns
    -------
    numpy.ndarray of int64, shape ``ids.shape``. The first occurrence wins where ``reference`` repeats an id.
    """
    ids, index = normalise_ids(ids), id_index(reference)
    if warn_duplicates and index[0].size < len(reference):
        logger.warning("%s: %d repeated identifiers; the first row of each is used", warn_duplicates,
                       len(reference) - index[0].size)
    rows = rows_in_index(ids, index, normalised=True)
    if names is not None and ids.size:
        found = int((rows >= 0).sum())
        if found < MIN_MATCH_FRACTION * ids.size:
            logger.warning("%s: only %d of %d identifiers (%.0f %%) are in %s", names[0], found, ids.size,
                           100.0 * found / ids.size, names[1])
    return rows
