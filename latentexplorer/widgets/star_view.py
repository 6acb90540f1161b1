"""The dashboards' view of a workspace's encoded stars, and of one star at a time.

:class:`StarView` has one row per star of ``latent.h5`` with a finite latent mean, in file order
(:attr:`~StarView.apogee_id`, :attr:`~StarView.z_mean`, :meth:`~StarView.aligned`, :meth:`~StarView.label`, …);
stars absent from a product get NaN (numbers), −1 (integers) or "" (strings) there. These arrays are memory-mapped
from the workspace's column stores (``columns/``, :mod:`latentexplorer.io.columns`; :func:`prepare_columns` makes
them), so every dashboard kernel shares one copy of the survey. Its per-star accessors
(:meth:`~StarView.spectrum`, :meth:`~StarView.observed_psd`, :meth:`~StarView.age_posterior`) read what the
:class:`~latentexplorer.workspace.Workspace` holds for one star.

    >>> view = StarView("workspace/")                          # doctest: +SKIP
    >>> view.z_mean[view.index_of("2M19000000+4400000")]       # doctest: +SKIP
"""

from __future__ import annotations

import functools
import logging

import astropy.units as u
import numpy as np
from astropy.table import Table

from ..io.apogee_spectra import count_spectra_rows, spectra_file_kind
from ..io.columns import column_store
from ..io.seismic import TARGET_KEYS
from ..io.spectra_files import spectra_by_id
from ..match import id_index, match_ids, rows_in_index
from ..powerspectrum import PowerSpectrum
from ..seismo import excess_deltanu
from ..selection import OOD_FLAGS, table_column
from ..workspace import Workspace

__all__ = ["StarView", "LABELS", "DISPLAY_LIMIT", "ALIGNED", "prepare_columns"]

#: Most stars a dashboard scatter plot draws (:meth:`StarView.display_rows`): beyond this a page grows slow
#: to send and to pan.
DISPLAY_LIMIT = 20_000
#: The products :meth:`StarView.aligned` aligns to the encoded stars (each the column store ``columns/stars.NAME/``).
ALIGNED = ("allstar", "seismic", "truth", "catalog", "orbits")
#: The column of an aligned store holding each star's row in the product's file (:meth:`StarView.rows_in`).
_ROW = "_ROW"

logger = logging.getLogger(__name__)


def _aligned(table: Table, ids: np.ndarray) -> tuple[Table, np.ndarray]:
    """``(aligned, rows)``: ``table``'s rows matched on its APOGEE_ID column to ``ids``, len(ids) rows (masked
    values and absent stars become NaN (floats), −1 (integers) or "" (strings)), and the (len(ids),) int64 row
    of ``table`` each came from, −1 where absent."""
    has_ids = "APOGEE_ID" in {c.upper() for c in table.colnames}
    rows = match_ids(ids, table_column(table, "APOGEE_ID", str)) if has_ids else np.full(len(ids), -1, np.int64)
    out = Table()
    for name in table.colnames:
        kind = table[name].dtype.kind
        fill = "" if kind in "US" else (np.nan if kind == "f" else (False if kind == "b" else -1))
        values = np.ma.filled(np.ma.asarray(table[name]), fill)
        taken = values[np.clip(rows, 0, None)] if len(values) else np.full(rows.shape, fill, dtype=values.dtype)
        out[name] = np.where(rows >= 0, taken, fill) if rows.size else taken
        out[name].unit = getattr(table[name], "unit", None)
    return out, np.asarray(rows, np.int64)


