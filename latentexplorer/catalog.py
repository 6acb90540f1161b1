"""The latent-space age catalog: the data model of the paper's Table 1, row-matched to the allStar input.

:func:`build_catalog` applies a workspace's encoder latent (``latent.h5``) and age model (``forest/``,
from :func:`latentexplorer.ages.train_age_model`) to every allStar row with the paper's cuts (section
7.1, :func:`latentexplorer.ages.selection_flags`) and writes ``catalog.fits`` and ``catalog.csv.gz``
(one row per allStar row, same order). Columns (:data:`CATALOG_COLUMNS`):

- ``apogee_id``, ``telescope``, ``field``, ``STARFLAG``, ``ASPCAPFLAG`` copied from allStar;
- ``z0`` … ``z4`` the latent means and ``z0_err`` … ``z4_err`` the encoder's standard deviations, NaN
  where the latent representation is not kept (not encoded, log g outside 1.5–3.6, SNREV ≤ 30);
- ``LogAge``, ``LogAge_Error`` log10(age / Gyr) and its calibrated uncertainty (dex), ``Age``,
  ``Age_Error`` the age 10**LogAge and ln(10) · Age · LogAge_Error (Gyr), NaN where no age;
- ``EVOLSTATE_PRED`` ('RC' / 'RGB', '' without latent) and ``P_RC``, the fraction of trees of the
  latent-space classifier voting RC (paper Fig. 9);
- ``AGE_FLAG``: :class:`~latentexplorer.ages.AgeFlag` bits saying why a row has no latent or no age
  (0: both computed).

The paper recommends, for science, STARFLAG = ASPCAPFLAG = 0 and Age_Error / Age < 40 %
(:func:`latentexplorer.galaxy.maps.quality_mask`).
"""

from __future__ import annotations

import gzip
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Table
from tqdm.auto import tqdm

from .ages import LATENT_FLAGS, AgeFlag, AgeInputs, AgeModel, load_inputs
from .forest import log_age_to_gyr
from .io.atomic import atomic_output
from .workspace import Workspace

__all__ = ["CATALOG_COLUMNS", "CatalogSummary", "catalog_table", "write_catalog", "build_catalog"]

logger = logging.getLogger(__name__)

#: (name, unit, description) of the catalog columns; z{i} / z{i}_err repeat for every latent dimension.
CATALOG_COLUMNS = (
    ("apogee_id", None, "APOGEE ID (allStar APOGEE_ID)"),
    ("telescope", None, "telescope of the APOGEE observation (apo25m or lco25m)"),
    ("field", None, "APOGEE field name"),
    ("STARFLAG", None, "APOGEE star flag bitmask"),
    ("ASPCAPFLAG", None, "APOGEE ASPCAP flag bitmask"),
    ("z{i}", None, "latent dimension {i}: encoder mean"),
    ("z{i}_err", None, "latent dimension {i}: encoder standard deviation"),
    ("LogAge", None, "log10(age / Gyr) of the latent-space age"),
    ("LogAge_Error", None, "uncertainty of LogAge in dex (calibrated spread of the trees)"),
    ("Age", "Gyr", "latent-space age, 10**LogAge"),
    ("Age_Error", "Gyr", "age uncertainty, ln(10) Age LogAge_Error"),
    ("EVOLSTATE_PRED", None, "RC or RGB predicted from the latent space ('' without latent)"),
    ("P_RC", None, "fraction of classifier trees voting RC"),
    ("AGE_FLAG", None, "why no latent / no age: 1 not encoded, 2 SNREV<=30, 4 log g outside (1.5, 3.6), "
                       "8 log g outside (2.5, 3.6), 16 no Teff, 32 no [Fe/H]"),
)


def _expand(latent_dim: int):
    for name, unit, description in CATALOG_COLUMNS:
        if "{i}" in name:
            for i in range(latent_dim):
                yield name.format(i=i), unit, description.format(i=i)
        else:
            yield name, unit, description


