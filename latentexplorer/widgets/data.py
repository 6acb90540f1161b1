"""A workspace loaded into memory for the dashboards: one row per encoded star, products read once.

:class:`WorkspaceData` reads ``latent.h5`` eagerly (the dashboards all start from the latent space) and
everything else on first use, caching it: the allStar labels, the seismic catalog, the observed PSDs, the
training pairs, the encoder-decoder, the age forest, the catalog and the orbits. A product that is not
in the workspace raises :class:`MissingProduct`, whose message names the file and the command that
makes it, so a dashboard can show a clear panel instead of a traceback.

Every per-star array is aligned with :attr:`WorkspaceData.apogee_id` (the order of ``latent.h5``);
stars absent from a product get NaN (numbers) or "" (strings).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from astropy.table import Table

from ..workspace import Workspace

log = logging.getLogger(__name__)

__all__ = ["MissingProduct", "WorkspaceData", "StarSpectra", "load_workspace", "match_ids"]

#: Which command writes each product (for the messages of :class:`MissingProduct`).
PRODUCT_COMMANDS = {
    "latent": "latentexplorer encode",
    "allstar": "latentexplorer simulate (or your allStar file in survey/)",
    "seismic": "latentexplorer simulate (or your seismic catalog in survey/)",
    "psd": "latentexplorer psd",
    "pairs": "latentexplorer pairs",
    "model": "latentexplorer train",
    "forest": "latentexplorer ages",
    "catalog": "latentexplorer catalog",
    "orbits": "latentexplorer orbits",
}


class MissingProduct(FileNotFoundError):
    """A workspace product a dashboard needs is not there; the message says which and how to make it."""

    def __init__(self, workspace: Workspace, name: str):
        self.name = name
        path = getattr(workspace, name)
        super().__init__(f"{path.name} is missing from the workspace {workspace.root}: "
                         f"run `{PRODUCT_COMMANDS[name]}` to make it")


def match_ids(ids, reference) -> np.ndarray:
    """Row of each of ``ids`` in ``reference`` (both 1-D arrays of str or int), −1 where absent.

    Returns
    -------
    numpy.ndarray of int64, shape ``ids.shape``. The first occurrence wins if ``reference`` repeats an id.
    """
    ids, reference = np.asarray(ids), np.asarray(reference)
    if reference.size == 0:
        return np.full(ids.shape, -1, dtype=np.int64)
    unique, first = np.unique(reference, return_index=True)
    pos = np.clip(np.searchsorted(unique, ids), 0, unique.size - 1)
    return np.where(unique[pos] == ids, first[pos], -1).astype(np.int64)


def _take(values, rows, fill):
    """``values[rows]`` with ``fill`` where ``rows`` is −1."""
    values = np.asarray(values)
    out = values[np.clip(rows, 0, None)] if values.size else np.full(rows.shape, fill, dtype=values.dtype)
    return np.where(rows >= 0, out, fill)


def _column(table: Table, name: str, dtype=float) -> np.ndarray:
    """A column by case-insensitive name as a plain array (masked → NaN for floats)."""
    by_upper = {c.upper(): c for c in table.colnames}
    column = table[by_upper[name.upper()]]
    if dtype is str:
        return np.char.strip(np.asarray(column).astype(str))
    return np.ma.filled(np.ma.asarray(column, dtype=dtype), np.nan)


def _aligned(table: Table, ids: np.ndarray) -> Table:
    """``table``'s rows matched on its APOGEE_ID column to ``ids``: len(ids) rows; masked values and absent
    stars become NaN (floats), −1 (integers) or "" (strings)."""
    rows = match_ids(ids, _column(table, "APOGEE_ID", str)) if "APOGEE_ID" in {c.upper() for c in table.colnames} \
        else np.full(len(ids), -1, dtype=np.int64)
    out = Table()
    for name in table.colnames:
        kind = table[name].dtype.kind
        fill = "" if kind in "US" else (np.nan if kind == "f" else -1)
        values = np.ma.filled(np.ma.asarray(table[name]), fill if kind != "b" else False)
        out[name] = _take(values, rows, fill)
    return out


@dataclass(frozen=True)
class StarSpectra:
    """The training pairs of the Kepler stars: spectra, observed PSDs and seismic labels.

    apogee_id (n,) str; spectra (n, 7514) float32 continuum-normalised; log_psd (n, k) float32;
    frequency (k,) μHz; numax (n,) μHz; evolstate (n,) 'RGB'/'RC'/''.
    """

    apogee_id: np.ndarray
    spectra: np.ndarray
    log_psd: np.ndarray
    frequency: np.ndarray
    numax: np.ndarray
    evolstate: np.ndarray


class WorkspaceData:
    """The products of one workspace, read on first use.

    Parameters
    ----------
    workspace : str, Path or Workspace

    Attributes
    ----------
    workspace : Workspace
    apogee_id : (N,) str, the stars of ``latent.h5`` with a finite latent mean, in file order
    z_mean, z_std : (N, latent_dim) float32 latent means and standard deviations

    Raises
    ------
    MissingProduct
        If ``latent.h5`` is not in the workspace.
    """

    def __init__(self, workspace):
        self.workspace = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
        if not self.workspace.latent.exists():
            raise MissingProduct(self.workspace, "latent")
        with h5py.File(self.workspace.latent, "r") as f:
            ids = f["APOGEE_ID"].asstr()[()].astype(str)
            z_mean, z_std = f["z_mean"][()].astype(np.float32), f["z_std"][()].astype(np.float32)
        good = np.isfinite(z_mean).all(axis=1)
        self.apogee_id, self.z_mean, self.z_std = ids[good], z_mean[good], z_std[good]
        if not good.all():
            log.info("%d stars without a latent position left out", (~good).sum())

    def __repr__(self):
        return f"WorkspaceData({str(self.workspace.root)!r}, {len(self)} stars, latent_dim={self.latent_dim})"

    def __len__(self) -> int:
        return self.apogee_id.size

    @property
    def latent_dim(self) -> int:
        return self.z_mean.shape[1]

    def has(self, name: str) -> bool:
        """Whether the workspace holds the product ``name`` (a :class:`Workspace` attribute)."""
        return getattr(self.workspace, name).exists()

    def _require(self, name: str) -> Path:
        if not self.has(name):
            raise MissingProduct(self.workspace, name)
        return getattr(self.workspace, name)

    def index_of(self, apogee_id: str) -> int:
        """Row of ``apogee_id`` (surrounding blanks ignored); ValueError naming it if it is not encoded."""
        row = int(match_ids(np.array([str(apogee_id).strip()]), self.apogee_id)[0])
        if row < 0:
            raise ValueError(f"no star {str(apogee_id).strip()!r} in {self.workspace.latent}")
        return row

    # --- per-star labels ----------------------------------------------------------------------
    @functools.cached_property
    def allstar(self) -> Table:
        """allStar rows of the encoded stars (Table, N rows; absent stars have NaN and empty strings)."""
        from ..io.allstar import read_allstar

        return _aligned(read_allstar(self._require("allstar")), self.apogee_id)

    @functools.cached_property
    def seismic(self) -> Table:
        """Seismic catalog rows of the encoded stars (NUMAX, DNU μHz, EVOLSTATE, AGE Gyr…; NaN/'' if absent)."""
        from ..io.seismic import read_seismic_catalog

        return _aligned(read_seismic_catalog(self._require("seismic")), self.apogee_id)

    @functools.cached_property
    def catalog(self) -> Table:
        """The age catalog's rows of the encoded stars (matched on APOGEE_ID; NaN where absent)."""
        return _aligned(Table.read(self._require("catalog"), hdu=1), self.apogee_id)

    @functools.cached_property
    def orbits(self) -> Table:
        """Orbit parameters of the encoded stars (R, phi, z kpc/rad, …, FLAG; NaN and FLAG −1 where absent)."""
        return _aligned(Table.read(self._require("orbits"), hdu=1), self.apogee_id)

    def label(self, name: str) -> np.ndarray:
        """One of :data:`LABELS` for every star, (N,) float (evolutionary state: 0 RGB, 1 RC, NaN unknown).

        Raises MissingProduct if the file holding it is absent, ValueError for an unknown name.
        """
        if name not in LABELS:
            raise ValueError(f"unknown label {name!r}; choose from {', '.join(LABELS)}")
        return LABELS[name][1](self)

    # --- arrays for the plots -----------------------------------------------------------------
    @functools.cached_property
    def pairs(self) -> StarSpectra:
        """The training pairs (Kepler stars with a spectrum and an observed PSD), read whole."""
        with h5py.File(self._require("pairs"), "r") as f:
            n = f["spectra"].shape[0]
            text = {k: f[k].asstr()[()].astype(str) if k in f else np.full(n, "") for k in ("APOGEE_ID", "evolstate")}
            return StarSpectra(text["APOGEE_ID"], f["spectra"][()].astype(np.float32),
                               f["log_psd"][()].astype(np.float32), f["frequency"][()].astype(float),
                               f["numax"][()].astype(float), text["evolstate"])

    @functools.cached_property
    def psd(self):
        """The observed PSDs (:class:`latentexplorer.io.psdfile.PSDSet`)."""
        from ..io.psdfile import read_psd_file

        return read_psd_file(self._require("psd"))

    def observed_psd(self, apogee_id: str) -> np.ndarray | None:
        """The star's observed log PSD (k,) on :attr:`frequency`, from pairs.h5 or psd.h5 via its KIC; None if none."""
        if self.has("pairs"):
            row = int(match_ids(np.array([apogee_id]), self.pairs.apogee_id)[0])
            if row >= 0:
                return self.pairs.log_psd[row]
        if self.has("psd") and self.has("seismic") and "KIC" in self.seismic.colnames:
            kic = int(self.seismic["KIC"][self.index_of(apogee_id)])
            row = int(match_ids(np.array([kic]), self.psd.kic)[0]) if kic >= 0 else -1
            if row >= 0 and np.isfinite(self.psd.log_psd[row]).all():
                return self.psd.log_psd[row]
        return None

    def spectrum(self, apogee_id: str) -> np.ndarray | None:
        """The star's continuum-normalised spectrum (7514,) float32, from pairs.h5 or the survey's spectra.

        Returns None when the workspace has no spectrum for it.
        """
        if self.has("pairs"):
            row = int(match_ids(np.array([apogee_id]), self.pairs.apogee_id)[0])
            if row >= 0:
                return self.pairs.spectra[row]
        return _survey_spectrum(self.workspace.spectra, apogee_id)

    @functools.cached_property
    def model(self):
        """The encoder-decoder (:class:`latentexplorer.ved.VariationalEncoderDecoder`)."""
        from ..ved import VariationalEncoderDecoder

        return VariationalEncoderDecoder.load(self._require("model"))

    @property
    def frequency(self) -> np.ndarray:
        """The PSD frequency grid (k,) μHz of the model."""
        return self.model.frequency

    @functools.cached_property
    def forest(self):
        """The age forest (:class:`latentexplorer.forest.ProbabilisticRandomForestRegressor`) of ``forest/``;
        its inputs are z0…z{k-1}, TEFF, FE_H (:mod:`latentexplorer.ages`)."""
        from ..ages import AgeModel

        return AgeModel.load(self._require("forest")).regressor