class StarView:
    """The encoded stars of a workspace (see the module docstring).

    Its per-star arrays are memory-mapped column stores under the workspace's ``columns/``
    (:mod:`latentexplorer.io.columns`): ``stars/`` (APOGEE_ID, z_mean, z_std of the encoded stars) and
    ``stars.NAME/`` (product NAME aligned to them), built from the products on first use or when a product
    changed (:func:`prepare_columns` builds them all) — every kernel reading them shares one copy, and a view
    copies nothing of them.

    Parameters
    ----------
    workspace : Workspace, str or Path

    Attributes
    ----------
    workspace : Workspace
        Where the products come from (read once there, shared with whatever else uses it).
    """

    def __init__(self, workspace):
        self.workspace = Workspace.of(workspace)
        self._aligned_tables, self._aligned_stores = {}, {}

    def __repr__(self) -> str:
        return f"StarView({str(self.workspace.root)!r})"

    # --- one star at a time ----------------------------------------------------------------------
    def _pair_row(self, apogee_id: str) -> int:
        """The star's row in pairs.h5, −1 where it is not a pair (or the workspace has no pairs)."""
        ws = self.workspace
        return int(match_ids(np.array([apogee_id]), ws.columns("pairs")["APOGEE_ID"])[0]) if ws.has("pairs") else -1

    def spectrum(self, apogee_id: str) -> np.ndarray | None:
        """The star's continuum-normalised spectrum (7514,) float32, None if the workspace cannot give it
        (:meth:`spectrum_with_origin` says where it comes from)."""
        return self.spectrum_with_origin(apogee_id)[0]

    def spectrum_with_origin(self, apogee_id: str) -> tuple[np.ndarray | None, str]:
        """``(spectrum, origin)``: the star's continuum-normalised spectrum (7514,) float32 and where it came
        from — ``"pairs"`` (pairs.h5), ``"survey"`` (the survey's spectra, any format
        :func:`latentexplorer.io.spectra_files.iter_normalized_spectra` reads) or ``"truth"``: for a mock survey
        that wrote the normalised spectra of only some of its stars (the survey-sized demo), another star's
        spectrum made again from truth.fits — the spectrum it was encoded from
        (:func:`latentexplorer.mock.survey.spectra_from_truth`). ``(None, "")`` when none of them holds it."""
        ws = self.workspace
        row = self._pair_row(apogee_id)
        if row >= 0:
            return ws.pair_spectra([row])[0], "pairs"
        if ws.paths.spectra.exists():
            spectrum = spectra_by_id(ws.paths.spectra, [apogee_id])[0]
            if np.isfinite(spectrum).any():
                return spectrum, "survey"
        make = self._truth_spectra
        if make is not None:
            spectrum = make(self.rows_in("truth")[[self.index_of(apogee_id)]])[0]
            if np.isfinite(spectrum).any():
                return spectrum, "truth"
        return None, ""

    def prepare_spectra(self) -> bool:
        """Get ready to give any star's spectrum now — at page open, in the preheated pool — rather than at the
        first tap: for a mock survey that wrote the normalised spectra of only some of its stars, map its truth and
        build the mock's templates (~0.2 s). Returns whether the other stars' spectra are made again."""
        return self._truth_spectra is not None

    @functools.cached_property
    def _truth_spectra(self):
        """A :class:`~latentexplorer.mock.survey.TruthSpectra` where the survey's normalised spectra file lacks
        some of a mock's stars, else None."""
        ws = self.workspace
        if not (ws.is_mock and ws.paths.spectra.is_file() and spectra_file_kind(ws.paths.spectra) == "normalized"):
            return None
        from ..mock.survey import TruthSpectra

        try:
            make = TruthSpectra(ws.paths.truth)
        except ValueError as err:  # a truth file without the mock's seed
            logger.info("%s", err)
            return None
        if count_spectra_rows(ws.paths.spectra) >= make.n_stars:  # every spectrum is on disk
            make.close()
            return None
        return make

    def observed_psd(self, apogee_id: str):
        """The star's observed PSD (:class:`~latentexplorer.powerspectrum.PowerSpectrum`) from pairs.h5, or
        psd.h5 through its target key in the seismic catalog (KIC, then TIC); None if the workspace has none."""
        ws = self.workspace
        apogee_id = str(apogee_id).strip()
        row = self._pair_row(apogee_id)
        if row >= 0:
            pairs = ws.columns("pairs")
            return PowerSpectrum(pairs["frequency"], pairs["log_psd"][row], label=apogee_id)
        if ws.has("psd") and ws.has("seismic"):
            psd = ws.columns("psd")
            where = int(match_ids(np.array([apogee_id]), ws.seismic["APOGEE_ID"])[0])
            for key in (k for k in TARGET_KEYS if where >= 0 and k in ws.seismic.colnames):
                star_key = int(ws.seismic[key][where])
                row = int(match_ids(np.array([star_key]), psd[key.upper()])[0]) if star_key > 0 else -1
                if row >= 0 and np.isfinite(psd["log_psd"][row]).all():
                    return PowerSpectrum(psd["frequency"], psd["log_psd"][row], label=apogee_id)
        return None

    def age_posterior(self, apogee_id: str) -> np.ndarray:
        """The age model's per-tree ages (Gyr), shape (n_trees,), for the star — the values whose mean and
        standard deviation are its catalog ``Age`` and ``Age_Error`` (the same computation,
        :meth:`latentexplorer.ages.model.AgeModel.posterior`, on the star's allStar row alone); NaN where it gets
        no age.

        Raises MissingProduct without allStar, latent.h5 or forest/; ValueError for a star that is not encoded
        or not in the allStar file."""
        from ..ages.inputs import age_inputs
        from ..io.latent import LatentSet

        ws = self.workspace
        row = self.index_of(apogee_id)
        allstar = self.aligned("allstar")[[row]]
        if not str(allstar["APOGEE_ID"][0]):
            raise ValueError(f"no star {str(apogee_id).strip()!r} in {ws.paths.allstar}")
        latent = LatentSet(self.apogee_id[[row]], self.z_mean[[row]], self.z_std[[row]], np.zeros(1, np.int32),
                           self._stars["model_fingerprint"].item())
        inputs = age_inputs(allstar, latent, names=(str(ws.paths.allstar), str(ws.paths.latent)))
        return 10.0 ** ws.age_model.posterior(inputs)[0]

    # --- the encoded stars -----------------------------------------------------------------------
    @functools.cached_property
    def _stars(self):
        """The column store ``columns/stars/``: APOGEE_ID, z_mean, z_std of the encoded stars, the latent
        file's model_fingerprint (0-d), and their identifier index (:func:`~latentexplorer.match.id_index`:
        ID_KEYS sorted normalised identifiers, ID_ROWS the row of each), so a lookup sorts nothing."""
        ws = self.workspace

        def build():
            latent = Workspace(ws.root).latent  # dropped once the store is written
            good = np.isfinite(latent.z_mean).all(axis=1)
            if not good.all():
                logger.info("%d stars without a latent position left out", (~good).sum())
            keys, rows = id_index(latent.apogee_id[good])
            return {"APOGEE_ID": latent.apogee_id[good], "z_mean": latent.z_mean[good], "z_std": latent.z_std[good],
                    "model_fingerprint": np.array(latent.model_fingerprint), "ID_KEYS": keys, "ID_ROWS": rows}, {}

        return column_store(ws.paths.columns / "stars", {"latent": ws.require("latent")}, build)

    @property
    def apogee_id(self) -> np.ndarray:
        """(N,) str: the stars of latent.h5 with a finite latent mean, in file order (memory-mapped)."""
        return self._stars["APOGEE_ID"]

    @property
    def z_mean(self) -> np.ndarray:
        """(N, latent_dim) float32 latent means of :attr:`apogee_id` (memory-mapped)."""
        return self._stars["z_mean"]

    @property
    def z_std(self) -> np.ndarray:
        """(N, latent_dim) float32 latent standard deviations of :attr:`apogee_id` (memory-mapped)."""
        return self._stars["z_std"]

    @property
    def latent_dim(self) -> int:
        return self.z_mean.shape[1]

    def __len__(self) -> int:
        return len(self.apogee_id)

    def index_of(self, apogee_id: str) -> int:
        """Row of ``apogee_id`` among the encoded stars (blanks ignored); ValueError naming it if absent."""
        row = int(rows_in_index([str(apogee_id)], (self._stars["ID_KEYS"], self._stars["ID_ROWS"]))[0])
        if row < 0:
            raise ValueError(f"no star {str(apogee_id).strip()!r} in {self.workspace.paths.latent}")
        return row

    def display_rows(self, limit: int = DISPLAY_LIMIT) -> np.ndarray:
        """Rows of the encoded stars a scatter plot draws, sorted: all of them up to ``limit``, else every
        seismic star and a fixed random sample (seed 0) of the others up to ``limit`` in all."""
        n = len(self)
        if n <= limit:
            return np.arange(n)
        seismic = (np.isfinite(table_column(self.aligned("seismic"), "NUMAX")) if self.workspace.has("seismic")
                   else np.zeros(n, bool))
        chosen = np.flatnonzero(seismic)[:limit]
        others = np.flatnonzero(~seismic)
        extra = np.random.default_rng(0).choice(others, size=min(limit - chosen.size, others.size), replace=False)
        return np.sort(np.concatenate([chosen, extra]))

    def out_of_distribution(self) -> np.ndarray:
        """(N,) bool per encoded star: the catalog's AGE_FLAG says its age lies outside the age model's
        training support (:data:`~latentexplorer.selection.OOD_FLAGS`); all False without a catalog."""
        if not self.workspace.has("catalog"):
            return np.zeros(len(self), bool)
        flag = np.nan_to_num(table_column(self.aligned("catalog"), "AGE_FLAG"), nan=0).astype(np.int64)
        return (flag > 0) & ((flag & int(OOD_FLAGS)) != 0)  # −1: not in the catalog

    def aligned(self, name: str) -> Table:
        """Product ``name`` (one of :data:`ALIGNED`) with one row per encoded star (NaN, −1 or "" where a star
        is absent), units kept: a Table whose columns are the memory-mapped store ``columns/stars.NAME/``."""
        if name not in ALIGNED:
            raise ValueError(f"cannot align {name!r}: choose {', '.join(ALIGNED)}")
        if name not in self._aligned_tables:
            store = self._aligned_store(name)
            table = Table({column: store[column] for column in store if column != _ROW}, copy=False)
            for column, unit in store.units.items():
                if column != _ROW:
                    table[column].unit = None if unit is None else u.Unit(unit, parse_strict="silent")
            self._aligned_tables[name] = table
        return self._aligned_tables[name]

    def rows_in(self, name: str) -> np.ndarray:
        """(N,) int64: each encoded star's row in the file of product ``name`` (one of :data:`ALIGNED`), −1 where
        the product lacks it (memory-mapped, from the store :meth:`aligned` reads)."""
        return self._aligned_store(name)[_ROW]

    def _aligned_store(self, name: str):
        """The column store ``columns/stars.NAME/`` (opened once per view; made when missing or stale)."""
        if name not in ALIGNED:
            raise ValueError(f"cannot align {name!r}: choose {', '.join(ALIGNED)}")
        if name not in self._aligned_stores:
            ws = self.workspace

            def build():
                table, rows = _aligned(getattr(Workspace(ws.root), name), np.asarray(self.apogee_id))
                units = {c: None if table[c].unit is None else table[c].unit.to_string() for c in table.colnames}
                return {**{c: np.asarray(table[c]) for c in table.colnames}, _ROW: rows}, {**units, _ROW: None}

            sources = {"latent": ws.require("latent"), name: ws.require(name)}
            self._aligned_stores[name] = column_store(ws.paths.columns / f"stars.{name}", sources, build)
        return self._aligned_stores[name]

    def label(self, name: str) -> np.ndarray:
        """One of :data:`LABELS` for every encoded star, (N,) float (evolutionary state: 0 RGB, 1 RC, NaN
        unknown). Raises MissingProduct if the file holding it is absent, ValueError for an unknown name."""
        if name not in LABELS:
            raise ValueError(f"unknown label {name!r}; choose from {', '.join(LABELS)}")
        return LABELS[name][1](self)


