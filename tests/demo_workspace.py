"""The tiny demo workspace shared by the widget, notebook and browser tests, built once per test session.

``latentexplorer.demo.build_demo_workspace(path, size="tiny", train=True)`` runs every step on a small mock
survey into a temporary directory removed at exit. To skip the build while working on the dashboards,
point ``LATENTEXPLORER_TEST_WORKSPACE`` at a workspace that is already built; it is used as it is.
"""

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path


@functools.cache
def tiny_workspace() -> Path:
    kept = os.environ.get("LATENTEXPLORER_TEST_WORKSPACE", "").strip()
    if kept:
        return Path(kept)
    from latentexplorer.demo import build_demo_workspace

    root = Path(tempfile.mkdtemp(prefix="latentexplorer-tiny-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    build_demo_workspace(root / "workspace", size="tiny", progress=False, train=True)
    return root / "workspace"
