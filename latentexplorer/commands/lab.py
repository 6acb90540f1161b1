"""Open the workshop notebooks in JupyterLab on a workspace, on http://127.0.0.1:PORT/ (localhost only).

The five workshop notebooks (01 light curve → PSD, 02 training the encoder-decoder, 03 the latent
space, 04 ages and audits, 05 Galactic archaeology maps) are copied into a folder of your own —
WORKSPACE/notebooks/ unless --notebook-dir says otherwise — and JupyterLab starts there with
LATENTEXPLORER_WORKSPACE set to WORKSPACE, so every notebook reads that workspace. A notebook already
in the folder is never overwritten: your edits stay; delete a notebook to get the original back.
Without WORKSPACE, the demo's workspace is used (build it first with `latentexplorer demo --build-only`).
JupyterLab prints its URL (with the login token) and opens a browser unless --no-browser. Ctrl-C,
SIGTERM, closing the terminal or the command's death (kill -9 included) stops JupyterLab and its kernels.
Like `serve`, JupyterLab answers only requests for localhost and loopback addresses, and the names given
with --allow-host (HTTP 403 otherwise: Jupyter's own check).

Examples:
  latentexplorer lab                                # the demo workspace, notebooks in WORKSPACE/notebooks/
  latentexplorer lab WORKSPACE --port 8890 --no-browser
  latentexplorer lab WORKSPACE --notebook-dir ~/workshop
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

HELP = "copy the workshop notebooks next to a workspace and open them in JupyterLab on 127.0.0.1"

#: The workshop notebooks (package data: ``latentexplorer/notebooks/*.ipynb``).
NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def add_arguments(parser) -> None:
    from .demo import default_workspace

    parser.add_argument("workspace", type=Path, nargs="?", default=None,
                        help=f"workspace directory (default: the demo's, {default_workspace()})")
    parser.add_argument("--port", type=int, default=8888, help="port on 127.0.0.1 (default 8888; 0 picks a free one)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    parser.add_argument("--notebook-dir", type=Path, default=None, metavar="DIR",
                        help="where to copy the notebooks and start JupyterLab (default WORKSPACE/notebooks)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="also answer requests for this host name (repeatable; localhost and loopback "
                             "addresses always)")


def copy_notebooks(destination: Path) -> tuple[list[str], list[str]]:
    """Copy the workshop notebooks into ``destination`` (created), never overwriting one already there.

    Returns the names of the notebooks copied and of those kept as they were.
    """
    sources = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no workshop notebooks found in {NOTEBOOK_DIR} (a broken installation?)")
    try:
        destination.mkdir(parents=True, exist_ok=True)
    except (PermissionError, FileExistsError) as err:
        raise PermissionError(f"cannot create the notebook folder {destination} ({err.strerror}); "
                              "choose another with --notebook-dir") from err
    copied, kept = [], []
    for source in sources:
        try:
            with source.open("rb") as src, (destination / source.name).open("xb") as dst:  # "x": never overwrite
                shutil.copyfileobj(src, dst)
            copied.append(source.name)
        except FileExistsError:
            kept.append(source.name)
    return copied, kept


def _workspace(path: Path | None) -> Path:
    """The workspace, resolved; FileNotFoundError (one line: what to do) if it is not one."""
    from ..workspace import WorkspacePaths
    from .demo import default_workspace

    if path is None:
        paths = WorkspacePaths(default_workspace())
        if not paths.latent.exists():
            raise FileNotFoundError(f"the demo workspace {paths.root} is not built yet: run "
                                    "`latentexplorer demo --build-only` first, or name a WORKSPACE")
    else:
        paths = WorkspacePaths(path)
        if not paths.root.exists():
            raise FileNotFoundError(f"workspace {paths.root} does not exist")
        if not paths.root.is_dir():
            raise FileNotFoundError(f"workspace {paths.root} is not a directory")
        if not (paths.survey.is_dir() or paths.latent.exists()):
            raise FileNotFoundError(f"{paths.root} is not a latentexplorer workspace (no survey/ and no latent.h5): "
                                    "build one with `latentexplorer demo --build-only` or the pipeline's steps")
    return paths.root.resolve()


def run(args) -> int:
    from ..processes import run_in_process_group
    from ..serve import HOST, allowed_host_names, free_port, port_in_use
    from ..widgets.display import WORKSPACE_ENV

    workspace = _workspace(args.workspace)
    allowed_hosts = allowed_host_names(args.allow_host)
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in 0–65535, got {args.port}")
    if args.port and port_in_use(args.port):
        raise ValueError(f"port {args.port} on {HOST} is already in use; choose another with --port")
    port = args.port or free_port()
    notebook_dir = (args.notebook_dir.expanduser() if args.notebook_dir else workspace / "notebooks").resolve()
    copied, kept = copy_notebooks(notebook_dir)
    print(f"workspace: {workspace}")
    print(f"notebooks: {notebook_dir} ({len(copied)} copied" + (f", {len(kept)} of yours kept as they are)"
                                                               if kept else ")"))
    if not (workspace / "latent.h5").exists():
        print(f"note: {workspace} has no latent.h5 yet; notebooks 03–05 need the pipeline's products", file=sys.stderr)
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={notebook_dir}",
               f"--ServerApp.ip={HOST}", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--ServerApp.open_browser={not args.no_browser}",
               *(f"--ServerApp.local_hostnames={name}" for name in ("localhost", *allowed_hosts))]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers run as root; Jupyter refuses that unless told
        command.append("--ServerApp.allow_root=True")
    print(f"starting JupyterLab on http://{HOST}:{port}/lab (Ctrl-C to stop)", flush=True)
    status = run_in_process_group(command, env=dict(os.environ, **{WORKSPACE_ENV: str(workspace)}), cwd=notebook_dir)
    print("JupyterLab stopped" if status in (0, 128 + 15, 128 + 1) else f"JupyterLab exited with status {status}",
          flush=True)
    return status
