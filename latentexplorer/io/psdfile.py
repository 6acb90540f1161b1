"""The PSD file (``psd.h5``): ids, target keys, the frequency grid, log PSDs and per-star flags, in HDF5.

Format ``latentexplorer.psd/2``: ``target_id``, ``source`` (n,) UTF-8; ``KIC``, ``TIC`` (n,) int64, the
light curve's target key (-1 where it has none); ``frequency`` (k,) μHz; ``log_psd`` (n, k) float32;
``flags`` (n,) uint16; ``baseline_days`` (n,) float64; ``n_points`` (n,) int64. Version 1 had no ``TIC``:
such a file reads with TIC -1 on every row, so its TESS PSDs join no seismic catalog until ``psd`` is rerun.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from .hdf5 import STRING, hdf5_product_writer, open_hdf5_product, parse_format

__all__ = ["PSDSet", "psd_file_writer", "write_psd_file", "read_psd_file"]

PSD_VERSION = 2
_STR = STRING


@dataclass
class PSDSet:
    """PSDs of n stars on one frequency grid.

    target_id : (n,) str, "KIC n"/"TIC n".  kic, tic : (n,) int64, the target key: KIC of a Kepler light
    curve, TIC of a TESS one, -1 where the light curve has none.
    frequency : (k,) μHz.  log_psd : (n, k) float32 natural-log flattened PSD, NaN rows where failed.
    flags : (n,) uint16 :class:`latentexplorer.psd.PSDFlag` bits.  source : (n,) str, input file.
    baseline_days, n_points : (n,) light-curve span (days) and number of cadences used.
    """

    target_id: np.ndarray
    kic: np.ndarray
    tic: np.ndarray
    frequency: np.ndarray
    log_psd: np.ndarray
    flags: np.ndarray
    source: np.ndarray
    baseline_days: np.ndarray
    n_points: np.ndarray

    def __post_init__(self):
        n, k = len(self.target_id), np.shape(self.frequency)
        shapes = {name: np.shape(getattr(self, name)) for name in ("kic", "tic", "flags", "source",
                                                                    "baseline_days", "n_points", "log_psd")}
        if any(shape[:1] != (n,) for shape in shapes.values()) or shapes["log_psd"][1:] != k or len(k) != 1:
            listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
            raise ValueError(f"inconsistent PSD shapes: target_id ({n},), frequency {k}, {listed}")

    def __len__(self) -> int:
        return len(self.target_id)


FLAG_BITS = ("1 SHORT_BASELINE, 2 TOO_FEW_POINTS, 4 NONFINITE, 8 UNSORTED_TIME, 16 DUPLICATE_TIME, "
             "32 CONSTANT_FLUX, 64 UNREADABLE, 128 UNDERSAMPLED, 256 TIME_NOT_DAYS")


@contextlib.contextmanager
def psd_file_writer(path, n: int, frequency):
    """Write a PSD file of ``n`` stars piece by piece: yields ``write(start, psds)`` storing the
    :class:`PSDSet` ``psds`` (its own grid must be ``frequency``) at rows ``start:start + len(psds)``.
    The file appears at ``path`` (atomically) when the block exits without error."""
    frequency = np.asarray(frequency, dtype=np.float64)
    k = frequency.size
    with hdf5_product_writer(path, "psd", PSD_VERSION) as h5:
        h5.attrs["flag_bits"] = FLAG_BITS
        h5.create_dataset("frequency", data=frequency).attrs["unit"] = "uHz"
        rows = max(1, min(n, 256))
        datasets = {
            "target_id": h5.create_dataset("target_id", (n,), dtype=_STR),
            "kic": h5.create_dataset("KIC", (n,), dtype=np.int64),
            "tic": h5.create_dataset("TIC", (n,), dtype=np.int64),
            "log_psd": h5.create_dataset("log_psd", (n, k), dtype=np.float32, chunks=(rows, k) if n else None,
                                         compression="gzip" if n else None),
            "flags": h5.create_dataset("flags", (n,), dtype=np.uint16),
            "source": h5.create_dataset("source", (n,), dtype=_STR),
            "baseline_days": h5.create_dataset("baseline_days", (n,), dtype=np.float64),
            "n_points": h5.create_dataset("n_points", (n,), dtype=np.int64),
        }

        def write(start: int, psds: PSDSet) -> None:
            if psds.frequency.shape != frequency.shape or not np.array_equal(psds.frequency, frequency):
                raise ValueError("PSDs on another frequency grid than the file's")
            stop = start + len(psds)
            for name, dataset in datasets.items():
                values = np.asarray(getattr(psds, name))
                if dataset.dtype.kind == "O":
                    values = values.astype(str).astype(object)
                dataset[start:stop] = values.reshape(len(psds), -1) if name == "log_psd" else values

        yield write


def write_psd_file(path, psds: PSDSet) -> None:
    """Write ``psds`` to ``path`` (HDF5, chunked and compressed log PSDs), atomically."""
    with psd_file_writer(path, len(psds), psds.frequency) as write:
        write(0, psds)


def read_psd_file(path) -> PSDSet:
    """Read a file written by :func:`write_psd_file` (a version-1 file: TIC -1 on every row); FileNotFoundError,
    or a ValueError naming the file if it is not one or its datasets disagree in length."""
    names = {"target_id": "target_id", "kic": "KIC", "frequency": "frequency", "log_psd": "log_psd",
             "flags": "flags", "source": "source", "baseline_days": "baseline_days", "n_points": "n_points"}
    with open_hdf5_product(path, "psd", PSD_VERSION, "psd", tuple(names.values())) as h5:
        if parse_format(h5.attrs["format"])[1] >= 2:
            if "TIC" not in h5:
                raise ValueError(f"{path} lacks the dataset(s) TIC of a latentexplorer.psd file")
            names["tic"] = "TIC"
        values = {name: (h5[dataset].asstr()[()] if name in ("target_id", "source") else h5[dataset][()])
                  for name, dataset in names.items()}
    values.setdefault("tic", np.full(len(values["kic"]), -1, dtype=np.int64))
    try:
        return PSDSet(**values)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
