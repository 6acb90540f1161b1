"""The first check of every reader: that a file, not nothing and not a directory, is where it is asked for."""

from __future__ import annotations

from pathlib import Path

__all__ = ["existing_file"]


def existing_file(path, kind: str, remedy: str | None = None) -> Path:
    """``path`` as a :class:`~pathlib.Path` when something other than a directory is there.

    Raises FileNotFoundError ``"PATH does not exist"`` (with ``" (REMEDY)"`` when given) when nothing is, and
    ValueError ``"PATH is a directory, not a KIND"`` for a directory; ``kind`` names what was expected, e.g.
    ``"FITS file (catalog expected)"`` or ``".keras file"``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist" + (f" ({remedy})" if remedy else ""))
    if path.is_dir():
        raise ValueError(f"{path} is a directory, not a {kind}")
    return path
