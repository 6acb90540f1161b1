"""Which spectra a path holds and how to stream them: a stacked or normalised spectra HDF5 file
(:mod:`.apogee_spectra`), ``pairs.h5``, or a directory of apStar/aspcapStar FITS files — counted, read in
chunks (:func:`iter_normalized_spectra`, :func:`read_normalized_spectra`) or by star (:func:`spectra_by_id`),
every row normalised and flagged by :func:`latentexplorer.spectra.normalize_spectra`, so a row's result does
not depend on the chunk it is read in."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..constants import APOGEE_N_PIXELS
from ..match import match_ids
from ..spectra import DEFAULT_BAD_PIXEL_BITS, SpectrumFlag, gap_delete, normalize_spectra
from .apogee_spectra import (apogee_id_from_filename, count_spectra_rows, read_apstar, read_spectra_ids,
                             read_spectra_rows, spectra_file_kind)

__all__ = ["count_spectra", "read_normalized_spectra", "iter_normalized_spectra", "spectra_by_id"]

logger = logging.getLogger(__name__)


def _spectra_source(path) -> tuple[str, Path]:
    """('directory' | 'normalized' | 'stacked', path) of a spectra input, or a clear error; an HDF5 file's
    kind is its ``format`` attribute (:func:`~latentexplorer.io.apogee_spectra.spectra_file_kind`)."""
    path = Path(path)
    if path.is_dir():
        return "directory", path
    return spectra_file_kind(path), path


@functools.lru_cache(maxsize=8)
def _directory_files(path: Path, mtime_ns: int) -> tuple[Path, ...]:
    files = tuple(sorted(p for p in path.iterdir() if p.name.endswith((".fits", ".fits.gz"))))
    if not files:
        raise FileNotFoundError(f"no *.fits spectra in directory {path}")
    return files


def _files_of(path: Path) -> tuple[Path, ...]:
    return _directory_files(path, path.stat().st_mtime_ns)


def count_spectra(path) -> int:
    """Number of spectra in anything :func:`iter_normalized_spectra` reads."""
    kind, path = _spectra_source(path)
    return len(_files_of(path)) if kind == "directory" else count_spectra_rows(path)


def read_normalized_spectra(
    path, start: int = 0, stop: int | None = None, *, continuum_mask=None, bad_pixel_bits=DEFAULT_BAD_PIXEL_BITS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spectra ``start:stop`` of a spectra input, normalised and cleaned (one chunk of
    :func:`iter_normalized_spectra`; a row's result does not depend on the chunk it is read in).

    Returns
    -------
    apogee_id : ndarray (n,) of str
    spectra : ndarray (n, 7514) float32 (NaN rows for unusable spectra)
    flags : ndarray (n,) int32 of :class:`~latentexplorer.spectra.SpectrumFlag` bits
    """
    kind, path = _spectra_source(path)
    if kind == "directory":
        return _read_directory(_files_of(path)[start:stop], continuum_mask, bad_pixel_bits)
    return _normalized_rows(path, slice(start, stop), continuum_mask, bad_pixel_bits)


def _normalized_rows(path, rows, continuum_mask, bad_pixel_bits):
    """(apogee_id, spectra, flags) of the rows ``rows`` (slice or sorted indices) of a spectra HDF5 file."""
    raw = read_spectra_rows(path, rows)
    if raw.normalized:
        spectra, flags = normalize_spectra(raw.flux, normalized=True, bad_pixel_bits=(), return_flags=True)
    else:
        spectra, flags = normalize_spectra(raw.flux, raw.flux_err, raw.bitmask, continuum_mask,
                                           bad_pixel_bits=bad_pixel_bits, return_flags=True)
    return raw.apogee_id, spectra, flags


