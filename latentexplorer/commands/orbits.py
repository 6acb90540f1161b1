"""Galactocentric coordinates and orbit parameters for every star of a catalog (paper section 7.1).

CATALOG is a FITS table with APOGEE_ID, RA, DEC (deg), DIST (kpc) and either PMRA, PMDEC (mas/yr),
VLOS (km/s), as in a mock survey's truth.fits, or the allStar-style GAIAEDR3_PMRA, GAIAEDR3_PMDEC,
VHELIO_AVG. Masked entries and APOGEE's −9999 sentinels count as missing.

The output FITS table has APOGEE_ID, R, phi, z (kpc, rad), vR, vT, vz (km/s), Lz, Jr, Jz (kpc km/s),
ecc, zmax, rguide (kpc) and FLAG: 0 for a good row, else the sum of 1 (position missing), 2 (velocity
missing: positions kept), 4 (unbound in MWPotential2014), 8 (Staeckel approximation failed). Flagged
rows get NaN and the run goes on. Actions use galpy's Staeckel approximation in MWPotential2014 with
R0 = 8.23 kpc, v⊙ = 249.44 km/s, z⊙ = 20.8 pc.

Chunks are kept in OUTPUT.parts/ until the output is written, so an interrupted run resumes;
--workers N or --scheduler ADDRESS spread them over Dask with the same result.

Examples:
  latentexplorer orbits WORKSPACE/truth.fits -o WORKSPACE/orbits.fits
  latentexplorer orbits allStar-dr17-synspec_rev1.fits -o orbits.fits --workers 4
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .options import add_step_options, step_scheduler

HELP = "Galactocentric coordinates, actions, eccentricity and z_max of a catalog's stars (galpy)"

log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("catalog", type=Path, help="input FITS table (truth.fits or allStar-style)")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="output FITS table (default: the workspace's orbits.fits when CATALOG is in its survey/ "
                             "directory, else orbits.fits beside CATALOG)")
    add_step_options(parser, chunks=(20_000, "stars per chunk"))


def run(args) -> int:
    from ..galaxy.orbits import OrbitFlag
    from ..steps import compute_orbits
    from ..steps.orbits import default_output

    output = args.output if args.output is not None else default_output(args.catalog)
    with step_scheduler(args) as client:
        result = compute_orbits(args.catalog, output, chunk_size=args.chunk_size, progress=not args.no_progress,
                                client=client, overwrite=args.overwrite)
    flags = np.asarray(result["FLAG"])
    counts = ", ".join(f"{int(np.count_nonzero(flags & bit))} {bit.name.lower().replace('_', ' ')}"
                       for bit in OrbitFlag)
    print(f"orbits: {len(result)} stars, {int(np.count_nonzero(flags == 0))} with full orbits, "
          f"{int(np.count_nonzero(flags))} flagged ({counts}) → {output}")
    return 0
