"""Galactocentric coordinates and orbit parameters for every star of a catalog (paper section 7.1).

CATALOG is a FITS table with APOGEE_ID, RA, DEC (deg), DIST (kpc) and either PMRA, PMDEC (mas/yr),
VLOS (km/s), as in a mock survey's truth.fits, or the allStar-style GAIAEDR3_PMRA, GAIAEDR3_PMDEC,
VHELIO_AVG. Masked entries and APOGEE's −9999 sentinels count as missing.

The output FITS table has APOGEE_ID, R, phi, z (kpc, rad), vR, vT, vz (km/s), Lz, Jr, Jz (kpc km/s),
ecc, zmax, rguide (kpc) and FLAG: 0 for a good row, else the sum of 1 (position missing), 2 (velocity
missing: positions kept), 4 (unbound in MWPotential2014), 8 (Staeckel approximation failed). Flagged
rows get NaN and the run goes on. Actions use galpy's Staeckel approximation in MWPotential2014 with
R0 = 8.23 kpc, v⊙ = 249.44 km/s, z⊙ = 20.8 pc.

Example:
  latentexplorer orbits WORKSPACE/truth.fits -o WORKSPACE/orbits.fits
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from astropy.table import Table, vstack
from tqdm.auto import tqdm

from ..galaxy.orbits import OrbitFlag, orbit_parameters
from ..io.atomic import atomic_output

HELP = "Galactocentric coordinates, actions, eccentricity and z_max of a catalog's stars (galpy)"

# Column sets accepted for the kinematics, in order of preference.
KINEMATIC_COLUMNS = (
    ("PMRA", "PMDEC", "VLOS"),
    ("GAIAEDR3_PMRA", "GAIAEDR3_PMDEC", "VHELIO_AVG"),
)
APOGEE_MISSING = -9999.0  # APOGEE's sentinel for a missing value

log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("catalog", type=Path, help="input FITS table (truth.fits or allStar-style)")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="output FITS table (default: orbits.fits beside CATALOG)")
    parser.add_argument("--chunk-size", type=int, default=20_000, help="stars per chunk (default 20000)")


def read_observables(path: Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """APOGEE_ID and the six heliocentric observables (RA, DEC, DIST, pmra, pmdec, vlos) of a FITS catalog.

    Raises FileNotFoundError for a missing file and ValueError when required columns are absent.
    """
    if not path.is_file():
        raise FileNotFoundError(f"catalog {path} does not exist")
    table = Table.read(path)
    kinematic = next((cols for cols in KINEMATIC_COLUMNS if set(cols) <= set(table.colnames)), None)
    missing = [name for name in ("APOGEE_ID", "RA", "DEC", "DIST") if name not in table.colnames]
    if missing:
        raise ValueError(f"{path} lacks column(s) {', '.join(missing)}")
    if kinematic is None:
        wanted = " or ".join("(" + ", ".join(cols) + ")" for cols in KINEMATIC_COLUMNS)
        raise ValueError(f"{path} needs the kinematic columns {wanted}")
    values = []
    for name in ("RA", "DEC", "DIST", *kinematic):
        column = np.ma.filled(np.ma.asarray(table[name], dtype=float), np.nan)
        values.append(np.where(column <= APOGEE_MISSING, np.nan, column))
    ids = np.char.strip(np.asarray(table["APOGEE_ID"]).astype(str))
    return ids, values


def run(args) -> int:
    if args.chunk_size < 1:
        raise ValueError(f"--chunk-size must be positive, got {args.chunk_size}")
    output = args.output if args.output is not None else args.catalog.parent / "orbits.fits"
    ids, values = read_observables(args.catalog)
    starts = range(0, len(ids), args.chunk_size)
    chunks = [orbit_parameters(*(v[i:i + args.chunk_size] for v in values))
              for i in tqdm(starts, desc="orbits", unit="chunk", total=len(starts))]
    result = vstack(chunks) if chunks else orbit_parameters(*([] for _ in values))
    result.add_column(ids, name="APOGEE_ID", index=0)
    with atomic_output(output, suffix=".fits") as tmp:
        result.write(tmp, format="fits", overwrite=True)
    flags = np.asarray(result["FLAG"])
    counts = ", ".join(f"{int(np.count_nonzero(flags & bit))} {bit.name.lower().replace('_', ' ')}"
                       for bit in OrbitFlag)
    print(f"orbits: {len(result)} stars, {int(np.count_nonzero(flags == 0))} with full orbits, "
          f"{int(np.count_nonzero(flags))} flagged ({counts}) → {output}")
    return 0
