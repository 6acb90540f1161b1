"""Serve the Voila dashboards for a workspace on http://127.0.0.1:PORT/ (localhost only).

The four dashboards — latent explorer (paper Fig. 4), star inspector (Fig. 3), Jacobian view (Fig. 6)
and disk map (Figs. 12–15) — open any workspace: the demo's, or one built from real APOGEE/Kepler files
with the pipeline's steps. A dashboard whose products are missing (e.g. no catalog.fits yet) says which
command makes them. Pages show no notebook source and run no code a visitor types; only the widgets act.

Each dashboard keeps --pool-size kernels that have already drawn it (default 1), so a page is ready at
once; a page's kernel is freed when the page closes, and kernels left without a page are shut down after
--cull-idle seconds. --workshop N sizes both for N people at once and prints the memory to expect.
SIGTERM, SIGINT (Ctrl-C), SIGHUP or the death of the parent process — kill -9 included — stop Voila and
every kernel.

Security: the server answers only requests for localhost, 127.0.0.1 or [::1] (any port) and the names given
with --allow-host (e.g. the name a proxy or tunnel reaches it by), and refuses requests from other sites
(HTTP 403). A page takes a kernel; at most --max-kernels kernels serve pages at once (default 8 — every
dashboard open, each once more while a reloaded page's old kernel is freed —, 8 per visitor with
--workshop), at most --max-kernels-per-client for one client address; past a cap a page is refused
(HTTP 503 or 429). Each refusal is one line on stderr.

Examples:
  latentexplorer serve WORKSPACE
  latentexplorer serve WORKSPACE --port 8900 --no-browser
  latentexplorer serve WORKSPACE --workshop 30
  latentexplorer serve WORKSPACE --allow-host dashboards.example.org --max-kernels 40
"""

from __future__ import annotations

from pathlib import Path

HELP = "serve the Voila dashboards for a workspace on 127.0.0.1"


def add_server_arguments(parser) -> None:
    """Options shared by `serve` and `demo`: port, browser, workshop sizing, kernel caps, allowed hosts."""
    parser.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default 8866)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    parser.add_argument("--workshop", type=int, default=None, metavar="N",
                        help="size the server for N people at once (preheated kernels, culling)")
    parser.add_argument("--pool-size", type=int, default=None,
                        help="preheated kernels per dashboard (default 1, or a quarter of --workshop)")
    parser.add_argument("--cull-idle", type=int, default=None, metavar="SECONDS",
                        help="shut down kernels without a page after this long idle (default 120, workshop 600)")
    parser.add_argument("--max-kernels", type=int, default=None, metavar="N",
                        help="most kernels serving pages at once; more pages are refused (default 8, 8 per "
                             "--workshop visitor)")
    parser.add_argument("--max-kernels-per-client", type=int, default=None, metavar="N",
                        help="most kernels serving pages of one client address (default: --max-kernels)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="also answer requests for this host name (repeatable; localhost, 127.0.0.1 and [::1] "
                             "always)")


def sizing_from(args):
    """The :class:`~latentexplorer.serve.ServerSizing` the options ask for; ValueError for bad values."""
    from dataclasses import replace

    from ..serve import ServerSizing, workshop_memory

    sizing = ServerSizing() if args.workshop is None else ServerSizing.for_workshop(args.workshop)
    if args.pool_size is not None:
        if args.pool_size < 0:
            raise ValueError(f"--pool-size must be ≥ 0, got {args.pool_size}")
        sizing = replace(sizing, pool_size=args.pool_size)
    if args.cull_idle is not None:
        if args.cull_idle < 1:
            raise ValueError(f"--cull-idle must be ≥ 1 s, got {args.cull_idle}")
        sizing = replace(sizing, cull_idle_s=args.cull_idle)
    for cap in ("max_kernels", "max_kernels_per_client"):  # the options and the sizing's fields alike
        value = getattr(args, cap)
        if value is not None:
            if value < 1:
                raise ValueError(f"--{cap.replace('_', '-')} must be ≥ 1, got {value}")
            sizing = replace(sizing, **{cap: value})
    if args.workshop is not None:
        print(workshop_memory(args.workshop, sizing), flush=True)
    return sizing


def serve_from(args, workspace) -> int:
    """Serve ``workspace`` as the server options ask (:func:`latentexplorer.serve.serve`); returns its status."""
    from ..serve import serve

    return serve(workspace, port=args.port, open_browser=not args.no_browser, sizing=sizing_from(args),
                 allowed_hosts=args.allow_host)


def add_arguments(parser) -> None:
    parser.add_argument("workspace", type=Path, help="workspace directory (must hold latent.h5)")
    add_server_arguments(parser)


def run(args) -> int:
    return serve_from(args, args.workspace)
