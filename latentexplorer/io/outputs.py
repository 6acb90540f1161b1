"""Before a step writes: never over one of its inputs, never over a file it did not make.

:func:`check_output` is called by every step with its output and its inputs before any work starts. An output
that is one of the inputs (the same file, however named) is refused outright; an existing output is replaced
only when it is the same kind of latentexplorer product (a rerun), else only with ``overwrite``. While a step
writes, it holds its output's lock (:func:`output_lock`, :func:`locks_output`): a second run on the same output
is told which process holds it, and temporary files a killed run left are removed by the next.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["product_name", "check_output", "output_lock", "locks_output"]


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


def _holder(lock_path: Path) -> str:
    try:
        text = lock_path.read_text().strip()
    except OSError:
        text = ""
    return text or "another process"


def _remove_stale_temporaries(path: Path) -> int:
    """Remove what an interrupted :func:`~latentexplorer.io.atomic.atomic_output` left beside ``path``
    (``.NAME.XXXXXXXX…`` files); only called while holding the output's lock. Returns how many."""
    removed = 0
    for tmp in [*path.parent.glob(f".{path.name}.*"), *path.parent.glob(f"..{path.name}.*")]:
        rest = tmp.name.lstrip(".")[len(path.name) + 1:]
        if tmp.is_file() and not tmp.is_symlink() and rest != "lock" and len(rest) >= 8:
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


@contextlib.contextmanager
def output_lock(output, *companions):
    """Hold the lock of ``output`` (``.NAME.lock`` beside it, an ``flock`` the system releases when the process
    ends, even by kill -9) while the block runs. A second run on the same output fails at once with
    FileExistsError naming the process that holds it. Once locked, temporary files an interrupted run left
    beside ``output`` and ``companions`` (files written with it) are removed."""
    import fcntl
    import time

    output = Path(output)
    lock_path = output.parent / f".{output.name}.lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    except FileNotFoundError:
        raise FileNotFoundError(f"output directory {output.parent} does not exist") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FileExistsError(f"{output} is being written by {_holder(lock_path)}; wait for that run to end "
                                  "(or stop it) before starting another on the same output") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} (since {time.strftime('%Y-%m-%d %H:%M:%S')})".encode())
        for path in (output, *map(Path, companions)):
            _remove_stale_temporaries(path)
        try:
            yield output
        finally:
            lock_path.unlink(missing_ok=True)
    finally:
        os.close(fd)


def locks_output(resolve):
    """Decorator: run the step holding :func:`output_lock` of the output(s) ``resolve(arguments)`` gives
    (``arguments``: the call's bound arguments by name, defaults applied; a path or a tuple of paths)."""
    import functools
    import inspect

    def wrap(step):
        signature = inspect.signature(step)

        @functools.wraps(step)
        def locked(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            paths = resolve(bound.arguments)
            paths = (paths,) if isinstance(paths, (str, os.PathLike)) else tuple(paths)
            with output_lock(*paths):
                return step(*args, **kwargs)

        return locked

    return wrap
