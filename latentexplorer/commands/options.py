"""The options the step commands share, defined once: ``--overwrite``, ``--chunk-size`` with where the chunks run
(``--scheduler`` / ``--workers``), ``--no-progress``; and :func:`step_scheduler`, which checks the chunk size and
opens the Dask client those options ask for (:func:`latentexplorer.steps.runtime.batch.dask_client`)."""

from __future__ import annotations

import contextlib

__all__ = ["OVERWRITE_HELP", "PROGRESS_HELP", "add_step_options", "step_scheduler"]

#: What ``--overwrite`` does for a step that writes one product.
OVERWRITE_HELP = "replace an existing output that is not this step's kind of product (never an input)"
#: What ``--no-progress`` does for a step with one progress bar.
PROGRESS_HELP = "hide the progress bar"


def add_step_options(parser, *, overwrite: str | None = OVERWRITE_HELP, progress: str | None = PROGRESS_HELP,
                     chunks: tuple[int, str] | None = None) -> None:
    """Add a step command's shared options to ``parser``: ``--overwrite`` (help ``overwrite``; None: no such
    option), ``--no-progress`` (help ``progress``; None: none) and, for a chunked step, ``--chunk-size`` (``chunks``:
    its default and what it counts, e.g. ``(64, "light curves per chunk")``) with ``--scheduler ADDRESS`` /
    ``--workers N`` (mutually exclusive); :func:`step_scheduler` then reads them."""
    if overwrite is not None:
        parser.add_argument("--overwrite", action="store_true", help=overwrite)
    if chunks is not None:
        default, counts = chunks
        parser.add_argument("--chunk-size", type=int, default=default, help=f"{counts} (default {default})")
    if progress is not None:
        parser.add_argument("--no-progress", action="store_true", help=progress)
    if chunks is not None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--scheduler", metavar="ADDRESS",
                           help="run the chunks on this dask.distributed scheduler (e.g. tcp://10.0.0.1:8786); its "
                                "workers must see the inputs at the same paths")
        group.add_argument("--workers", type=int, metavar="N",
                           help="run the chunks on a local Dask cluster of N single-threaded worker processes")


@contextlib.contextmanager
def step_scheduler(args):
    """The dask.distributed Client that a chunked step's ``--scheduler`` / ``--workers`` ask for (None: the chunks
    run in this process), held while the block runs; ValueError for a ``--chunk-size`` below 1, before any
    cluster starts."""
    from ..steps.runtime.batch import dask_client

    if args.chunk_size < 1:
        raise ValueError(f"--chunk-size must be positive, got {args.chunk_size}")
    with dask_client(args.scheduler, args.workers) as client:
        yield client
