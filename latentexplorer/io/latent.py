"""The latent file (``latent.h5``): each spectrum's position in the encoder's latent space.

Format ``latentexplorer.latent/1``: ``APOGEE_ID`` (N,) UTF-8; ``z_mean``, ``z_std`` (N, latent_dim) float32,
NaN for unusable spectra; ``flag`` (N,) int32 :class:`~latentexplorer.spectra.SpectrumFlag` bits; attributes
``model_fingerprint`` (the encoder's training-data fingerprint) and ``latent_dim``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from .hdf5 import STRING, hdf5_product_writer, open_hdf5_product

__all__ = ["LATENT_VERSION", "LatentSet", "latent_file_writer", "write_latent", "read_latent"]

LATENT_VERSION = 1


@dataclass
class LatentSet:
    """Latent positions of n spectra.

    apogee_id (n,) str; z_mean, z_std (n, latent_dim) float32, NaN for unusable spectra; flag (n,) int32
    spectrum flags; model_fingerprint, the training-data fingerprint of the encoder.
    """

    apogee_id: np.ndarray
    z_mean: np.ndarray
    z_std: np.ndarray
    flag: np.ndarray
    model_fingerprint: str = ""

    def __post_init__(self):
        n = len(self.apogee_id)
        if (self.z_mean.ndim != 2 or self.z_std.shape != self.z_mean.shape or self.z_mean.shape[0] != n
                or self.flag.shape != (n,)):
            raise ValueError(f"inconsistent latent shapes: APOGEE_ID ({n},), z_mean {self.z_mean.shape}, "
                             f"z_std {self.z_std.shape}, flag {self.flag.shape}")

    def __len__(self) -> int:
        return len(self.apogee_id)

    @property
    def latent_dim(self) -> int:
        return self.z_mean.shape[1]


@contextlib.contextmanager
def latent_file_writer(path, n: int, latent_dim: int, model_fingerprint: str = ""):
    """Write a latent file of ``n`` spectra piece by piece: yields ``write(start, latents)`` storing the
    :class:`LatentSet` ``latents`` at rows ``start:start + len(latents)``. The file appears at ``path``
    (atomically) when the block exits without error."""
    with hdf5_product_writer(path, "latent", LATENT_VERSION) as f:
        rows = (max(1, min(n, 16384)),)
        k = int(latent_dim)
        datasets = {
            "apogee_id": f.create_dataset("APOGEE_ID", (n,), dtype=STRING, chunks=rows if n else None),
            "z_mean": f.create_dataset("z_mean", (n, k), dtype="f4", chunks=rows + (k,) if n else None),
            "z_std": f.create_dataset("z_std", (n, k), dtype="f4", chunks=rows + (k,) if n else None),
            "flag": f.create_dataset("flag", (n,), dtype="i4", chunks=rows if n else None),
        }
        f.attrs["model_fingerprint"] = model_fingerprint
        f.attrs["latent_dim"] = k

        def write(start: int, latents: LatentSet) -> None:
            if latents.latent_dim != k:
                raise ValueError(f"latents of dimension {latents.latent_dim} written to a {k}-d latent file")
            stop = start + len(latents)
            for name, dataset in datasets.items():
                values = np.asarray(getattr(latents, name))
                dataset[start:stop] = values.astype(str).astype(object) if name == "apogee_id" else values

        yield write


def write_latent(path, latents: LatentSet) -> None:
    """Write ``latents`` to ``path``, atomically."""
    with latent_file_writer(path, len(latents), latents.latent_dim, latents.model_fingerprint) as write:
        write(0, latents)


def read_latent(path) -> LatentSet:
    """Read a latent file. Raises FileNotFoundError, or ValueError naming the file if it is not one."""
    with open_hdf5_product(path, "latent", LATENT_VERSION, "encode", ("APOGEE_ID", "z_mean", "z_std", "flag")) as f:
        try:
            return LatentSet(f["APOGEE_ID"].asstr()[()].astype(str), f["z_mean"][()].astype(np.float32),
                             f["z_std"][()].astype(np.float32), f["flag"][()].astype(np.int32),
                             str(f.attrs.get("model_fingerprint", "")))
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
