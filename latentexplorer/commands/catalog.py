"""Build the latent-space age catalog of a workspace (the paper's Table 1 data model, section 7.1).

Applies WORKSPACE/latent.h5 and the age model in WORKSPACE/forest/ (from `latentexplorer ages`) to
every row of WORKSPACE/survey/allStar.fits: the latent representation is kept for 1.5 < log g < 3.6
and SNREV > 30; ages are computed where also 2.5 < log g < 3.6 and Teff, [Fe/H] (and their errors)
are present. The output is row-matched to the allStar file: apogee_id, telescope, field, STARFLAG,
ASPCAPFLAG, z0..z4, z0_err..z4_err, LogAge, LogAge_Error [dex], Age, Age_Error [Gyr], EVOLSTATE_PRED,
P_RC and AGE_FLAG, NaN where not computed. AGE_FLAG bits say why a row has no age:
1 not encoded, 2 SNREV <= 30, 4 log g outside (1.5, 3.6), 8 log g outside (2.5, 3.6), 16 no Teff,
32 no [Fe/H]; or why its age is out of distribution (computed, not to be trusted): 64 latent means
outside the age model's training support, 128 Teff or [Fe/H] outside its training range.
For science the paper recommends STARFLAG = ASPCAPFLAG = 0, AGE_FLAG = 0 and Age_Error/Age < 0.4.

Writes catalog.fits and catalog.csv.gz (atomically; -o sets the FITS path, the CSV goes beside it).
Finished chunks are kept in catalog.fits.parts/ until then, so an interrupted run resumes; --workers N
or --scheduler ADDRESS spread the chunks over Dask with the same result.

Example:
  latentexplorer catalog WORKSPACE
  latentexplorer catalog WORKSPACE -o /tmp/ages.fits
  latentexplorer catalog WORKSPACE --workers 2
"""

from __future__ import annotations

from pathlib import Path

from .options import add_step_options, step_scheduler

HELP = "apply latent + age model to every allStar row → catalog.fits, catalog.csv.gz"


def add_arguments(parser) -> None:
    parser.add_argument("workspace", type=Path, help="workspace directory (latent.h5, forest/, survey/)")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="catalog FITS file (default WORKSPACE/catalog.fits; CSV beside it)")
    add_step_options(parser, chunks=(50_000, "stars predicted at a time"))


def run(args) -> int:
    from ..steps.catalog import build_catalog

    with step_scheduler(args) as client:
        summary = build_catalog(args.workspace, output=args.output, progress=not args.no_progress,
                                chunk_size=args.chunk_size, client=client, overwrite=args.overwrite)
    print(summary)
    return 0