def _survey_spectrum(path: Path, apogee_id: str) -> np.ndarray | None:
    """One normalised spectrum from a stacked spectra file or an apStar directory, None if absent."""
    from ..io.apogee_spectra import apogee_id_from_filename, read_apstar, read_stacked_spectra
    from ..spectra import gap_delete, normalize_spectra

    if path.is_dir():
        files = [p for p in path.glob(f"*{apogee_id}*.fits*") if apogee_id_from_filename(p) == apogee_id]
        if not files:
            return None
        spec = read_apstar(files[0])
        return normalize_spectra(gap_delete(spec.flux), None if spec.flux_err is None else gap_delete(spec.flux_err),
                                 None if spec.bitmask is None else gap_delete(spec.bitmask))[0]
    if not path.is_file():
        return None
    with h5py.File(path, "r") as f:
        row = int(match_ids(np.array([apogee_id]), f["APOGEE_ID"].asstr()[()].astype(str))[0])
    if row < 0:
        return None
    chunk = read_stacked_spectra(path, row, row + 1)
    return normalize_spectra(chunk.flux, chunk.flux_err, chunk.bitmask)[0]


def _seismic_numax(data: WorkspaceData) -> np.ndarray:
    return _column(data.seismic, "NUMAX")


def _excess_deltanu(data: WorkspaceData) -> np.ndarray:
    from ..seismo import excess_deltanu

    return excess_deltanu(_column(data.seismic, "DNU"), _column(data.seismic, "NUMAX"))


