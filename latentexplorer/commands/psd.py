"""Compute the network's target PSDs from Kepler/TESS light-curve FITS files.

Each light curve is read with lightkurve (PDCSAP flux, quality-flagged cadences removed, NaNs
dropped, normalised to ppm), turned into a Lomb–Scargle PSD from 2 to 270 μHz at 0.009 μHz,
flattened by a moving median of width 0.01 in log10 ν, smoothed (σ = 0.1 μHz), rebinned onto the
2092-pixel grid and logged. Unreadable or unusable files are flagged and skipped, never fatal.

Example:
  latentexplorer psd survey/kepler/ -o psd.h5
"""

from __future__ import annotations

HELP = "light curves (FITS files or directories) → log power spectra (psd.h5)"


def add_arguments(parser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="light-curve FITS files or directories")
    parser.add_argument("-o", "--output", required=True, help="output HDF5 file (e.g. psd.h5)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args) -> int:
    from ..pipeline import compute_psd_files

    summary = compute_psd_files(args.inputs, args.output, progress=not args.no_progress)
    print(f"psd: {summary}")
    return 0