def prepare_columns(workspace) -> list[str]:
    """Build (or find fresh) every column store the dashboards read from the products ``workspace`` holds —
    ``stars``, ``stars.NAME`` for each of :data:`ALIGNED`, ``pairs``, ``psd``, ``jacobians`` — so the pages'
    kernels find them made; returns the stores' names. A product that cannot be read, or a store that cannot be
    written, is left to the page that reads it to report (a warning here)."""
    ws = Workspace(Workspace.of(workspace).root)  # its products are dropped on return
    view, ready = StarView(ws), []
    stores = [("stars", lambda: view._stars, ("latent",)),
              *((f"stars.{name}", functools.partial(view.aligned, name), ("latent", name)) for name in ALIGNED),
              *((name, functools.partial(ws.columns, name), ("latent", name)) for name in ("pairs", "psd")),
              ("jacobians", functools.partial(ws.columns, "jacobians"), ("pairs", "model"))]
    for store, open_store, products in stores:
        if not all(ws.has(product) for product in products):
            continue
        try:
            open_store()
        except (OSError, ValueError) as err:  # e.g. a read-only workspace without its stores
            logger.warning("column store %s not made: %s", store, err)
            continue
        ready.append(store)
    return ready


def _excess_deltanu(view: StarView) -> np.ndarray:
    seismic = view.aligned("seismic")
    return excess_deltanu(table_column(seismic, "DNU"), table_column(seismic, "NUMAX"))


def _evolstate(view: StarView) -> np.ndarray:
    state = table_column(view.aligned("seismic"), "EVOLSTATE", str)
    return np.select([state == "RGB", state == "RC"], [0.0, 1.0], np.nan)


#: Per-star labels to colour by: name → (axis label with units, function of StarView → (N,) float).
LABELS = {
    "numax": ("ν_max (μHz)", lambda view: table_column(view.aligned("seismic"), "NUMAX")),
    "excess_deltanu": ("excess Δν (μHz)", _excess_deltanu),
    "evolstate": ("evolutionary state (0 RGB, 1 RC)", _evolstate),
    "fe_h": ("[Fe/H] (dex)", lambda view: table_column(view.aligned("allstar"), "FE_H")),
    "alpha_m": ("[α/M] (dex)", lambda view: table_column(view.aligned("allstar"), "ALPHA_M")),
    "age": ("age (Gyr, 10**LogAge)", lambda view: 10.0 ** table_column(view.aligned("catalog"), "LogAge")),
}
