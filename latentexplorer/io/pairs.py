"""The training pairs (``pairs.h5``): spectra matched with observed PSDs, one row per Kepler star.

Format ``latentexplorer.pairs/1``: ``spectra`` (N, 7514) float32 continuum-normalised, gap-removed;
``log_psd`` (N, k) float32 natural-log flattened PSDs; ``numax`` (N,) μHz from the seismic catalog;
``APOGEE_ID``, ``evolstate`` (N,) UTF-8; ``KIC`` (N,) int64; ``frequency`` (k,) μHz. The pairs file also
serves as a normalised spectra file (:mod:`latentexplorer.io.spectra_files`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .hdf5 import STRING, hdf5_product_writer, open_hdf5_product

__all__ = ["PAIRS_VERSION", "PairsSet", "write_pairs", "read_pairs", "read_pair_ids"]

PAIRS_VERSION = 1
_DATASETS = ("spectra", "log_psd", "numax", "APOGEE_ID", "KIC", "evolstate", "frequency")


@dataclass
class PairsSet:
    """Spectrum–PSD training pairs of n stars.

    apogee_id (n,) str; kic (n,) int64; spectra (n, 7514) float32 normalised flux, or None when read
    without them (``read_pairs(..., spectra=False)``); log_psd (n, k) float32; numax (n,) μHz; evolstate
    (n,) 'RGB'/'RC'; frequency (k,) μHz.
    """

    apogee_id: np.ndarray
    kic: np.ndarray
    spectra: np.ndarray
    log_psd: np.ndarray
    numax: np.ndarray
    evolstate: np.ndarray
    frequency: np.ndarray

    def __post_init__(self):
        n = len(self.apogee_id)
        for name in ("kic", "spectra", "log_psd", "numax", "evolstate"):
            if getattr(self, name) is not None and len(getattr(self, name)) != n:
                raise ValueError(f"pairs: {name} has {len(getattr(self, name))} rows, APOGEE_ID {n}")
        if self.log_psd.ndim != 2 or self.log_psd.shape[1] != len(self.frequency):
            raise ValueError(f"pairs: log_psd {self.log_psd.shape} is not on the {len(self.frequency)}-pixel grid")

    def __len__(self) -> int:
        return len(self.apogee_id)

    def __repr__(self) -> str:
        spectra = "not read" if self.spectra is None else f"{self.spectra.shape[1]} pixels"
        return f"PairsSet({len(self)} pairs, spectra {spectra}, {len(self.frequency)} PSD pixels)"

    def take(self, rows) -> PairsSet:
        """The pairs at ``rows`` (an index array or boolean mask), as a new PairsSet."""
        return PairsSet(self.apogee_id[rows], self.kic[rows], None if self.spectra is None else self.spectra[rows],
                        self.log_psd[rows],
                        self.numax[rows], self.evolstate[rows], self.frequency)


def write_pairs(path, pairs: PairsSet) -> None:
    """Write ``pairs`` to ``path`` (chunked, lzf-compressed), atomically."""
    n = len(pairs)
    with hdf5_product_writer(path, "pairs", PAIRS_VERSION) as h5:
        chunk = (max(1, min(n, 256)),)
        for name, values in (("spectra", pairs.spectra), ("log_psd", pairs.log_psd)):
            values = np.asarray(values, np.float32)
            h5.create_dataset(name, data=values, chunks=chunk + values.shape[1:] if n else None,
                              compression="lzf" if n else None)
        h5.create_dataset("numax", data=np.asarray(pairs.numax, float)).attrs["unit"] = "uHz"
        h5.create_dataset("APOGEE_ID", data=np.asarray(pairs.apogee_id).astype(str).astype(object), dtype=STRING)
        h5.create_dataset("KIC", data=np.asarray(pairs.kic, np.int64))
        h5.create_dataset("evolstate", data=np.asarray(pairs.evolstate).astype(str).astype(object), dtype=STRING)
        h5.create_dataset("frequency", data=np.asarray(pairs.frequency, float)).attrs["unit"] = "uHz"


def _open(path):
    return open_hdf5_product(path, "pairs", PAIRS_VERSION, "pairs", _DATASETS)


def read_pairs(path, rows=None, spectra: bool = True) -> PairsSet:
    """The pairs of ``path`` (all, or those at the sorted index array ``rows``); without ``spectra`` the
    (n, 7514) spectra are left on disk (``spectra`` None) — a tenth of the memory.

    Raises FileNotFoundError, or ValueError naming the file if it is not a pairs file.
    """
    sel = slice(None) if rows is None else np.asarray(rows, dtype=np.int64)
    with _open(path) as f:
        return PairsSet(f["APOGEE_ID"].asstr()[sel].astype(str), f["KIC"][sel].astype(np.int64),
                        f["spectra"][sel].astype(np.float32) if spectra else None, f["log_psd"][sel].astype(np.float32),
                        f["numax"][sel].astype(float), f["evolstate"].asstr()[sel].astype(str),
                        f["frequency"][()].astype(float))


def read_pair_ids(path) -> np.ndarray:
    """APOGEE_IDs (n,) str of the pairs in ``path``, without reading the spectra."""
    with _open(path) as f:
        return f["APOGEE_ID"].asstr()[()].astype(str)
