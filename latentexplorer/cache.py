"""Where latentexplorer keeps what it can always make again: ``$XDG_CACHE_HOME/latentexplorer``
(``~/.cache/latentexplorer`` by default) — the demo workspace, the mock spectra's species windows."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/latentexplorer`` (``~/.cache/latentexplorer`` when XDG_CACHE_HOME is unset); not created."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "latentexplorer"
