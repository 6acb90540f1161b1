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

import time

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
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the survey files a directory already holds (the products made from them are "
                             "then stale: `latentexplorer status DIR` lists them)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def run(args) -> int:
    from ..mock import simulate_survey
    from ..io.provenance import stale_products
    from ..steps.runtime.outputs import removes_what_it_made
    from ..mock.survey import check_survey_fits, existing_survey_files, prepare_directory

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
    check_survey_fits(args.output, args.n_stars, args.n_kepler, args.spectra_format, args.light_curves)
    prepare_directory(args.output)  # fail before simulating, not after
    held = existing_survey_files(args.output)
    if held and not args.overwrite:
        raise FileExistsError(f"{args.output} already holds a survey ({', '.join(held)}); add --overwrite to replace "
                              "it (what was made from it becomes stale), or choose another directory")
    start = time.perf_counter()
    survey = simulate_survey(args.n_stars, args.n_kepler, args.seed)
    with removes_what_it_made(args.output):  # a failed run leaves nothing that refuses the rerun
        paths = survey.write(args.output, spectra_format=args.spectra_format, progress=not args.no_progress,
                             n_jobs=args.jobs, light_curves=args.light_curves)
    truth = survey.truth
    n_rc = int((truth["EVOLSTATE"] == "RC").sum())
    n_high = int((truth["POPULATION"] == "thick").sum())
    print(
        f"simulate: {len(truth)} stars ({n_rc} red clump, {n_high} high-[α/M]), {len(survey.seismic)} Kepler "
        f"giants, {survey.n_light_curves_written} light-curve files, seed {args.seed}, "
        f"{time.perf_counter() - start:.1f} s\n"
        f"  truth    {paths['truth']}\n  allStar  {paths['allstar']}\n  seismic  {paths['seismic']}\n"
        f"  spectra  {paths['spectra']}\n  kepler   {paths['kepler']}/"
    )
    stale = stale_products(args.output)
    if stale:
        print(f"  now stale (made from the survey this run replaced): {', '.join(p.name for p in stale)}")
    return 0