def _evolstate(data: WorkspaceData) -> np.ndarray:
    state = _column(data.seismic, "EVOLSTATE", str) if "EVOLSTATE" in data.seismic.colnames else np.full(len(data), "")
    return np.select([state == "RGB", state == "RC"], [0.0, 1.0], np.nan)


def _catalog_age(data: WorkspaceData) -> np.ndarray:
    return _column(data.catalog, "Age")


#: Labels the dashboards colour by: name → (axis label with units, function of WorkspaceData → (N,) float).
LABELS = {
    "numax": ("ν_max (μHz)", _seismic_numax),
    "excess_deltanu": ("excess Δν (μHz)", _excess_deltanu),
    "evolstate": ("evolutionary state (0 RGB, 1 RC)", _evolstate),
    "fe_h": ("[Fe/H] (dex)", lambda d: _column(d.allstar, "FE_H")),
    "alpha_m": ("[α/M] (dex)", lambda d: _column(d.allstar, "ALPHA_M")),
    "age": ("age (Gyr)", _catalog_age),
}


@functools.lru_cache(maxsize=4)
def load_workspace(path) -> WorkspaceData:
    """:class:`WorkspaceData` for ``path``, shared by every dashboard of the same process (cached)."""
    return WorkspaceData(Path(path).expanduser().resolve())
