"""Simulate the mock APOGEE–Kepler survey and write it in the surveys' real file formats.

The mock is a Milky Way disk of red giants (thin low-[α/M] and thick high-[α/M] sequences, RGB and
red clump) with known truth. It writes:

  DIR/truth.fits             every true parameter, one row per star
  DIR/survey/allStar.fits    allStar-like catalog (DR17 column names, errors, flags, a few missing values)
  DIR/survey/seismic.fits    APOKASC-2-like seismic catalog of the Kepler subset (ν_max, Δν, mass, age)
  DIR/survey/spectra.h5      apStar-like spectra, stacked (or survey/apStar/*.fits with --spectra-format apstar,
                             or normalised 7514-pixel spectra with --spectra-format normalized)
  DIR/survey/kepler/         kplr<KIC>-<stamp>_llc.fits Kepler long-cadence light curves
  DIR/survey/README.txt      what the files are

The same seed gives the same files, byte for byte.

Examples:
  latentexplorer simulate --n-stars 5000 --n-kepler 3000 --seed 42 -o workspace
  latentexplorer simulate --n-stars 200 --n-kepler 50 -o tiny --spectra-format apstar --jobs 2
  latentexplorer simulate --n-stars 733901 --n-kepler 6000 -o dr17 --spectra-format normalized \
      --light-curves 0 --jobs 2          # a DR17-sized mock, 22 GB
"""

from __future__ import annotations

from .options import add_step_options

HELP = "simulate the mock APOGEE–Kepler survey (truth.fits + survey/ files)"


def add_arguments(parser) -> None:
    parser.add_argument("--n-stars", type=int, default=5000, help="APOGEE giants to simulate (default 5000)")
    parser.add_argument("--n-kepler", type=int, default=3000,
                        help="how many of them are Kepler targets with light curves (default 3000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed, a non-negative integer (default 0)")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="workspace directory to write")
    parser.add_argument("--spectra-format", choices=("stacked", "apstar", "normalized"), default="stacked",
                        help="one stacked HDF5 file of apStar-like spectra (default), one apStar FITS file per "
                             "star, or one HDF5 file of normalised 7514-pixel spectra (compact, for survey-sized "
                             "mocks)")
    parser.add_argument("--light-curves", type=int, default=None, metavar="N",
                        help="write llc files for only the first N Kepler stars (each file is ~7 MB; default: all)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="worker processes for the spectra and light curves (default 1)")
    add_step_options(parser, overwrite="replace the survey files a directory already holds (the products made "
                                        "from them are then stale: `latentexplorer status DIR` lists them)",
                     progress="hide the progress bars")


def run(args) -> int:
    from ..steps.simulate import simulate

    if args.n_stars < 1:
        raise ValueError(f"--n-stars must be at least 1, got {args.n_stars}")
    if not 0 <= args.n_kepler <= args.n_stars:
        raise ValueError(f"--n-kepler must be between 0 and --n-stars ({args.n_stars}), got {args.n_kepler}")
    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.light_curves is not None and args.light_curves < 0:
        raise ValueError(f"--light-curves must be non-negative, got {args.light_curves}")
    if args.jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
    print(simulate(args.output, args.n_stars, args.n_kepler, args.seed, spectra_format=args.spectra_format,
                   light_curves=args.light_curves, n_jobs=args.jobs, progress=not args.no_progress,
                   overwrite=args.overwrite))
    return 0
