"""Serve the Voila dashboards for a workspace on http://127.0.0.1:PORT/ (localhost only).

The four dashboards — latent explorer (paper Fig. 4), star inspector (Fig. 3), Jacobian view (Fig. 6)
and disk map (Figs. 12–15) — open any workspace: the demo's, or one built from real APOGEE/Kepler files
with the pipeline's steps. A dashboard whose products are missing (e.g. no catalog.fits yet) says which
command makes them. Pages show no notebook source and run no code a visitor types; only the widgets act.

Examples:
  latentexplorer serve WORKSPACE
  latentexplorer serve WORKSPACE --port 8900 --no-browser
"""

from __future__ import annotations

from pathlib import Path

HELP = "serve the Voila dashboards for a workspace on 127.0.0.1"


def add_arguments(parser) -> None:
    parser.add_argument("workspace", type=Path, help="workspace directory (must hold latent.h5)")
    parser.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default 8866)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")


def run(args) -> int:
    from ..serve import serve

    return serve(args.workspace, port=args.port, open_browser=not args.no_browser)
