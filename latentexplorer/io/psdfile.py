"""The PSD file (``psd.h5``): ids, the frequency grid, log PSDs and per-star flags, in HDF5."""

from __future__ import annotations

from dataclasses import dataclass

import h5py
import numpy as np

from .atomic import atomic_output

__all__ = ["PSDSet", "write_psd_file", "read_psd_file"]

_STR = h5py.string_dtype("utf-8")


@dataclass
class PSDSet:
    """PSDs of n stars on one frequency grid.

    target_id : (n,) str, "KIC n"/"TIC n".  kic : (n,) int64, -1 if not a Kepler star.
    frequency : (k,) μHz.  log_psd : (n, k) float32 natural-log flattened PSD, NaN rows where failed.
    flags : (n,) uint16 :class:`latentexplorer.psd.PSDFlag` bits.  source : (n,) str, input file.
    baseline_days, n_points : (n,) light-curve span (days) and number of cadences used.
    """

    target_id: np.ndarray
    kic: np.ndarray
    frequency: np.ndarray
    log_psd: np.ndarray
    flags: np.ndarray
    source: np.ndarray
    baseline_days: np.ndarray
    n_points: np.ndarray

    def __len__(self) -> int:
        return len(self.target_id)


def write_psd_file(path, psds: PSDSet) -> None:
    """Write ``psds`` to ``path`` (HDF5, chunked and compressed log PSDs), atomically."""
    n = len(psds)
    with atomic_output(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs["format"] = "latentexplorer.psd/1"
        h5.attrs["flag_bits"] = "1 SHORT_BASELINE, 2 TOO_FEW_POINTS, 4 NONFINITE, 8 UNSORTED_TIME, " \
            "16 DUPLICATE_TIME, 32 CONSTANT_FLUX, 64 UNREADABLE"
        h5.create_dataset("target_id", data=np.asarray(psds.target_id, dtype=object), dtype=_STR)
        h5.create_dataset("KIC", data=np.asarray(psds.kic, dtype=np.int64))
        h5.create_dataset("frequency", data=np.asarray(psds.frequency, dtype=np.float64)).attrs["unit"] = "uHz"
        h5.create_dataset(
            "log_psd",
            data=np.asarray(psds.log_psd, dtype=np.float32).reshape(n, -1),
            chunks=(max(1, min(n, 256)), len(psds.frequency)) if n else None,
            compression="gzip" if n else None,
        )
        h5.create_dataset("flags", data=np.asarray(psds.flags, dtype=np.uint16))
        h5.create_dataset("source", data=np.asarray(psds.source, dtype=object), dtype=_STR)
        h5.create_dataset("baseline_days", data=np.asarray(psds.baseline_days, dtype=np.float64))
        h5.create_dataset("n_points", data=np.asarray(psds.n_points, dtype=np.int64))


def read_psd_file(path) -> PSDSet:
    """Read a file written by :func:`write_psd_file`; a clear ValueError if it is not one."""
    with h5py.File(path, "r") as h5:
        if h5.attrs.get("format") != "latentexplorer.psd/1":
            raise ValueError(f"{path} is not a latentexplorer PSD file (no format attribute 'latentexplorer.psd/1')")
        return PSDSet(
            target_id=h5["target_id"].asstr()[()],
            kic=h5["KIC"][()],
            frequency=h5["frequency"][()],
            log_psd=h5["log_psd"][()],
            flags=h5["flags"][()],
            source=h5["source"].asstr()[()],
            baseline_days=h5["baseline_days"][()],
            n_points=h5["n_points"][()],
        )
