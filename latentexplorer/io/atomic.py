"""Atomic file output: write to a temporary file beside the target, rename on success.

An interrupted or failing writer never leaves a half-written file at the target path, and an
existing target is only replaced once the new file is complete. A product of several files (the catalog
and its CSV, the age model's directory) lands as one with :func:`atomic_outputs`: its *mark*, the file
whose presence says the product is complete, is removed before any other file is replaced and lands last.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

__all__ = ["check_output_directory", "atomic_output", "atomic_outputs", "temporary_prefix",
           "is_temporary_of"]

#: The marker in every temporary's name: ``.NAME.letmp-XXXXXXXX[SUFFIX]`` (XXXXXXXX: :func:`tempfile.mkstemp`'s).
TEMPORARY_MARKER = "letmp-"
#: How much of an output's name its temporaries carry: a legal 255-byte name leaves room for the marker.
_NAME_KEPT = 200


def temporary_prefix(path) -> str:
    """The name prefix of :func:`atomic_output`'s temporaries for ``path``: ``.NAME.letmp-`` (NAME cut to its
    first 200 characters, so that any legal output name gives a legal temporary name)."""
    return f".{Path(path).name[:_NAME_KEPT]}.{TEMPORARY_MARKER}"


def is_temporary_of(candidate, path) -> bool:
    """True when ``candidate`` is a name :func:`atomic_output` gives a temporary of ``path``: the prefix, eight
    characters of :func:`tempfile.mkstemp`'s alphabet, then an optional suffix — a file merely named like a
    temporary (``.latent.h5.backup-2024``) is not one."""
    pattern = re.escape(temporary_prefix(path)) + r"[a-z0-9_]{8}(\.[A-Za-z0-9.]{1,16})?"
    return re.fullmatch(pattern, Path(candidate).name) is not None


def check_output_directory(path) -> Path:
    """The directory ``path`` will be written in, checked: FileNotFoundError when it does not exist,
    PermissionError when it is not writable (permissions, a read-only file system)."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"output directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"output directory {parent} is not writable")
    return parent


@contextlib.contextmanager
def atomic_output(path, suffix: str | None = None):
    """Context manager yielding a temporary :class:`~pathlib.Path` to write instead of ``path``.

    On normal exit the temporary file is moved onto ``path`` with :func:`os.replace` (atomic on
    POSIX within one file system); on an exception it is removed and ``path`` is left untouched.
    The parent directory must exist and be writable, else :class:`PermissionError` /
    :class:`FileNotFoundError` is raised before anything is written.
    """
    path = Path(path)
    parent = check_output_directory(path)
    fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(path), suffix=suffix or ".tmp", dir=parent)
    os.close(fd)
    tmp = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_outputs(mark, *others):
    """Context manager yielding temporary Paths ``(mark_tmp, *others_tmp)`` to write instead of the files
    ``mark`` and ``others`` of one product (each temporary ends like its file: ``.npz``, ``.fits``, …).

    On normal exit the old ``mark`` is removed, the ``others`` land (:func:`atomic_output`) and ``mark`` lands
    last: wherever ``mark`` exists, every other file is of the same write, and a process killed while they
    land leaves no ``mark`` (readers refuse an incomplete product) instead of a mix of old and new files.
    A process killed before leaves the old product whole. On an exception every temporary is removed and
    nothing is replaced.
    """
    with contextlib.ExitStack() as stack:  # exits in reverse: the mark, entered first, lands last
        temporaries = [stack.enter_context(atomic_output(path, suffix=Path(path).suffix or None))
                       for path in (mark, *others)]
        yield temporaries
        Path(mark).unlink(missing_ok=True)
