"""The ``latentexplorer`` command: one entry point, one module per subcommand.

Each module in :mod:`latentexplorer.commands` named in :data:`COMMANDS` provides ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``; this file only assembles them.

Exit codes: 0 done; 2 a user's mistake (a bad input or output, a missing file, a full or read-only disk), said
in one line naming the file and the problem; 130 interrupted (Ctrl-C; a rerun resumes); 1 an internal error
(a bug), one line too unless ``-vv``, which shows the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import re
import sys
import warnings

from . import __version__
from .native_logs import filter_native_stderr

# Order is the order of the pipeline (and of ``latentexplorer --help``).
COMMANDS = ("demo", "simulate", "psd", "pairs", "train", "encode", "ages", "catalog", "report", "orbits", "status",
            "serve", "lab", "reference-model")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="latentexplorer",
        description="APOGEE spectra → latent space → stellar ages, following Leung, Bovy, Mackereth & "
        "Miglio (2023). Each subcommand is one step over a workspace; `latentexplorer demo` runs them all "
        "on the embedded mock survey.",
    )
    parser.add_argument("--version", action="version", version=f"latentexplorer {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output: -v the steps' notes and TensorFlow's start-up lines, -vv debug")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"latentexplorer.commands.{name.replace('-', '_')}")
        p = sub.add_parser(
            name,
            help=module.HELP,
            description=(module.__doc__ or module.HELP).strip(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]  # quiet unless -v
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if args.verbose == 0:  # astroNN's import-time notice is about astroNN, not the user's run
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    quiet = filter_native_stderr() if args.verbose == 0 else contextlib.nullcontext()
    try:
        with quiet:
            return int(args._run(args) or 0)
    except (ValueError, FileNotFoundError, PermissionError, FileExistsError) as err:
        # A wrong call: say what is wrong, no traceback.
        print(f"latentexplorer {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk, a read-only directory, a file the system cannot read
        where = f": {err.filename}" if err.filename else ""
        print(f"latentexplorer {args.command}: error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"latentexplorer {args.command}: interrupted (a batch step resumes from its finished chunks when run "
              "again)", file=sys.stderr)
        return 130
    except RuntimeError as err:
        loop = re.fullmatch(r"Symlink loop from '(.*)'", str(err))  # pathlib's word for ELOOP (Python < 3.13)
        if loop is None:
            return _internal_error(args, err)
        print(f"latentexplorer {args.command}: error: {loop.group(1)} is a symbolic link loop (it leads back to "
              "itself)", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - not a user's mistake: a bug, said in one line unless -vv
        return _internal_error(args, err)


def _internal_error(args, err) -> int:
    """Say a bug in one line (re-raise with -vv); returns the exit code 1."""
    if args.verbose >= 2:
        raise err
    print(f"latentexplorer {args.command}: internal error: {type(err).__name__}: {err} (a bug in "
          "latentexplorer: please report it; -vv shows the traceback)", file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
