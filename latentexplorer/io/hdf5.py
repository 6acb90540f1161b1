"""Opening the workspace's HDF5 products with clear errors for a missing, foreign or incomplete file."""

from __future__ import annotations

from pathlib import Path

import h5py

__all__ = ["open_product"]


def open_product(path, datasets, command: str) -> h5py.File:
    """Open ``path`` read-only after checking it exists, is HDF5 and holds ``datasets``.

    ``command`` names the `latentexplorer` subcommand that writes such files, for the error messages.
    Raises FileNotFoundError or ValueError; use the returned file as a context manager.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (run `latentexplorer {command}`)")
    if not h5py.is_hdf5(path):
        raise ValueError(f"{path} is not an HDF5 file")
    f = h5py.File(path, "r")
    missing = [name for name in datasets if name not in f]
    if missing:
        f.close()
        raise ValueError(f"{path} lacks dataset(s) {', '.join(missing)}: is it a `latentexplorer {command}` file?")
    return f
