"""Before a step writes: never over one of its inputs, never over a file it did not make.

:func:`check_output` is called by every step with its output and its inputs before any work starts. An output
that is one of the inputs (the same file, however named) is refused outright; an existing output is replaced
only when it is the same kind of latentexplorer product (a rerun), else only with ``overwrite``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["product_name", "check_output"]


def product_name(path) -> str | None:
    """The latentexplorer product ``path`` holds ('psd', 'catalog', …), read from its HDF5 ``format``
    attribute, FITS ``LEFORMAT`` keyword or, for a directory, its ``metadata.json``; None for anything else
    (a foreign file, unreadable, or absent)."""
    import json

    from .hdf5 import parse_format

    path = Path(path)
    try:
        if path.is_dir():
            meta = path / "metadata.json"
            if not meta.is_file():  # a model directory whose training is under way
                return "model" if (path / "checkpoint" / "checkpoint.h5").is_file() else None
            data = json.loads(meta.read_text())
            parsed = parse_format(data.get("format")) if isinstance(data, dict) else None
            if parsed is None and isinstance(data, dict) and "latent_dim" in data and "frequency" in data:
                return "model"  # an encoder-decoder directory (its metadata carries no format name)
            return None if parsed is None else parsed[0]
        with open(path, "rb") as f:
            head = f.read(8)
        if head.startswith(b"\x89HDF"):
            import h5py

            with h5py.File(path, "r") as f:
                parsed = parse_format(f.attrs.get("format"))
            return None if parsed is None else parsed[0]
        if head.startswith(b"SIMPLE"):
            from astropy.io import fits

            with fits.open(path) as hdul:
                value = hdul[1].header.get("LEFORMAT") if len(hdul) > 1 else None
            parsed = parse_format(value)
            return None if parsed is None else parsed[0]
    except (OSError, ValueError, KeyError, IndexError):
        return None
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output(output, product: str, inputs=(), overwrite: bool = False) -> Path:
    """Check that ``output`` may be written by a step making product ``product`` from ``inputs``.

    Raises
    ------
    ValueError
        ``output`` is one of ``inputs`` (the same file, however named): "… is also an input of this step".
    FileExistsError
        ``output`` exists and is not a ``product`` of latentexplorer's, and ``overwrite`` is false.

    Returns the output as a Path.
    """
    output = Path(output)
    for source in inputs:
        source = Path(source)
        if _same_file(output, source) or output.resolve() == source.resolve():
            raise ValueError(f"the output {output} is also an input of this step; choose another output")
    empty_directory = output.is_dir() and not any(output.iterdir())
    if (output.exists() or output.is_symlink()) and not (overwrite or empty_directory) \
            and product_name(output) != product:
        raise FileExistsError(f"{output} exists and is not a latentexplorer {product} file; add --overwrite to "
                              "replace it, or choose another output")
    return output