def spectra_by_id(path, apogee_ids, *, continuum_mask=None, bad_pixel_bits=DEFAULT_BAD_PIXEL_BITS) -> np.ndarray:
    """Normalised spectra (m, 7514) float32 of the stars ``apogee_ids`` (m,) in a spectra input (as
    :func:`iter_normalized_spectra` reads it), NaN rows for stars it does not hold or cannot use.

    Reads only the rows asked for from an HDF5 file, and only the files named after them (or, when none
    is, every file) of an apStar/aspcapStar directory."""
    wanted = np.char.strip(np.asarray(apogee_ids).astype(str))
    out = np.full((wanted.size, APOGEE_N_PIXELS), np.nan, np.float32)
    kind, path = _spectra_source(path)
    if kind == "directory":
        files = _files_of(path)
        names = np.array([apogee_id_from_filename(f) for f in files])
        rows = match_ids(wanted, names)
        picked = [files[r] for r in np.unique(rows[rows >= 0])]
        ids, spectra, _ = _read_directory(picked, continuum_mask, bad_pixel_bits) if picked else ([], None, None)
    else:
        rows = match_ids(wanted, read_spectra_ids(path))
        found = np.unique(rows[rows >= 0])
        ids, spectra, _ = (_normalized_rows(path, found, continuum_mask, bad_pixel_bits) if found.size
                           else ([], None, None))
    if spectra is None:  # the input holds none of them
        return out
    where = match_ids(wanted, np.asarray(ids))
    out[where >= 0] = spectra[where[where >= 0]]
    return out


def iter_normalized_spectra(
    path, chunk_size: int = 1024, *, continuum_mask=None, bad_pixel_bits=DEFAULT_BAD_PIXEL_BITS
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Stream normalised spectra from disk in chunks, with bounded memory.

    Parameters
    ----------
    path : str or Path
        One of: a stacked HDF5 file (:class:`latentexplorer.io.apogee_spectra.StackedSpectraWriter`);
        an HDF5 file with an already normalised ``spectra`` (N, 7514) dataset and ``APOGEE_ID``
        (:class:`~latentexplorer.io.apogee_spectra.NormalizedSpectraWriter`, or ``pairs.h5``); or a
        directory of apStar/aspcapStar-like FITS files (``*.fits``, ``*.fits.gz``, read in name order).
    chunk_size : int
        Spectra per chunk.
    continuum_mask, bad_pixel_bits
        As in :func:`latentexplorer.spectra.normalize_spectra`.

    Yields
    ------
    apogee_id : ndarray (n,) of str
    spectra : ndarray (n, 7514) float32 (NaN rows for unusable spectra)
    flags : ndarray (n,) int32 of :class:`~latentexplorer.spectra.SpectrumFlag` bits
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    n = count_spectra(path)
    for start in range(0, n, chunk_size):
        yield read_normalized_spectra(path, start, start + chunk_size, continuum_mask=continuum_mask,
                                      bad_pixel_bits=bad_pixel_bits)


def _read_directory(files, continuum_mask, bad_pixel_bits):
    n = len(files)
    ids = np.empty(n, dtype=object)
    flux = np.full((n, APOGEE_N_PIXELS), np.nan)
    err = np.full((n, APOGEE_N_PIXELS), np.nan)
    mask = np.zeros((n, APOGEE_N_PIXELS), dtype=np.int64)
    unreadable = np.zeros(n, bool)
    for i, file in enumerate(files):
        try:
            spec = read_apstar(file)
            ids[i] = spec.apogee_id
            flux[i] = gap_delete(spec.flux)[0]
            err[i] = 1.0 if spec.flux_err is None else gap_delete(spec.flux_err)[0]
            if spec.bitmask is not None:
                mask[i] = gap_delete(spec.bitmask)[0]
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            logger.warning("could not read spectrum %s: %s", file, exc)
            ids[i] = apogee_id_from_filename(file)
            unreadable[i] = True
    spectra, flags = normalize_spectra(flux, err, mask, continuum_mask, bad_pixel_bits=bad_pixel_bits,
                                       return_flags=True)
    spectra[unreadable] = np.nan
    flags[unreadable] = int(SpectrumFlag.UNREADABLE)
    return ids.astype(str), spectra, flags
