"""The orbits step: a FITS catalog's stars → Galactocentric coordinates and galpy orbits (``orbits.fits``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import Table

from ..io.allstar import allstar_columns, read_allstar
from ..io.orbits import write_orbits
from .runtime.outputs import locks_output
from .runtime.provenance import records_provenance

__all__ = ["KINEMATIC_COLUMNS", "default_output", "read_observables", "compute_orbits"]

# Column sets accepted for the kinematics, in order of preference.
KINEMATIC_COLUMNS = (
    ("PMRA", "PMDEC", "VLOS"),
    ("GAIAEDR3_PMRA", "GAIAEDR3_PMDEC", "VHELIO_AVG"),
)


def default_output(catalog_path) -> Path:
    """Where ``latentexplorer orbits CATALOG`` writes without ``-o``: a workspace's ``orbits.fits`` (where the
    dashboards and the report look) when CATALOG is in a workspace's ``survey/`` directory or is its
    ``truth.fits``, else ``orbits.fits`` beside CATALOG."""
    from ..workspace import WorkspacePaths

    catalog_path = Path(catalog_path)
    root = catalog_path.parent.parent if catalog_path.parent.name == "survey" else catalog_path.parent
    return WorkspacePaths(root).orbits


def read_observables(path) -> tuple[np.ndarray, list[np.ndarray]]:
    """APOGEE_ID and the six heliocentric observables (RA, DEC, DIST, pmra, pmdec, vlos) of a FITS catalog
    (read as :func:`latentexplorer.io.allstar.read_allstar` reads it: −9999 is missing, NaN).

    Raises FileNotFoundError for a missing file and ValueError when required columns are absent.
    """
    names = allstar_columns(path)
    missing = [name for name in ("APOGEE_ID", "RA", "DEC", "DIST") if name not in names]
    if missing:
        raise ValueError(f"{path} lacks column(s) {', '.join(missing)}")
    kinematic = next((cols for cols in KINEMATIC_COLUMNS if set(cols) <= names), None)
    if kinematic is None:
        wanted = " or ".join("(" + ", ".join(cols) + ")" for cols in KINEMATIC_COLUMNS)
        raise ValueError(f"{path} needs the kinematic columns {wanted}")
    table = read_allstar(path, ("APOGEE_ID", "RA", "DEC", "DIST", *kinematic))
    values = [np.asarray(table[name], dtype=float) for name in ("RA", "DEC", "DIST", *kinematic)]
    return np.asarray(table["APOGEE_ID"]).astype(str), values


def _orbit_chunk(*observables) -> dict[str, np.ndarray]:
    """:func:`latentexplorer.galaxy.orbits.orbit_parameters` of one chunk of stars, as plain arrays."""
    from ..galaxy.orbits import orbit_parameters

    table = orbit_parameters(*observables)
    return {name: np.asarray(table[name]) for name in table.colnames}


@locks_output(lambda a: a["output"])
@records_provenance("orbits", lambda a: a["output"], lambda a: a["catalog_path"])
def compute_orbits(catalog_path, output, *, chunk_size: int = 20_000, progress: bool = True, client=None,
                   overwrite: bool = False):
    """Galactocentric coordinates and galpy orbit parameters of every star of a FITS catalog → ``output``.

    ``catalog_path`` holds APOGEE_ID, RA, DEC, DIST (kpc) and the kinematics of :data:`KINEMATIC_COLUMNS`
    (a truth table or an allStar). Rows with missing values get NaN and a FLAG bit
    (:class:`latentexplorer.galaxy.OrbitFlag`); a catalog without a single position is refused (ValueError).
    Chunks of ``chunk_size`` stars are kept as parts until the
    output is written (an interrupted run resumes); ``client`` (dask.distributed) spreads them over its
    workers with the same result. Returns the written astropy Table.
    """
    from .runtime.batch import PartStore, describe_input, plan_chunks, run_chunks
    from ..galaxy.orbits import orbit_parameters

    from .runtime.outputs import check_output

    ids, values = read_observables(Path(catalog_path))
    ra, dec, dist = values[:3]
    with np.errstate(invalid="ignore"):
        if not (np.isfinite(ra) & np.isfinite(dec) & (dist > 0)).any():
            raise ValueError(f"{catalog_path}: not one of its {len(ids)} rows has a position (RA, DEC and a "
                             "positive DIST): nothing to compute")
    check_output(output, "orbits", (catalog_path,), overwrite, size=len(ids) * 14 * 8)  # 14 columns of 8 bytes
    chunks = plan_chunks(len(ids), chunk_size)
    store = PartStore(output, {"step": "orbits", "version": 1, "catalog": describe_input(catalog_path),
                               "n_rows": len(ids), "chunk_size": int(chunk_size)})
    jobs = [(c, tuple(v[c.rows] for v in values)) for c in chunks]
    run_chunks(_orbit_chunk, jobs, store, client=client, progress=progress, desc="orbits", unit_rows="stars")
    template = orbit_parameters(*(v[:1] for v in values))  # the columns' units and descriptions
    parts = [part for _, part in store.iter_parts(chunks)]
    result = Table()
    for name in template.colnames:
        result[name] = np.concatenate([p[name] for p in parts])
        result[name].unit, result[name].description = template[name].unit, template[name].description
    result.add_column(ids, name="APOGEE_ID", index=0)
    write_orbits(result, output)
    store.remove()
    return result
