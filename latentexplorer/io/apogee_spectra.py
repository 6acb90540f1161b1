"""APOGEE spectrum files: per-star apStar/aspcapStar-like FITS and a stacked HDF5 file for big runs.

**apStar-like FITS** (what :func:`write_apstar` writes, the layout of SDSS DR17 ``apStar-dr17-<ID>.fits``):
HDU0 a header with ``OBJID`` (the APOGEE_ID); HDU1 ``FLUX`` (8575 pixels, 1e-17 erg/s/cm²/Å), HDU2
``ERROR`` (1σ, same units), HDU3 ``MASK`` (the APOGEE PIXMASK bitmask, int32), each with the wavelength
solution ``CRVAL1 = 4.179``, ``CDELT1 = 6e-6`` (log10 λ/Å, vacuum), ``CRPIX1 = 1``, ``CTYPE1 = 'LOG-LINEAR'``,
``DC-FLAG = 1``. :func:`read_apstar` also reads real apStar files (a multi-visit file holds the combined
spectrum in the first row, which is the one returned) and **aspcapStar-like** files (HDU1 the
continuum-normalised spectrum, HDU2 its error, HDU3 the best-fitting model — no bitmask), with 8575 or
gap-removed 7514 pixels.

**Stacked HDF5** (:class:`StackedSpectraWriter`): datasets ``APOGEE_ID`` (UTF-8 strings), ``flux`` and
``flux_err`` (float32) and ``bitmask`` (int32), each (N, n_pixels), chunked by rows and compressed
(shuffle + lzf by default);
attributes ``format = 'latentexplorer.stacked_spectra/1'``, ``n_pixels``, ``CRVAL1``, ``CDELT1``. It is
written to a temporary file and renamed on a clean close, so an interrupted run leaves no partial file.

**Normalised HDF5** (:class:`NormalizedSpectraWriter`): ``APOGEE_ID`` and ``spectra`` (N, 7514) float32
continuum-normalised, gap-removed spectra; ``format = 'latentexplorer.normalized_spectra/1'``.

:func:`spectra_file_kind`, :func:`count_spectra_rows`, :func:`read_spectra_ids` and :func:`read_spectra_rows`
read either kind — and a ``pairs.h5``, whose spectra are normalised — deciding by the file's ``format``
attribute (:mod:`latentexplorer.io.hdf5`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import h5py
import numpy as np
from astropy.io import fits

from ..constants import APOGEE_DLOG10_LAMBDA, APOGEE_LOG10_LAMBDA0, APOGEE_N_PIXELS, APOGEE_N_PIXELS_FULL
from .atomic import atomic_output
from .hdf5 import hdf5_product_writer, open_hdf5_product, parse_format

__all__ = [
    "ApogeeSpectrum",
    "SpectraChunk",
    "write_apstar",
    "read_apstar",
    "apogee_id_from_filename",
    "StackedSpectraWriter",
    "NormalizedSpectraWriter",
    "SpectraRows",
    "spectra_file_kind",
    "count_spectra_rows",
    "read_spectra_ids",
    "read_spectra_rows",
    "read_stacked_spectra",
    "iter_stacked_spectra",
]

STACKED_FORMAT = "stacked_spectra"
NORMALIZED_FORMAT = "normalized_spectra"
SPECTRA_VERSION = 1
#: Products whose spectra :func:`read_spectra_rows` reads: name → 'stacked' (raw flux) or 'normalized'.
SPECTRA_PRODUCTS = {STACKED_FORMAT: "stacked", NORMALIZED_FORMAT: "normalized", "pairs": "normalized"}
_VALID_PIXELS = (APOGEE_N_PIXELS_FULL, APOGEE_N_PIXELS)


class ApogeeSpectrum(NamedTuple):
    """One star's spectrum as read from an apStar- or aspcapStar-like file."""

    apogee_id: str
    flux: np.ndarray  #: (n_pixels,) float32
    flux_err: np.ndarray  #: (n_pixels,) float32
    bitmask: np.ndarray | None  #: (n_pixels,) int32 PIXMASK, None for aspcapStar files
    kind: str  #: 'apStar' or 'aspcapStar'
    header: fits.Header  #: the primary header


