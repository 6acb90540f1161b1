"""Matching stars between products by identifier (APOGEE_ID, KIC): the one helper every module uses."""

from __future__ import annotations

import logging

import numpy as np

__all__ = ["match_ids"]

logger = logging.getLogger(__name__)


def _normalised(values) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype.kind in "USO":
        return np.char.strip(values.astype(str))
    return values


def match_ids(ids, reference, *, warn_duplicates: str | None = None) -> np.ndarray:
    """Row of each of ``ids`` in ``reference``, −1 where absent.

    Parameters
    ----------
    ids, reference : 1-D arrays of str (surrounding blanks ignored, as in padded FITS strings) or of int
    warn_duplicates : str, optional
        If given and ``reference`` repeats an identifier, log a warning naming this (e.g. the file).

    Returns
    -------
    numpy.ndarray of int64, shape ``ids.shape``. The first occurrence wins where ``reference`` repeats an id.
    """
    ids, reference = _normalised(ids), _normalised(reference)
    if reference.size == 0 or ids.size == 0:
        return np.full(ids.shape, -1, dtype=np.int64)
    if ids.dtype.kind != reference.dtype.kind and {ids.dtype.kind, reference.dtype.kind} & {"U"}:
        ids, reference = ids.astype(str), reference.astype(str)
    unique, first = np.unique(reference, return_index=True)
    if warn_duplicates and unique.size < reference.size:
        logger.warning("%s: %d repeated identifiers; the first row of each is used", warn_duplicates,
                       reference.size - unique.size)
    pos = np.clip(np.searchsorted(unique, ids), 0, unique.size - 1)
    return np.where(unique[pos] == ids, first[pos], -1).astype(np.int64)