def catalog_table(inputs: AgeInputs, model: AgeModel, chunk_size: int = 50_000, progress: bool = True) -> Table:
    """The catalog of ``inputs`` (row-matched to their allStar rows) under ``model``.

    Rows are predicted in chunks of ``chunk_size`` stars (bounded memory). Raises ValueError when the
    model's latent dimension differs from the latent file's.
    """
    if model.latent_dim != inputs.latent_dim:
        raise ValueError(f"the age model expects {model.latent_dim} latent dimensions, latent.h5 has "
                         f"{inputs.latent_dim}: was it trained on another encoder?")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    n, k = len(inputs), inputs.latent_dim
    log_age = np.full(n, np.nan)
    log_age_err = np.full(n, np.nan)
    p_rc = np.full(n, np.nan)
    aged = np.flatnonzero(inputs.has_age_inputs)
    latent = np.flatnonzero((inputs.flags & int(LATENT_FLAGS)) == 0)
    classes = list(model.classifier.classes_)
    X, X_err = inputs.features, inputs.feature_errors
    bar = tqdm(total=aged.size + latent.size, desc="catalog", unit="star", disable=not progress)
    for start in range(0, aged.size, chunk_size):
        rows = aged[start:start + chunk_size]
        log_age[rows], log_age_err[rows] = model.regressor.predict(X[rows], X_err=X_err[rows], return_std=True)
        bar.update(rows.size)
    for start in range(0, latent.size, chunk_size):
        rows = latent[start:start + chunk_size]
        proba = model.classifier.predict_proba(inputs.z_mean[rows], X_err=inputs.z_std[rows])
        p_rc[rows] = proba[:, classes.index("RC")] if "RC" in classes else 0.0
        bar.update(rows.size)
    bar.close()
    age, age_err = log_age_to_gyr(log_age, log_age_err)
    allstar = inputs.allstar
    values = {
        "apogee_id": np.asarray(allstar["APOGEE_ID"]).astype(str),
        "telescope": np.asarray(allstar["TELESCOPE"]).astype(str),
        "field": np.asarray(allstar["FIELD"]).astype(str),
        "STARFLAG": np.asarray(allstar["STARFLAG"], dtype=np.int64),
        "ASPCAPFLAG": np.asarray(allstar["ASPCAPFLAG"], dtype=np.int64),
        **{f"z{i}": inputs.z_mean[:, i] for i in range(k)},
        **{f"z{i}_err": inputs.z_std[:, i] for i in range(k)},
        "LogAge": log_age, "LogAge_Error": log_age_err, "Age": age, "Age_Error": age_err,
        "EVOLSTATE_PRED": np.where(np.isnan(p_rc), "", np.where(p_rc >= 0.5, "RC", "RGB")),
        "P_RC": p_rc, "AGE_FLAG": inputs.flags.astype(np.int32),
    }
    table = Table()
    for name, unit, description in _expand(k):
        table[name] = values[name]
        table[name].unit, table[name].description = unit, description
    return table


def write_catalog(table: Table, fits_path, csv_path=None) -> None:
    """Write ``table`` as FITS and (if ``csv_path``) gzip-compressed CSV, each file atomically."""
    with atomic_output(fits_path, suffix=".fits") as tmp:
        table.write(tmp, format="fits", overwrite=True)
    if csv_path is not None:
        with atomic_output(csv_path, suffix=".csv.gz") as tmp:
            # no name, mtime=0 in the gzip header: the same table gives the same bytes
            with (open(tmp, "wb") as file, gzip.GzipFile("", "wb", fileobj=file, mtime=0) as raw,
                  io.TextIOWrapper(raw, "utf-8", newline="") as fh):
                table.write(fh, format="ascii.csv")


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
                f"{f' (no age: {flags})' if flags else ''} → {self.output}")


def build_catalog(workspace, output=None, progress=True, chunk_size=50_000) -> CatalogSummary:
    """Apply a workspace's latent and age model to its allStar rows; write catalog.fits and catalog.csv.gz.

    Parameters
    ----------
    workspace : Workspace or path
        Needs ``survey/allStar.fits``, ``latent.h5`` and ``forest/``.
    output : path, optional
        FITS file to write (default ``WORKSPACE/catalog.fits``); the CSV goes beside it with the
        suffix ``.csv.gz``.
    progress : bool
    chunk_size : int
        Stars predicted at a time.

    Returns
    -------
    CatalogSummary
    """
    ws = Workspace(workspace) if not isinstance(workspace, Workspace) else workspace
    model = AgeModel.load(ws.forest)
    inputs = load_inputs(ws)
    table = catalog_table(inputs, model, chunk_size=chunk_size, progress=progress)
    output = ws.catalog if output is None else Path(output)
    csv_output = output.with_name(output.name.removesuffix(".fits") + ".csv.gz")
    write_catalog(table, output, csv_output)
    flags = inputs.flags
    summary = CatalogSummary(
        n_rows=len(table), n_latent=int(((flags & int(LATENT_FLAGS)) == 0).sum()),
        n_ages=int(np.isfinite(table["LogAge"]).sum()),
        flag_counts={bit.name: int(((flags & int(bit)) != 0).sum()) for bit in AgeFlag},
        output=output, csv_output=csv_output,
    )
    logger.info("%s", summary)
    return summary
