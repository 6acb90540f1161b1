"""The latent-space age catalog: the data model of the paper's Table 1, row-matched to the allStar input.

:func:`build_catalog` applies a workspace's latents (``latent.h5``) and age model (``forest/``, from
:func:`latentexplorer.steps.ages.train_age_model`) to every allStar row with the paper's cuts (section 7.1,
:func:`latentexplorer.selection.selection_flags`) through :meth:`AgeModel.predict
<latentexplorer.ages.model.AgeModel.predict>` — the path the star inspector uses too — and writes
``catalog.fits`` and ``catalog.csv.gz`` (:mod:`latentexplorer.io.catalog`, whose column list says what each
column holds, with units). A star's values depend on the star, the models and their seed only: not on the
chunk size, the scheduler or the other rows.

The paper recommends, for science, STARFLAG = ASPCAPFLAG = 0 and Age_Error / Age < 40 %
(:func:`latentexplorer.galaxy.maps.quality_mask`).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Table
from tqdm.auto import tqdm

from ..ages.inputs import AgeInputs
from ..ages.model import AgeModel
from ..io.catalog import catalog_columns, write_catalog
from .runtime.outputs import check_output, locks_output
from .runtime.provenance import records_provenance
from ..selection import LATENT_FLAGS, AgeFlag
from ..workspace import Workspace

__all__ = ["CatalogSummary", "catalog_table", "build_catalog"]

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=2)
def _cached_age_model(directory: str, stamp: int) -> AgeModel:
    return AgeModel.load(directory)


def _catalog_chunk(forest_dir: str, inputs: AgeInputs) -> dict[str, np.ndarray]:
    """:meth:`AgeModel.predict` of one chunk with the age model of ``forest_dir``, loaded once per process."""
    metadata = Path(forest_dir) / "metadata.json"
    model = _cached_age_model(forest_dir, metadata.stat().st_mtime_ns if metadata.is_file() else 0)
    return model.predict(inputs).as_dict()


def _check_compatible(inputs: AgeInputs, model: AgeModel) -> None:
    if model.latent_dim != inputs.latent_dim:
        raise ValueError(f"the age model expects {model.latent_dim} latent dimensions, latent.h5 has "
                         f"{inputs.latent_dim}: was it trained on another encoder?")


def _assemble(inputs: AgeInputs, predicted: dict[str, np.ndarray]) -> Table:
    """The catalog Table from the inputs and the concatenated per-row predictions."""
    k = inputs.latent_dim
    allstar, p_rc = inputs.allstar, predicted["p_rc"]
    values = {
        "APOGEE_ID": inputs.apogee_id,
        "telescope": np.asarray(allstar["TELESCOPE"]).astype(str),
        "field": np.asarray(allstar["FIELD"]).astype(str),
        "STARFLAG": np.asarray(allstar["STARFLAG"], dtype=np.int64),
        "ASPCAPFLAG": np.asarray(allstar["ASPCAPFLAG"], dtype=np.int64),
        **{f"z{i}": inputs.z_mean[:, i] for i in range(k)},
        **{f"z{i}_err": inputs.z_std[:, i] for i in range(k)},
        "LogAge": predicted["log_age"], "LogAge_Error": predicted["log_age_err"],
        "Age": predicted["age"], "Age_Error": predicted["age_err"],
        "EVOLSTATE_PRED": np.where(np.isnan(p_rc), "", np.where(p_rc >= 0.5, "RC", "RGB")),
        "P_RC": p_rc, "AGE_FLAG": (inputs.flags | predicted["ood_flags"]).astype(np.int32),
    }
    table = Table()
    for name, unit, description in catalog_columns(k):
        table[name] = values[name]
        table[name].unit, table[name].description = unit, description
    return table


def catalog_table(inputs: AgeInputs, model: AgeModel, chunk_size: int = 50_000, progress: bool = True) -> Table:
    """The catalog of ``inputs`` (row-matched to their allStar rows) under ``model``, in this process.

    Rows are predicted in chunks of ``chunk_size`` stars (bounded memory); :func:`build_catalog` gives the
    same table, resumably and optionally on Dask. Raises ValueError when the model's inputs differ from
    the latent file's.
    """
    from .runtime.batch import plan_chunks

    _check_compatible(inputs, model)
    parts = [model.predict(inputs.take(chunk.rows)).as_dict()
             for chunk in tqdm(plan_chunks(len(inputs), chunk_size), desc="catalog", unit="chunk",
                               disable=not progress)]
    return _assemble(inputs, {name: np.concatenate([p[name] for p in parts]) for name in parts[0]})


@dataclass
class CatalogSummary:
    """Row counts of a catalog and where it was written."""

    n_rows: int
    n_latent: int
    n_ages: int
    flag_counts: dict
    output: Path
    csv_output: Path | None

    def __str__(self) -> str:
        flags = ", ".join(f"{count} {name}" for name, count in self.flag_counts.items() if count)
        return (f"catalog: {self.n_rows} rows, {self.n_latent} with latent, {self.n_ages} with ages"
                f"{f' (flagged: {flags})' if flags else ''} → {self.output}")


def catalog_outputs(workspace, output=None) -> tuple[Path, Path]:
    """(FITS, CSV) paths :func:`build_catalog` writes: ``output`` (default ``WORKSPACE/catalog.fits``) and the
    ``.csv.gz`` beside it."""
    output = Workspace.of(workspace).paths.catalog if output is None else Path(output)
    return output, output.with_name(output.name.removesuffix(".fits") + ".csv.gz")


@locks_output(lambda a: catalog_outputs(a["workspace"], a["output"]))
@records_provenance("catalog", lambda a: catalog_outputs(a["workspace"], a["output"]),
                    lambda a: Workspace.of(a["workspace"]).paths.sources("allstar", "latent", "forest"))
def build_catalog(workspace, output=None, progress=True, chunk_size=50_000, client=None,
                  overwrite: bool = False) -> CatalogSummary:
    """Apply a workspace's latent and age model to its allStar rows; write catalog.fits and catalog.csv.gz.

    The rows are predicted in chunks, each kept as a part in ``OUTPUT.parts/`` until the catalog is
    written, so an interrupted run resumes (:mod:`latentexplorer.steps.runtime.batch`); ``client`` spreads the
    chunks over a Dask cluster with the same result. Memory holds the catalog's columns (~200 bytes a
    star: 150 MB for DR17's 733,901 rows), never the spectra.

    Parameters
    ----------
    workspace : Workspace or path
        Needs ``survey/allStar.fits``, ``latent.h5`` and ``forest/``.
    output : path, optional
        FITS file to write (default ``WORKSPACE/catalog.fits``); the CSV goes beside it with the
        suffix ``.csv.gz``.
    progress : bool
    chunk_size : int
        Stars predicted at a time (bounds memory; the catalog does not depend on it).
    client : dask.distributed.Client, optional
    overwrite : bool
        Replace an ``output`` that is not a catalog (never one of the inputs).

    Returns
    -------
    CatalogSummary

    Raises
    ------
    ValueError
        Not one allStar row keeps a latent representation (none in latent.h5, or all cut): nothing succeeds,
        nothing is written. (No allStar ID in latent.h5 at all is refused earlier, by
        :func:`latentexplorer.ages.inputs.age_inputs`.)
    """
    from .runtime.batch import PartStore, describe_input, plan_chunks, run_chunks

    ws = Workspace.of(workspace)
    model = ws.age_model
    inputs = ws.age_inputs
    _check_compatible(inputs, model)
    if not inputs.has_latent.any():
        reasons = ", ".join(f"{int(((inputs.flags & int(bit)) != 0).sum())} {bit.name}" for bit in AgeFlag
                            if bit & LATENT_FLAGS and (inputs.flags & int(bit)).any())
        raise ValueError(f"{ws.paths.allstar}: not one of its {len(inputs)} rows keeps a latent representation "
                         f"({reasons}): no catalog to make")
    output, csv_output = catalog_outputs(ws, output)
    size = len(inputs) * len(catalog_columns(inputs.latent_dim)) * 4  # at least 4 bytes a value in catalog.fits
    check_output(output, "catalog", (ws.paths.allstar, ws.paths.latent, ws.paths.forest), overwrite, size)
    check_output(csv_output, "catalog", (ws.paths.allstar, ws.paths.latent, ws.paths.forest), overwrite)
    store = PartStore(output, {
        "step": "catalog", "version": 2, "allstar": describe_input(ws.paths.allstar),
        "latent": describe_input(ws.paths.latent), "forest": describe_input(ws.paths.forest / "metadata.json"),
        "n_rows": len(inputs), "chunk_size": int(chunk_size),
    })
    chunks = plan_chunks(len(inputs), chunk_size)
    forest_dir = str(ws.paths.forest.resolve())
    jobs = [(chunk, (forest_dir, inputs.take(chunk.rows))) for chunk in chunks]
    run_chunks(_catalog_chunk, jobs, store, client=client, progress=progress, desc="catalog", unit_rows="stars")
    parts = [part for _, part in store.iter_parts(chunks)]
    table = _assemble(inputs, {name: np.concatenate([p[name] for p in parts]) for name in parts[0]})
    write_catalog(table, output, csv_output)
    store.remove()
    flags = np.asarray(table["AGE_FLAG"])
    summary = CatalogSummary(
        n_rows=len(table), n_latent=int(((flags & int(LATENT_FLAGS)) == 0).sum()),
        n_ages=int(np.isfinite(table["LogAge"]).sum()),
        flag_counts={bit.name: int(((flags & int(bit)) != 0).sum()) for bit in AgeFlag},
        output=output, csv_output=csv_output,
    )
    logger.info("%s", summary)
    return summary