class SpectraChunk(NamedTuple):
    """Rows ``start:stop`` of a stacked spectra file."""

    apogee_id: np.ndarray  #: (n,) str
    flux: np.ndarray  #: (n, n_pixels) float32
    flux_err: np.ndarray  #: (n, n_pixels) float32
    bitmask: np.ndarray  #: (n, n_pixels) int32


def _wavelength_cards(header: fits.Header) -> fits.Header:
    header["CRVAL1"] = (APOGEE_LOG10_LAMBDA0, "log10(lambda/Angstrom) of the first pixel")
    header["CDELT1"] = (APOGEE_DLOG10_LAMBDA, "log10(lambda/Angstrom) step per pixel")
    header["CRPIX1"] = (1, "reference pixel (1-based)")
    header["CTYPE1"] = ("LOG-LINEAR", "wavelength axis: log10 lambda, vacuum")
    header["DC-FLAG"] = (1, "log-linear wavelength scale")
    return header


def _as_spectrum(name, values, dtype, n_pixels=None) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size not in _VALID_PIXELS or (n_pixels is not None and arr.size != n_pixels):
        want = n_pixels or f"{APOGEE_N_PIXELS_FULL} or {APOGEE_N_PIXELS}"
        raise ValueError(f"{name} must be one spectrum of {want} pixels, got shape {arr.shape}")
    return arr.astype(dtype)


def write_apstar(path, apogee_id: str, flux, flux_err, bitmask, header=None) -> Path:
    """Write one star's spectrum as an apStar-like FITS file (layout in the module docstring).

    Parameters
    ----------
    path : str or Path
        Output file (written atomically). Real files are named ``apStar-dr17-<APOGEE_ID>.fits``.
    apogee_id : str
        Stored as ``OBJID`` in the primary header, as in real apStar files.
    flux, flux_err : array (8575,)
        Flux and 1σ error in 1e-17 erg/s/cm²/Å.
    bitmask : integer array (8575,)
        APOGEE PIXMASK (:data:`latentexplorer.spectra.PIXMASK_BITS`).
    header : mapping or astropy Header, optional
        Extra primary-header cards (e.g. ``SNR``, ``TELESCOP``, ``FIELD``).

    Returns
    -------
    Path
        ``path``.
    """
    flux = _as_spectrum("flux", flux, np.float32, APOGEE_N_PIXELS_FULL)
    flux_err = _as_spectrum("flux_err", flux_err, np.float32, APOGEE_N_PIXELS_FULL)
    bitmask = np.asarray(bitmask)
    if not np.issubdtype(bitmask.dtype, np.integer):
        raise ValueError(f"bitmask must be an integer array, got dtype {bitmask.dtype}")
    bitmask = _as_spectrum("bitmask", bitmask, np.int32, APOGEE_N_PIXELS_FULL)
    primary = fits.PrimaryHDU()
    for key, value in dict(header or {}).items():
        primary.header[key] = value
    primary.header["OBJID"] = (str(apogee_id), "APOGEE_ID")
    primary.header["NWAVE"] = (APOGEE_N_PIXELS_FULL, "pixels per spectrum")
    hdus = [primary]
    for name, data, unit in (
        ("FLUX", flux, "1e-17 erg/s/cm^2/Angstrom"),
        ("ERROR", flux_err, "1e-17 erg/s/cm^2/Angstrom"),
        ("MASK", bitmask, None),
    ):
        hdu = fits.ImageHDU(data, name=name)
        _wavelength_cards(hdu.header)
        if unit:
            hdu.header["BUNIT"] = unit
        hdus.append(hdu)
    path = Path(path)
    with atomic_output(path, suffix=".fits") as tmp:
        fits.HDUList(hdus).writeto(tmp, overwrite=True)
    return path


