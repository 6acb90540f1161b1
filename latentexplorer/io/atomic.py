"""Atomic file output: write to a temporary file beside the target, rename on success.

An interrupted or failing writer never leaves a half-written file at the target path, and an
existing target is only replaced once the new file is complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["check_output_directory", "atomic_output"]


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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=parent)
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
