"""The dashboards' view of a workspace's encoded stars, and of one star at a time.

:class:`StarView` has one row per star of ``latent.h5`` with a finite latent mean, in file order
(:attr:`~StarView.apogee_id`, :attr:`~StarView.z_mean`, :meth:`~StarView.aligned`, :meth:`~StarView.label`, …);
stars absent from a product get NaN (numbers), −1 (integers) or "" (strings) there. Its per-star accessors
(:meth:`~StarView.spectrum`, :meth:`~StarView.observed_psd`, :meth:`~StarView.age_posterior`) read what the
:class:`~latentexplorer.workspace.Workspace` holds for one star.

    >>> view = StarView("workspace/")                          # doctest: +SKIP
    >>> view.z_mean[view.index_of("2M19000000+4400000")]       # doctest: +SKIP
"""

from __future__ import annotations

import functools
import logging

import numpy as np
from astropy.table import Table

from ..io.seismic import TARGET_KEYS
from ..io.spectra_files import spectra_by_id
from ..match import match_ids
from ..powerspectrum import PowerSpectrum
from ..seismo import excess_deltanu
from ..selection import OOD_FLAGS, table_column
from ..workspace import Workspace

__all__ = ["StarView", "LABELS", "DISPLAY_LIMIT"]

#: Most stars a dashboard scatter plot draws (:meth:`StarView.display_rows`): beyond this a page grows slow
#: to send and to pan.
DISPLAY_LIMIT = 20_000

logger = logging.getLogger(__name__)


def _aligned(table: Table, ids: np.ndarray) -> Table:
    """``table``'s rows matched on its APOGEE_ID column to ``ids``: len(ids) rows; masked values and absent
    stars become NaN (floats), −1 (integers) or "" (strings)."""
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
    return out


class StarView:
    """The encoded stars of a workspace (see the module docstring).

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
        self._aligned_tables = {}

    def __repr__(self) -> str:
        return f"StarView({str(self.workspace.root)!r})"

    # --- one star at a time ----------------------------------------------------------------------
    def _pair_row(self, apogee_id: str) -> int:
        """The star's row in pairs.h5, −1 where it is not a pair (or the workspace has no pairs)."""
        ws = self.workspace
        return int(match_ids(np.array([apogee_id]), ws.pairs.apogee_id)[0]) if ws.has("pairs") else -1

    def spectrum(self, apogee_id: str) -> np.ndarray | None:
        """The star's continuum-normalised spectrum (7514,) float32, from pairs.h5 or the survey's spectra
        (any format :func:`latentexplorer.io.spectra_files.iter_normalized_spectra` reads); None if neither
        holds it."""
        ws = self.workspace
        row = self._pair_row(apogee_id)
        if row >= 0:
            return ws.pair_spectra([row])[0]
        if not ws.paths.spectra.exists():
            return None
        spectrum = spectra_by_id(ws.paths.spectra, [apogee_id])[0]
        return spectrum if np.isfinite(spectrum).any() else None

    def observed_psd(self, apogee_id: str):
        """The star's observed PSD (:class:`~latentexplorer.powerspectrum.PowerSpectrum`) from pairs.h5, or
        psd.h5 through its target key in the seismic catalog (KIC, then TIC); None if the workspace has none."""
        ws = self.workspace
        apogee_id = str(apogee_id).strip()
        row = self._pair_row(apogee_id)
        if row >= 0:
            return PowerSpectrum(ws.pairs.frequency, ws.pairs.log_psd[row], label=apogee_id)
        if ws.has("psd") and ws.has("seismic"):
            where = int(match_ids(np.array([apogee_id]), ws.seismic["APOGEE_ID"])[0])
            for key in (k for k in TARGET_KEYS if where >= 0 and k in ws.seismic.colnames):
                star_key = int(ws.seismic[key][where])
                row = int(match_ids(np.array([star_key]), getattr(ws.psd, key.lower()))[0]) if star_key > 0 else -1
                if row >= 0 and np.isfinite(ws.psd.log_psd[row]).all():
                    return PowerSpectrum(ws.psd.frequency, ws.psd.log_psd[row], label=apogee_id)
        return None

    def age_posterior(self, apogee_id: str) -> np.ndarray:
        """The age model's per-tree ages (Gyr), shape (n_trees,), for the star — the values whose mean and
        standard deviation are its catalog ``Age`` and ``Age_Error`` (the same computation,
        :meth:`latentexplorer.ages.model.AgeModel.posterior`); NaN where it gets no age.

        Raises MissingProduct without allStar, latent.h5 or forest/; ValueError for an unknown star."""
        ws = self.workspace
        inputs = ws.age_inputs
        row = int(match_ids(np.array([str(apogee_id).strip()]), inputs.apogee_id)[0])
        if row < 0:
            raise ValueError(f"no star {str(apogee_id).strip()!r} in {ws.paths.allstar}")
        return 10.0 ** ws.age_model.posterior(inputs.take([row]))[0]

    # --- the encoded stars -----------------------------------------------------------------------
    @functools.cached_property
    def _encoded(self) -> np.ndarray:
        good = np.isfinite(self.workspace.latent.z_mean).all(axis=1)
        if not good.all():
            logger.info("%d stars without a latent position left out", (~good).sum())
        return np.flatnonzero(good)

    @property
    def apogee_id(self) -> np.ndarray:
        """(N,) str: the stars of latent.h5 with a finite latent mean, in file order."""
        return self.workspace.latent.apogee_id[self._encoded]

    @property
    def z_mean(self) -> np.ndarray:
        """(N, latent_dim) float32 latent means of :attr:`apogee_id`."""
        return self.workspace.latent.z_mean[self._encoded]

    @property
    def z_std(self) -> np.ndarray:
        """(N, latent_dim) float32 latent standard deviations of :attr:`apogee_id`."""
        return self.workspace.latent.z_std[self._encoded]

    @property
    def latent_dim(self) -> int:
        return self.workspace.latent.latent_dim

    def __len__(self) -> int:
        return self._encoded.size

    def index_of(self, apogee_id: str) -> int:
        """Row of ``apogee_id`` among the encoded stars (blanks ignored); ValueError naming it if absent."""
        row = int(match_ids(np.array([str(apogee_id).strip()]), self.apogee_id)[0])
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
        """Product ``name`` ('allstar', 'seismic', 'truth', 'catalog', 'orbits') with one row per encoded
        star (NaN, −1 or "" where a star is absent); computed once."""
        if name not in ("allstar", "seismic", "truth", "catalog", "orbits"):
            raise ValueError(f"cannot align {name!r}: choose allstar, seismic, truth, catalog or orbits")
        if name not in self._aligned_tables:
            self._aligned_tables[name] = _aligned(getattr(self.workspace, name), self.apogee_id)
        return self._aligned_tables[name]

    def label(self, name: str) -> np.ndarray:
        """One of :data:`LABELS` for every encoded star, (N,) float (evolutionary state: 0 RGB, 1 RC, NaN
        unknown). Raises MissingProduct if the file holding it is absent, ValueError for an unknown name."""
        if name not in LABELS:
            raise ValueError(f"unknown label {name!r}; choose from {', '.join(LABELS)}")
        return LABELS[name][1](self)


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