def apogee_id_from_filename(path) -> str:
    """APOGEE_ID from a file name ``apStar-[<release>-]<ID>.fits`` / ``aspcapStar-[<release>-]<ID>.fits``
    (release like ``dr17``; the ID may itself contain ``-``); otherwise the file name without extension."""
    name = Path(path).name
    for ext in (".fits.gz", ".fits"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    match = re.fullmatch(r"(?:apStar|aspcapStar)-(?:dr\d+-)?(.+)", name)
    return match.group(1) if match else name


def _first_row(data, name, path) -> np.ndarray:
    if data is None:
        raise ValueError(f"{path}: HDU {name} holds no data")
    data = np.asarray(data)
    if data.ndim == 2:  # multi-visit apStar: the combined spectrum comes first
        data = data[0]
    if data.ndim != 1 or data.size not in _VALID_PIXELS:
        raise ValueError(
            f"{path}: HDU {name} must hold {APOGEE_N_PIXELS_FULL} or {APOGEE_N_PIXELS} pixels, got {data.shape}"
        )
    return data


def read_apstar(path) -> ApogeeSpectrum:
    """Read an apStar- or aspcapStar-like FITS file (see the module docstring).

    The file is aspcapStar-like when its name starts with ``aspcapStar`` or HDU3 holds floating-point
    data (a model spectrum rather than a bitmask); its flux is then already continuum-normalised.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Fewer than three data HDUs, or spectra of the wrong length.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no spectrum file at {path}")
    with fits.open(path, memmap=False) as hdul:
        if len(hdul) < 3:
            raise ValueError(f"{path}: an apStar/aspcapStar file needs flux and error HDUs 1 and 2")
        header = hdul[0].header.copy()
        flux = _first_row(hdul[1].data, 1, path).astype(np.float32)
        flux_err = _first_row(hdul[2].data, 2, path).astype(np.float32)
        third = hdul[3].data if len(hdul) > 3 else None
        is_aspcap = Path(path).name.startswith("aspcapStar") or third is None or not np.issubdtype(
            np.asarray(third).dtype, np.integer
        )
        bitmask = None if is_aspcap else _first_row(third, 3, path).astype(np.int32)
    if flux_err.shape != flux.shape or (bitmask is not None and bitmask.shape != flux.shape):
        raise ValueError(f"{path}: flux, error and mask HDUs have different lengths")
    apogee_id = str(header.get("OBJID") or apogee_id_from_filename(path)).strip()
    return ApogeeSpectrum(apogee_id, flux, flux_err, bitmask, "aspcapStar" if is_aspcap else "apStar", header)


class _RowWriter:
    """Append rows to resizable, chunked, compressed HDF5 datasets of ``(N, n_pixels)`` plus
    ``APOGEE_ID``; the file appears at ``path`` only when the ``with`` block exits without error.
    Subclasses name the format and the per-pixel datasets (name → dtype) and define ``append``."""

    FORMAT = ""
    DATASETS: dict = {}

    def __init__(self, path, n_pixels: int, chunk_rows: int, compression):
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be positive, got {chunk_rows}")
        if compression not in ("lzf", "gzip", None):
            raise ValueError(f"compression must be 'lzf', 'gzip' or None, got {compression!r}")
        self.path = Path(path)
        self.n_pixels = int(n_pixels)
        self.chunk_rows = int(chunk_rows)
        self.compression = compression
        self.n_written = 0
        self._atomic = None
        self._file = None

    def __enter__(self):
        self._atomic = hdf5_product_writer(self.path, self.FORMAT, SPECTRA_VERSION)
        self._file = f = self._atomic.__enter__()
        f.attrs.update(n_pixels=self.n_pixels, CRVAL1=APOGEE_LOG10_LAMBDA0, CDELT1=APOGEE_DLOG10_LAMBDA)
        opts = {"compression": self.compression, "shuffle": self.compression is not None}
        if self.compression == "gzip":
            opts["compression_opts"] = 1
        f.create_dataset("APOGEE_ID", (0,), maxshape=(None,), dtype=h5py.string_dtype(), chunks=(1024,))
        for name, dtype in self.DATASETS.items():
            f.create_dataset(
                name, (0, self.n_pixels), maxshape=(None, self.n_pixels), dtype=dtype,
                chunks=(self.chunk_rows, self.n_pixels), **opts,
            )
        return self

    def _append(self, apogee_id, arrays: dict) -> None:
        if self._file is None:
            raise ValueError(f"{type(self).__name__}.append called outside its `with` block")
        ids = np.atleast_1d(np.asarray(apogee_id, dtype=str))
        for name, values in arrays.items():
            values = np.atleast_2d(np.asarray(values))
            if values.shape != (ids.size, self.n_pixels):
                raise ValueError(f"{name} must have shape ({ids.size}, {self.n_pixels}), got {values.shape}")
            if np.issubdtype(self.DATASETS[name], np.integer) and not np.issubdtype(values.dtype, np.integer):
                raise ValueError(f"{name} must be an integer array, got dtype {values.dtype}")
            arrays[name] = values
        start, stop = self.n_written, self.n_written + ids.size
        for name in ("APOGEE_ID", *arrays):
            self._file[name].resize(stop, axis=0)
        self._file["APOGEE_ID"][start:stop] = ids.astype(object)
        for name, values in arrays.items():
            self._file[name][start:stop] = values
        self.n_written = stop

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._file = None
        return bool(self._atomic.__exit__(exc_type, exc, tb))


class StackedSpectraWriter(_RowWriter):
    """Append chunks of spectra to one stacked HDF5 file (layout in the module docstring).

    Use as a context manager; the file appears at ``path`` only when the block exits without error::

        with StackedSpectraWriter("spectra.h5") as writer:
            for chunk in chunks:
                writer.append(chunk_ids, chunk_flux, chunk_err, chunk_mask)

    Parameters
    ----------
    path : str or Path
        Output HDF5 file.
    n_pixels : int
        Pixels per spectrum: 8575 (apStar grid) or 7514 (gap-removed).
    chunk_rows : int
        Rows per HDF5 chunk (also the natural read size).
    compression : {'lzf', 'gzip', None}
        HDF5 filter for the data sets, after byte shuffling. 'lzf' (default, bundled with h5py) is
        ~3× faster to write than 'gzip' (level 1) for ~8 % more disk; choose 'gzip' for files that
        non-Python HDF5 tools must read.
    """

    FORMAT = STACKED_FORMAT
    DATASETS = {"flux": np.float32, "flux_err": np.float32, "bitmask": np.int32}

    def __init__(self, path, n_pixels: int = APOGEE_N_PIXELS_FULL, chunk_rows: int = 64, compression="lzf"):
        if n_pixels not in _VALID_PIXELS:
            raise ValueError(f"n_pixels must be {APOGEE_N_PIXELS_FULL} or {APOGEE_N_PIXELS}, got {n_pixels}")
        super().__init__(path, n_pixels, chunk_rows, compression)

    def append(self, apogee_id, flux, flux_err, bitmask) -> None:
        """Append n spectra: ``apogee_id`` (n,) str; ``flux``, ``flux_err`` (n, n_pixels); ``bitmask``
        (n, n_pixels) integer."""
        self._append(apogee_id, {"flux": flux, "flux_err": flux_err, "bitmask": bitmask})


class NormalizedSpectraWriter(_RowWriter):
    """Append continuum-normalised, gap-removed spectra to one HDF5 file: ``APOGEE_ID`` and
    ``spectra`` (N, 7514) float32, the layout :func:`latentexplorer.io.spectra_files.iter_normalized_spectra`
    reads as already normalised (like a stack of aspcapStar spectra). Same use and options as
    :class:`StackedSpectraWriter`."""

    FORMAT = NORMALIZED_FORMAT
    DATASETS = {"spectra": np.float32}

    def __init__(self, path, chunk_rows: int = 64, compression="lzf"):
        super().__init__(path, APOGEE_N_PIXELS, chunk_rows, compression)

    def append(self, apogee_id, spectra) -> None:
        """Append n spectra: ``apogee_id`` (n,) str, ``spectra`` (n, 7514)."""
        self._append(apogee_id, {"spectra": spectra})


class SpectraRows(NamedTuple):
    """Rows of a spectra HDF5 file: ``flux`` is already continuum-normalised when ``normalized`` (then
    ``flux_err`` and ``bitmask`` are None)."""

    apogee_id: np.ndarray  #: (n,) str
    flux: np.ndarray  #: (n, n_pixels) float32
    flux_err: np.ndarray | None  #: (n, n_pixels) float32
    bitmask: np.ndarray | None  #: (n, n_pixels) int32
    normalized: bool


def _open_spectra(path, kinds=tuple(SPECTRA_PRODUCTS)) -> h5py.File:
    return open_hdf5_product(path, kinds, SPECTRA_VERSION, "simulate", ("APOGEE_ID",))


def _kind(f) -> str:
    return SPECTRA_PRODUCTS[parse_format(f.attrs["format"])[0]]


def _data(f, kind):
    name = "flux" if kind == "stacked" else "spectra"
    if name not in f:
        raise ValueError(f"{f.filename} lacks the dataset {name!r} of its format")
    return f[name]


def spectra_file_kind(path) -> str:
    """'stacked' (raw flux, error and bitmask) or 'normalized' (a normalised spectra file or a pairs file).

    Raises FileNotFoundError, or ValueError naming the file if it is no spectra file."""
    with _open_spectra(path) as f:
        return _kind(f)


def count_spectra_rows(path) -> int:
    """Number of spectra in a spectra HDF5 file, after checking its layout: every per-star dataset (``flux``,
    ``flux_err`` and ``bitmask`` of a stacked file, ``spectra`` of a normalised one) is 2-D with one row per
    ``APOGEE_ID`` and all of one width; a stacked file holds all three.

    Raises FileNotFoundError, or ValueError naming the file and the dataset at fault."""
    with _open_spectra(path) as f:
        n, kind = f["APOGEE_ID"].shape[0], _kind(f)
        names = ("flux", "flux_err", "bitmask") if kind == "stacked" else ("spectra",)
        missing = [name for name in names if name not in f]
        if missing:
            raise ValueError(f"{path} lacks the dataset(s) {', '.join(missing)} of a {kind} spectra file")
        width = f[names[0]].shape[1:]
        for name in names:
            data = f[name]
            if data.ndim != 2 or data.shape[0] != n or data.shape[1:] != width:
                raise ValueError(f"{path}: {name} has shape {data.shape} but APOGEE_ID has {n} rows"
                                 + (f" and {names[0]} {width[0]} pixels" if data.shape[0] == n else ""))
        return n


def read_spectra_ids(path) -> np.ndarray:
    """The APOGEE_IDs (N,) str of a spectra HDF5 file, without reading the spectra."""
    with _open_spectra(path) as f:
        return f["APOGEE_ID"].asstr()[()].astype(str)


def read_spectra_rows(path, rows) -> SpectraRows:
    """Spectra at ``rows`` (a slice, or a sorted array of row indices) of a spectra HDF5 file."""
    if not isinstance(rows, slice):
        rows = np.asarray(rows, dtype=np.int64)
    with _open_spectra(path) as f:
        kind = _kind(f)
        ids, data = f["APOGEE_ID"].asstr()[rows].astype(str), _data(f, kind)[rows]
        if kind == "normalized":
            return SpectraRows(ids, data.astype(np.float32, copy=False), None, None, True)
        for name in ("flux_err", "bitmask"):
            if name not in f:
                raise ValueError(f"{path} lacks the dataset {name!r} of a stacked spectra file")
        return SpectraRows(ids, data, f["flux_err"][rows], f["bitmask"][rows], False)


def _open_stacked(path) -> h5py.File:
    return _open_spectra(path, (STACKED_FORMAT,))


def _read_rows(f, start, stop) -> SpectraChunk:
    return SpectraChunk(
        f["APOGEE_ID"].asstr()[start:stop].astype(str),
        f["flux"][start:stop],
        f["flux_err"][start:stop],
        f["bitmask"][start:stop],
    )


def read_stacked_spectra(path, start: int = 0, stop: int | None = None) -> SpectraChunk:
    """Rows ``start:stop`` (Python slice semantics) of a stacked spectra file as a :class:`SpectraChunk`."""
    with _open_stacked(path) as f:
        return _read_rows(f, start, stop)


def iter_stacked_spectra(path, chunk_size: int = 1024) -> Iterator[SpectraChunk]:
    """Iterate over a stacked spectra file in :class:`SpectraChunk` pieces of ``chunk_size`` rows."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    with _open_stacked(path) as f:
        n = f["flux"].shape[0]
        for start in range(0, n, chunk_size):
            yield _read_rows(f, start, min(start + chunk_size, n))
