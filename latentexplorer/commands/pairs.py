"""Build the encoder-decoder's training pairs: spectra ↔ PSDs matched through a seismic catalog.

Stars are matched KIC (PSD file) ↔ APOGEE_ID (spectra) through the seismic catalog and kept as the
paper's training sample: 4 < ν_max < 250 μHz, a known evolutionary state, an unflagged PSD and a
usable spectrum. Spectra are continuum-normalised on the way (or taken as they are if already
normalised 7514-pixel arrays).

Example:
  latentexplorer pairs ws/psd.h5 ws/survey/spectra.h5 ws/survey/seismic.fits -o ws/pairs.h5
"""

from __future__ import annotations

from .options import add_step_options

HELP = "match spectra with PSDs through the seismic catalog → training pairs (pairs.h5)"


def add_arguments(parser) -> None:
    parser.add_argument("psd", help="PSD file from `latentexplorer psd`")
    parser.add_argument("spectra", help="stacked spectra HDF5, a directory of apStar/aspcapStar FITS, or normalised HDF5")
    parser.add_argument("seismic", help="seismic catalog FITS (KIC, APOGEE_ID, NUMAX, EVOLSTATE, ...)")
    parser.add_argument("-o", "--output", required=True, help="pairs HDF5 file to write")
    add_step_options(parser)


def run(args) -> int:
    from ..steps import make_pairs

    summary = make_pairs(args.psd, args.spectra, args.seismic, args.output, progress=not args.no_progress,
                         overwrite=args.overwrite)
    print(f"pairs: {summary.done} pairs, {summary.flagged} catalog stars outside the training sample, "
          f"{summary.failed} without a usable PSD or spectrum → {summary.output}")
    return 0
