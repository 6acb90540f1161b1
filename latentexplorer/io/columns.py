"""Column stores: a table's columns as ``.npy`` files that every process memory-maps, so many dashboard kernels
share one copy of the survey in the page cache instead of each holding its own.

A store is a directory::

    NAME/manifest.json     format latentexplorer.columns/1; the columns (name, file, unit) in order, the row
                           count, and the fingerprints (size, mtime) of the files it was made from
    NAME/c000.npy …        one native-endian array per column, (n,) or (n, k); strings fixed-width unicode

``.npy`` is chosen over Arrow IPC / Feather because numpy maps it with ``np.load(mmap_mode="r")`` and gives
back the plain ndarray every caller already takes, it needs no dependency beyond numpy, and its columns are
already native-endian (a FITS column is big-endian, so astropy copies it into each process that computes with
it). A store made from other versions of its sources is stale: :func:`read_columns` returns None and the
caller rebuilds it; a store is never half written (a temporary directory renamed into place).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .hdf5 import format_string, parse_format

__all__ = ["COLUMNS_VERSION", "source_fingerprint", "write_columns", "read_columns"]

COLUMNS_VERSION = 1
_MANIFEST = "manifest.json"


def source_fingerprint(path) -> dict:
    """What a store records of a file it was made from: its name, size (bytes) and modification time (ns)."""
    stat = Path(path).stat()
    return {"name": Path(path).name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _plain(values) -> np.ndarray:
    """A column as a native-endian ndarray that ``np.save`` writes without pickling: object and bytes strings
    become fixed-width unicode."""
    array = np.asarray(values)
    if array.dtype.kind in "OS":
        array = array.astype(str)
    return array.astype(array.dtype.newbyteorder("="), copy=False)


def write_columns(directory, columns: dict, sources: list[dict], units: dict | None = None) -> Path:
    """Write ``columns`` (name → array of n rows) as a store at ``directory``, made from ``sources``
    (:func:`source_fingerprint` of each file); ``units``: name → unit string, for the columns that have one.

    The store appears whole (written beside it, then renamed); a store already there is replaced, and when
    another process renames its own into place first, that one is kept. Returns ``directory``."""
    directory = Path(directory)
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns of different lengths {sorted(lengths)} for one store")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.letmp-", dir=directory.parent))
    try:
        entries = []
        for i, (name, values) in enumerate(columns.items()):
            np.save(staging / f"c{i:03d}.npy", _plain(values), allow_pickle=False)
            entries.append({"name": name, "file": f"c{i:03d}.npy", "unit": (units or {}).get(name)})
        manifest = {"format": format_string("columns", COLUMNS_VERSION), "rows": lengths.pop() if lengths else 0,
                    "sources": sources, "columns": entries}
        (staging / _MANIFEST).write_text(json.dumps(manifest, indent=1))
        if directory.exists():
            shutil.rmtree(directory, ignore_errors=True)
        try:
            os.rename(staging, directory)
        except OSError:
            if not (directory / _MANIFEST).exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return directory


def read_columns(directory, sources: list[dict]) -> tuple[dict, dict] | None:
    """The store at ``directory`` as (columns, units): name → read-only memory-mapped array, name → unit string
    or None; None when there is no store, it is not one of this version, or it was made from other
    ``sources`` than these (stale)."""
    directory = Path(directory)
    try:
        manifest = json.loads((directory / _MANIFEST).read_text())
        if parse_format(manifest.get("format")) != ("columns", COLUMNS_VERSION) or manifest["sources"] != sources:
            return None
        columns = {e["name"]: np.load(directory / e["file"], mmap_mode="r", allow_pickle=False)
                   for e in manifest["columns"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if any(len(v) != manifest["rows"] for v in columns.values()):
        return None
    return columns, {e["name"]: e["unit"] for e in manifest["columns"]}
