"""Build the demo workspace from the mock survey, then serve the dashboards on localhost.

The first run simulates a survey-sized mock APOGEE–Kepler survey (200,000 giants, 4,000 of them Kepler
targets) and runs every step — simulate → PSD → pairs → model → encode → ages → catalog → orbits →
report — into a cached workspace (under 10 minutes on two cores); later runs find it built and start
serving at once. The encoder-decoder is the package's reference model, trained by the project on a
mock survey of another seed (`make reference-model` regenerates it); --train trains one on the demo's
own pairs instead (8 epochs: a rough model). Voila listens on 127.0.0.1 only.

Examples:
  latentexplorer demo                      # build once, then serve and open a browser
  latentexplorer demo --build-only         # just build (or check) the workspace
  latentexplorer demo --workspace ./ws --port 8870 --no-browser
  latentexplorer demo --size tiny --train --workspace ./tiny   # a one-minute build, trained live
"""

from __future__ import annotations

import time
from pathlib import Path

HELP = "build the demo workspace from the mock survey (cached) and serve the dashboards"


def default_workspace() -> Path:
    """``$XDG_CACHE_HOME/latentexplorer/demo`` (``~/.cache/latentexplorer/demo`` by default)."""
    from ..cache import cache_dir

    return cache_dir() / "demo"


def add_arguments(parser) -> None:
    from ..demo import DEMO_SIZES
    from .serve import add_server_arguments

    parser.add_argument("--workspace", type=Path, default=None,
                        help=f"where to build the demo workspace (default {default_workspace()})")
    parser.add_argument("--size", choices=sorted(DEMO_SIZES), default="demo",
                        help="demo: 200,000 stars / 4,000 Kepler giants (default); tiny: a one-minute smoke test")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the mock survey and training")
    parser.add_argument("--spectra-format", choices=("stacked", "normalized", "apstar"), default=None,
                        help="how the mock survey stores its spectra (default: normalized for the survey-sized "
                             "demo, which needs it; stacked for tiny; see `simulate`)")
    parser.add_argument("--train", action="store_true",
                        help="train the encoder-decoder on the demo's pairs instead of using the reference model")
    parser.add_argument("--overwrite", action="store_true",
                        help="rebuild a demo workspace built with other options (replaces the demo's own files only)")
    add_server_arguments(parser)
    parser.add_argument("--build-only", action="store_true", help="build the workspace and exit")


def run(args) -> int:
    from ..demo import build_demo_workspace

    workspace = args.workspace or default_workspace()
    start = time.perf_counter()
    print(f"demo workspace: {workspace}")
    done = build_demo_workspace(workspace, size=args.size, seed=args.seed, spectra_format=args.spectra_format,
                                train=args.train, overwrite=args.overwrite)
    print(f"built {len(done)} stage(s) in {time.perf_counter() - start:.1f} s"
          if done else "all stages already built (cached)")
    from ..widgets.star_view import prepare_columns

    prepare_columns(workspace)  # the dashboards' column stores, made once here rather than by a page's kernel
    if args.build_only:
        return 0
    from .serve import serve_from

    return serve_from(args, workspace)
