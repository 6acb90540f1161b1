"""Before a step writes: never over one of its inputs, never over a file it did not make.

:func:`check_output` is called by every step with its output and its inputs before any work starts. An output
that is one of the inputs (the same file, however named) is refused outright; an existing output is replaced
only when it is the same kind of latentexplorer product (a rerun), else only with ``overwrite``. While a step
writes, it holds its output's lock (:func:`output_lock`, :func:`locks_output`): a second run on the same output
is told which process holds it, and temporary files a killed run left are removed by the next.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
from glob import escape as glob_escape
from pathlib import Path

from ...io.atomic import check_output_directory, is_temporary_of, temporary_prefix

__all__ = ["DISK_ERRORS", "product_name", "as_paths", "step_decorator", "check_output", "check_free_space",
           "disk_error", "output_lock", "locks_output", "resolved_path", "removes_new_empty_directories",
           "removes_what_it_made"]


def _gzip_product(head: bytes) -> str | None:
    """The product named ``latentexplorer.NAME.csv`` in a gzip header's file name (``head``: the file's first
    bytes), or None."""
    from ...io.hdf5 import FORMAT_PREFIX

    flags, rest = head[3], head[10:]
    if flags & 0x04:  # FEXTRA comes first: two bytes of length, then the field
        rest = rest[2 + int.from_bytes(rest[:2], "little"):]
    if not flags & 0x08 or b"\0" not in rest:
        return None
    match = re.fullmatch(re.escape(FORMAT_PREFIX.encode()) + rb"(\w+)\.csv", rest[:rest.index(b"\0")])
    return None if match is None else match.group(1).decode()


def product_name(path) -> str | None:
    """The latentexplorer product ``path`` holds ('psd', 'catalog', …), read from its HDF5 ``format``
    attribute, FITS ``LEFORMAT`` keyword, the file name in its gzip header (the catalog's CSV) or, for a
    directory, its ``metadata.json``; None for anything else (a foreign file, unreadable, or absent)."""
    import json

    from ...io.hdf5 import parse_format

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
            head = f.read(512)
        if head.startswith(b"\x1f\x8b") and len(head) > 10:
            return _gzip_product(head)
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


def resolved_path(path, strict: bool = False) -> Path:
    """``path`` with links and ``..`` followed; a link loop — or with ``strict`` a broken link or a missing
    file — stays as named (absolute)."""
    path = Path(path)
    try:
        return path.resolve(strict=strict)
    except (OSError, RuntimeError):  # RuntimeError: pathlib's link loop before Python 3.13
        return path.absolute()


def _within(inner: Path, outer: Path) -> bool:
    """True when ``inner`` is ``outer`` or lies anywhere under it (both resolved: links and ``..`` followed)."""
    inner, outer = resolved_path(inner), resolved_path(outer)
    return inner == outer or outer in inner.parents


def _clashes_with_input(output: Path, source: Path) -> str | None:
    """How writing ``output`` would destroy the input ``source`` (a file or directory), or None."""
    if _same_file(output, source) or resolved_path(output) == resolved_path(source):
        return "is also an input of this step"
    if source.is_dir() and _within(output, source):
        return f"lies inside {source}, an input of this step"
    if output.is_dir() and _within(source, output):
        return f"holds {source}, an input of this step"
    return None


def check_free_space(output, size: int) -> None:
    """Refuse (OSError ENOSPC, naming ``output`` and both sizes) to write ``size`` bytes (the step's estimate of
    its output's size) where the output's directory has less free space."""
    output = Path(output)
    parent = output.parent if str(output.parent) else Path(".")
    free = shutil.disk_usage(parent).free
    if free < size:
        raise OSError(errno.ENOSPC, f"No space left on device: {output} needs about {_megabytes(size)}, "
                                    f"{_megabytes(free)} free in {parent}")


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.2g} MB"


def check_output(output, product: str, inputs=(), overwrite: bool = False, size: int | None = None) -> Path:
    """Check that ``output`` may be written by a step making product ``product`` from ``inputs``, before the
    step starts work.

    ``size`` (bytes), where the step can estimate it: the space its output will take; less free space than that
    in the output directory is refused (:func:`check_free_space`).

    Raises
    ------
    FileNotFoundError, PermissionError
        The output directory does not exist, or is not writable (permissions, a read-only file system).
    OSError (ENOSPC)
        Less free space than ``size``.
    ValueError
        ``output`` is one of ``inputs`` (the same file, however named), lies inside an input directory or is a
        directory holding an input: overwriting it would destroy the input, so ``overwrite`` never allows it.
    FileExistsError
        ``output`` exists and is not a ``product`` of latentexplorer's, and ``overwrite`` is false.

    Returns the output as a Path.
    """
    output = Path(output)
    for source in inputs:
        clash = _clashes_with_input(output, Path(source))
        if clash:
            raise ValueError(f"the output {output} {clash}; choose another output")
    empty_directory = output.is_dir() and not any(output.iterdir())
    if (output.exists() or output.is_symlink()) and not (overwrite or empty_directory) \
            and product_name(output) != product:
        raise FileExistsError(f"{output} exists and is not a latentexplorer {product} file; add --overwrite to "
                              "replace it, or choose another output")
    check_output_directory(output)
    if size:
        check_free_space(output, size)
    return output


def _holder(lock_path: Path) -> str:
    try:
        text = lock_path.read_text().strip()
    except OSError:
        text = ""
    return text or "another process"


def _remove_stale_temporaries(path: Path) -> int:
    """Remove the temporaries an interrupted :func:`~latentexplorer.io.atomic.atomic_output` left beside ``path``:
    regular files of this user whose names only that function gives (:func:`~latentexplorer.io.atomic.
    is_temporary_of`); only called while holding the output's lock. Returns how many."""
    removed = 0
    for tmp in path.parent.glob(glob_escape(temporary_prefix(path)) + "*"):
        try:
            info = tmp.lstat()
        except FileNotFoundError:
            continue
        if is_temporary_of(tmp, path) and stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid():
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


#: errno values of a full or read-only disk: a failed step then leaves nothing behind.
DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG)


#: How libraries word those errors when they drop the errno (astropy's own for a short write).
_DISK_WORDS = tuple((code, os.strerror(code)) for code in DISK_ERRORS) + ((errno.ENOSPC, "Not enough space on disk"),)


def disk_error(err: BaseException) -> int | None:
    """The errno of :data:`DISK_ERRORS` behind ``err`` — itself, an exception it was raised from or while
    handling (astropy re-raises a full disk as a plain OSError), or one whose message names it (h5py) — else
    None."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in DISK_ERRORS:
            return err.errno
        for code, words in _DISK_WORDS:
            if words in str(err):
                return code
        err = err.__cause__ or err.__context__
    return None


def _discard_parts(outputs, err: BaseException) -> None:
    """After a step failed with ``err``: remove the ``OUTPUT.parts/`` directories of ``outputs``
    (:class:`latentexplorer.steps.runtime.batch.PartStore`) that hold no finished chunk (nothing to resume) — or all of them
    when the disk is full or read-only (:func:`disk_error`), which must not be left fuller. An interrupted
    run (Ctrl-C) or another error keeps its finished chunks for the rerun."""
    from .batch import PARTS_SUFFIX, PartStore

    if isinstance(err, KeyboardInterrupt):
        return
    disk = disk_error(err) is not None
    for output in outputs:
        parts = output.with_name(output.name + PARTS_SUFFIX)
        if parts.is_dir() and (disk or not PartStore.holds_finished_parts(parts)):
            shutil.rmtree(parts, ignore_errors=True)


def _says_not_where(err: BaseException, code: int) -> bool:
    """True when ``err``, a full or read-only disk (errno ``code``), does not say where in its own words: a
    library's wrapping of it, or the system's bare message without a file name."""
    if not (isinstance(err, OSError) and err.errno == code):
        return True
    return err.strerror == os.strerror(code) and not err.filename


@contextlib.contextmanager
def output_lock(output, *companions):
    """Hold the lock of ``output`` (``.NAME.lock`` beside it, an ``flock`` the system releases when the process
    ends, even by kill -9) while the block runs. A second run on the same output fails at once with
    FileExistsError naming the process that holds it. Once locked, temporary files an interrupted run left
    beside ``output`` and ``companions`` (files written with it) are removed. When the block fails, its
    parts directories are removed as :func:`_discard_parts` says, and a full or read-only disk a library
    reported in its own words becomes ``OSError(errno, "No space left on device while writing OUTPUT")``."""
    import fcntl
    import time

    output = Path(output)
    lock_path = output.parent / f".{output.name}.lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    except FileNotFoundError:
        raise FileNotFoundError(f"output directory {output.parent} does not exist") from None
    except OSError as err:
        if err.errno not in (errno.ELOOP, errno.EISDIR):
            raise
        what = "a symbolic link, which is never followed" if err.errno == errno.ELOOP else "a directory"
        raise FileExistsError(f"the lock {lock_path} of {output} is {what}; remove it and rerun") from None
    info = os.fstat(fd)
    if info.st_nlink > 1 or not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise FileExistsError(f"the lock {lock_path} of {output} is linked to another file; remove it and rerun")
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
        except BaseException as err:
            _discard_parts((output, *map(Path, companions)), err)
            code = disk_error(err)
            if code is not None and _says_not_where(err, code):
                # a library's wrapping of a full disk, or the system's words without a file: say so, and where
                raise OSError(code, f"{os.strerror(code)} while writing {output}") from None
            raise
        finally:
            lock_path.unlink(missing_ok=True)
    finally:
        os.close(fd)


@contextlib.contextmanager
def removes_new_empty_directories(*directories):
    """Run the block; when it fails, remove those of ``directories`` (innermost first) that did not exist before
    it and are empty, so a failed step leaves no empty directory behind."""
    new = [Path(d) for d in directories if not Path(d).exists()]
    try:
        yield
    except BaseException:
        for directory in new:
            with contextlib.suppress(OSError):  # not empty, or gone: leave it
                directory.rmdir()
        raise


@contextlib.contextmanager
def removes_what_it_made(directory):
    """Run the block; when it fails (Ctrl-C included), remove every file and directory under ``directory`` that
    was not there before it, deepest first — what the block made — so that a rerun is not refused for it. What
    was there stays, and so does a new directory holding something else."""
    root = Path(directory)

    def tree() -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*")} if root.is_dir() else set()

    before = tree()
    try:
        yield
    except BaseException:
        for rel in sorted(tree() - before, key=lambda r: -r.count("/")):
            path = root / rel
            if path.is_dir() and not path.is_symlink():
                with contextlib.suppress(OSError):  # holds something of yours: stays
                    path.rmdir()
            else:
                path.unlink(missing_ok=True)
        raise


def as_paths(value) -> list[Path]:
    """A path, an iterable of paths (None entries skipped) or None as a list of Paths."""
    if value is None:
        return []
    return [Path(value)] if isinstance(value, (str, os.PathLike)) else [Path(v) for v in value if v is not None]


def step_decorator(around):
    """Make a decorator of ``around(step, arguments, call)``: it runs around each call of a step, given the call's
    bound arguments by name (defaults applied) and ``call()``, which runs the step and returns its result."""
    import functools
    import inspect

    def wrap(step):
        signature = inspect.signature(step)

        @functools.wraps(step)
        def wrapped(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return around(step, bound.arguments, lambda: step(*args, **kwargs))

        return wrapped

    return wrap


def locks_output(resolve):
    """Decorator: run the step holding :func:`output_lock` of the output(s) ``resolve(arguments)`` gives
    (``arguments``: the call's bound arguments by name, defaults applied; a path or a tuple of paths)."""

    def around(step, arguments, call):
        with output_lock(*as_paths(resolve(arguments))):
            return call()

    return step_decorator(around)
