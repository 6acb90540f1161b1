"""The HDF5 products of a workspace: one place that creates and opens them, checking what they are.

Every product file carries a ``format`` attribute ``"latentexplorer.<name>/<version>"`` (files written
before versions were recorded say ``"latentexplorer.<name>"``, read as version 1).
:func:`open_hdf5_product` refuses — with one line naming the file and what is wrong — a missing file, a
file that is not HDF5 or is truncated, a foreign HDF5 file, another latentexplorer product, a newer
version, or a file lacking a dataset the reader needs. :func:`hdf5_product_writer` writes a product
atomically (:mod:`latentexplorer.io.atomic`).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import h5py

from .atomic import atomic_output
from .paths import existing_file

__all__ = ["FORMAT_PREFIX", "STRING", "format_string", "parse_format", "hdf5_product_writer", "open_hdf5_product"]

FORMAT_PREFIX = "latentexplorer."
#: The HDF5 type of the products' string datasets (UTF-8, variable length).
STRING = h5py.string_dtype("utf-8")


def format_string(name: str, version: int) -> str:
    """The ``format`` attribute of product ``name`` at ``version``: ``"latentexplorer.<name>/<version>"``."""
    return f"{FORMAT_PREFIX}{name}/{int(version)}"


def parse_format(value) -> tuple[str, int] | None:
    """(name, version) of a ``format`` attribute, None if it is not a latentexplorer one."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str) or not value.startswith(FORMAT_PREFIX):
        return None
    name, _, version = value[len(FORMAT_PREFIX):].partition("/")
    try:
        return name, int(version) if version else 1
    except ValueError:
        return None


@contextlib.contextmanager
def hdf5_product_writer(path, name: str, version: int, in_memory: bool = False):
    """Yield an open, empty ``h5py.File`` stamped as product ``name`` at ``version``; the file appears at
    ``path`` (atomically) only when the block exits without error.

    ``in_memory`` builds the file in memory and writes its bytes at the end: for a small file written again and
    again (the training checkpoint), a full disk then fails as a plain OSError (ENOSPC) — HDF5 failing to
    flush a file it is closing can crash the interpreter.
    """
    if not in_memory:
        with atomic_output(path, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
            f.attrs["format"] = format_string(name, version)
            yield f
        return
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["format"] = format_string(name, version)
        yield f
    with atomic_output(path, suffix=".h5") as tmp:
        tmp.write_bytes(buffer.getbuffer())


@contextlib.contextmanager
def open_hdf5_product(path, names, version: int, command: str, datasets=()):
    """Yield the product at ``path`` open read-only (an ``h5py.File``), after checking that it is one of
    ``names`` (a str or a tuple of product names accepted) at a version ≤ ``version`` and holds
    ``datasets``; a read that fails inside the block (a truncated file) becomes the ValueError below.

    ``command`` names the ``latentexplorer`` subcommand that writes such files, for the messages
    (``parse_format(f.attrs["format"])`` says which product the file is).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        Anything else wrong with it (the message names the file and what is wrong).
    """
    path = Path(path)
    names = (names,) if isinstance(names, str) else tuple(names)
    what = " or ".join(FORMAT_PREFIX + n for n in names)
    existing_file(path, f"{what} file", f"run `latentexplorer {command}`")
    if not h5py.is_hdf5(path):
        raise ValueError(f"{path} is not an HDF5 file (expected a {what} file)")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{path} is damaged or truncated: {err}") from None
    try:
        found = parse_format(f.attrs.get("format"))
        if found is None:
            raise ValueError(f"{path} is not a {what} file (no latentexplorer format attribute)")
        if found[0] not in names:
            raise ValueError(f"{path} is a {FORMAT_PREFIX}{found[0]} file, not a {what} file")
        if found[1] > version:
            raise ValueError(f"{path} is a {FORMAT_PREFIX}{found[0]} file of version {found[1]}; this "
                             f"latentexplorer reads versions ≤ {version}: upgrade latentexplorer")
        missing = [d for d in datasets if d not in f]
        if missing:
            raise ValueError(f"{path} lacks the dataset(s) {', '.join(missing)} of a {what} file")
    except BaseException:
        f.close()
        raise
    try:
        yield f
    except OSError as err:
        raise ValueError(f"{path} is damaged or truncated: {err}") from None
    finally:
        f.close()
