"""Compute the network's target PSDs from Kepler/TESS light-curve FITS files.

Each light curve is read with lightkurve (PDCSAP flux, quality-flagged cadences removed, NaNs
dropped, normalised to ppm), turned into a Lomb–Scargle PSD from 2 to 270 μHz at 0.009 μHz,
flattened by a moving median of width 0.01 in log10 ν, smoothed (σ = 0.1 μHz), rebinned onto the
2092-pixel grid and logged. Unreadable or unusable files are flagged and skipped, never fatal; so is a
time axis that is not in days, unsorted or repeated. A baseline too short to resolve the grid, or a median
cadence whose Nyquist frequency lies below the grid's top (269 μHz), gives a PSD that is computed but
flagged. Each flagged file is one warning line; `pairs` uses unflagged PSDs only.

Files are processed in chunks kept in OUTPUT.parts/ until the output is written: an interrupted run
resumes where it stopped. By default the files are read and transformed by one process per CPU of this
machine; --workers N spreads the chunks over a local Dask cluster, --scheduler ADDRESS over an existing
one (its workers must see the files at the same paths); the output is the same.

Examples:
  latentexplorer psd survey/kepler/ -o psd.h5
  latentexplorer psd /data/tess/ -o tess_psd.h5 --workers 8
"""

from __future__ import annotations

import sys

from .options import add_step_options, step_scheduler

HELP = "light curves (FITS files or directories) → log power spectra (psd.h5)"


def add_arguments(parser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="light-curve FITS files or directories")
    parser.add_argument("-o", "--output", required=True, help="output HDF5 file (e.g. psd.h5)")
    add_step_options(parser, chunks=(64, "light curves per chunk"))


def run(args) -> int:
    from ..steps import compute_psd_files

    with step_scheduler(args) as client:
        summary = compute_psd_files(args.inputs, args.output, progress=not args.no_progress,
                                    chunk_size=args.chunk_size, client=client, overwrite=args.overwrite)
    computed = summary.done + summary.flagged
    print(f"psd: {computed} PSDs computed ({summary.flagged} of them flagged: a baseline or cadence that cannot "
          f"carry the grid), {summary.failed} files failed → {summary.output}")
    if computed == 0:
        print("latentexplorer psd: error: no light curve gave a PSD (see the warnings above)", file=sys.stderr)
        return 1
    return 0
