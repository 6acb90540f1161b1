"""Column stores: read-only arrays kept as one ``.npy`` file each, memory-mapped by every process reading them.

A store is a directory (format ``latentexplorer.columns/3``)::

    STORE/manifest.json     {"format": "latentexplorer.columns/3", "sources": {...}, "columns": {...}}
    STORE/000.npy, 001.npy  one column each, native byte order, C order; strings fixed-width ('U')

``sources`` is the fingerprint of the files the columns were made from (name → file name, size in bytes and
modification time in ns, the provenance ledger's quick check); ``columns`` maps each column's name to its
file, dtype, shape and unit. :func:`read_columns` opens the columns with ``np.load(mmap_mode="r")``, so
every process reading a store shares one copy in the page cache instead of holding its own; a store whose
sources changed (or that is missing, foreign, truncated or of another version) is never read:
:func:`column_store` rebuilds it, under a lock, from the product it mirrors.

Why ``.npy``: numpy reads it memory-mapped with no new dependency, a column is one contiguous array (a
view of the mapping, never a copy) and fixed-width strings map as they are. Arrow IPC (pyarrow) would
map as well but adds a ~100 MB dependency and ``to_numpy`` copies strings and nullable columns.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np

__all__ = ["COLUMNS_FORMAT", "COLUMNS_VERSION", "Columns", "fingerprint", "write_columns", "read_columns",
           "column_store"]

logger = logging.getLogger(__name__)

COLUMNS_FORMAT = "latentexplorer.columns"
COLUMNS_VERSION = 3  # 2: the stars' identifier index, the pairs' spectra; 3: aligned stores keep each star's row
MANIFEST = "manifest.json"


class Columns(Mapping):
    """The columns of a store: name → read-only array (an ``np.memmap``; an empty column is a plain empty
    array, which cannot be mapped), in the order written; ``units`` name → unit string (None: none);
    ``directory`` the store."""

    def __init__(self, directory: Path, arrays: dict, units: dict):
        self.directory, self._arrays, self.units = directory, arrays, units

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __repr__(self) -> str:
        return f"Columns({str(self.directory)!r}: {', '.join(self._arrays)})"


def fingerprint(sources: Mapping[str, Path]) -> dict:
    """``{name: {"file", "size", "mtime_ns"}}`` of the source files (FileNotFoundError if one is missing)."""
    out = {}
    for name, path in sources.items():
        stat = Path(path).stat()
        out[name] = {"file": Path(path).name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return out


def write_columns(directory, columns: Mapping[str, np.ndarray], sources: Mapping[str, Path],
                  units: Mapping[str, str | None] | None = None) -> None:
    """Write ``columns`` (name → array of numbers, booleans or strings; masked values already filled) as the
    store ``directory``, made from ``sources`` (name → file). The store appears whole or not at all: written
    beside it, then swapped in (a process that mapped the old columns keeps reading them).

    Raises ValueError for an object or masked column (neither can be mapped)."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    units = dict(units or {})
    stamp = fingerprint(sources)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    try:
        manifest = {"format": f"{COLUMNS_FORMAT}/{COLUMNS_VERSION}", "sources": stamp, "columns": {}}
        for i, (name, values) in enumerate(columns.items()):
            if isinstance(values, np.ma.MaskedArray) or np.asarray(values).dtype.kind == "O":
                raise ValueError(f"column {name!r} of {directory} is masked or of objects: fill it first")
            values = np.ascontiguousarray(values)
            values = values.astype(values.dtype.newbyteorder("="), copy=False)
            np.save(tmp / f"{i:03d}.npy", values, allow_pickle=False)
            manifest["columns"][name] = {"file": f"{i:03d}.npy", "dtype": values.dtype.str, "shape": list(values.shape),
                                         "unit": None if units.get(name) is None else str(units[name])}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
        if directory.exists():
            directory.rename(old)
        tmp.rename(directory)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_columns(directory, sources: Mapping[str, Path]) -> Columns | None:
    """The store ``directory`` memory-mapped, or None when it is missing, not a store of this version, or made
    from other files than ``sources`` are now (a changed size or modification time: rebuild it)."""
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
        if manifest.get("format") != f"{COLUMNS_FORMAT}/{COLUMNS_VERSION}" or manifest["sources"] != fingerprint(sources):
            return None
        arrays, units = {}, {}
        for name, column in manifest["columns"].items():
            path = directory / column["file"]
            values = np.load(path, mmap_mode="r" if path.stat().st_size and np.prod(column["shape"]) else None,
                             allow_pickle=False)
            if values.dtype.str != column["dtype"] or list(values.shape) != column["shape"]:
                return None
            values.flags.writeable = False  # an empty column is read, not mapped: read-only all the same
            arrays[name], units[name] = values, column["unit"]
    except (OSError, ValueError, KeyError, TypeError):  # missing, truncated or foreign: not a store to trust
        return None
    return Columns(directory, arrays, units)


def _writable(directory: Path) -> bool:
    """Whether this process can make or replace the store ``directory`` (its nearest existing folder is writable)."""
    existing = next(path for path in (directory.parent, *directory.parent.parents) if path.exists())
    return os.access(existing, os.W_OK)


@contextlib.contextmanager
def _store_lock(directory: Path):
    """An exclusive ``flock`` on ``.NAME.lock`` beside the store: one process builds it, the others wait."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.with_name(f".{directory.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def column_store(directory, sources: Mapping[str, Path],
                 build: Callable[[], tuple[Mapping[str, np.ndarray], Mapping[str, str | None]]]) -> Columns:
    """The store ``directory`` made from ``sources``, memory-mapped: read as it is when it matches the sources,
    else rebuilt first from ``build()`` → (columns, units) under the store's lock (a process finding it
    stale waits for the one rebuilding it). Where the store cannot be written (a read-only workspace), the built
    columns are kept in this process's memory instead (a warning). FileNotFoundError if a source is missing."""
    directory = Path(directory)
    fingerprint(sources)  # a missing source: FileNotFoundError before any lock or build
    store = read_columns(directory, sources)
    if store is not None:
        return store
    if not _writable(directory):  # a read-only workspace without its store: this process keeps its own copy
        logger.warning("%s cannot be written: the columns are kept in this process's memory", directory)
        columns, units = build()
        return Columns(directory, {name: np.asarray(values) for name, values in columns.items()}, dict(units))
    with _store_lock(directory):
        store = read_columns(directory, sources)  # built meanwhile by another process
        if store is None:
            columns, units = build()
            write_columns(directory, columns, sources, units)
            store = read_columns(directory, sources)
    if store is None:
        raise ValueError(f"{directory}: the column store just written does not read back (its sources changed "
                         "while it was built?)")
    return store
