"""A workspace: one directory per run holding every product of the pipeline (see docs/architecture.md).

:class:`Workspace` is the library's view of it, shared by the CLI steps, the report, the notebooks and
the dashboards: its :attr:`~Workspace.paths`, and each product read on first use through its reader in
:mod:`latentexplorer.io` and cached — the allStar and seismic catalogs, the PSDs, the training pairs, the
encoder-decoder and its training record, the latent file, the age model, the catalog and the orbits. A
product that is not there raises :class:`MissingProduct`, whose message names the file and the command
that makes it.

The per-star view (:attr:`~Workspace.apogee_id`, :attr:`~Workspace.z_mean`, :meth:`~Workspace.aligned`,
:meth:`~Workspace.label`, …) has one row per star of ``latent.h5`` with a finite latent mean, in file
order; stars absent from a product get NaN (numbers), −1 (integers) or "" (strings) there.

    >>> ws = Workspace("workspace/")                       # doctest: +SKIP
    >>> ws.catalog["Age"], ws.model.decode(ws.z_mean[:3])  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Table

from .match import match_ids

__all__ = ["WorkspacePaths", "Workspace", "MissingProduct", "PRODUCT_COMMANDS", "LABELS", "DISPLAY_LIMIT"]

#: Most stars a dashboard scatter plot draws (:meth:`Workspace.display_rows`): beyond this a page grows slow
#: to send and to pan.
DISPLAY_LIMIT = 20_000

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkspacePaths:
    """Paths of a workspace rooted at ``root``.

    survey/ (allStar.fits, seismic.fits, spectra.h5 or apStar/, kepler/), truth.fits (mock only),
    psd.h5, pairs.h5, model/, latent.h5, forest/, catalog.fits (+ catalog.csv.gz), orbits.fits, report/.
    """

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root).expanduser())

    survey = property(lambda self: self.root / "survey")
    allstar = property(lambda self: self.survey / "allStar.fits")
    seismic = property(lambda self: self.survey / "seismic.fits")
    kepler = property(lambda self: self.survey / "kepler")
    truth = property(lambda self: self.root / "truth.fits")
    psd = property(lambda self: self.root / "psd.h5")
    pairs = property(lambda self: self.root / "pairs.h5")
    model = property(lambda self: self.root / "model")
    latent = property(lambda self: self.root / "latent.h5")
    forest = property(lambda self: self.root / "forest")
    catalog = property(lambda self: self.root / "catalog.fits")
    catalog_csv = property(lambda self: self.root / "catalog.csv.gz")
    orbits = property(lambda self: self.root / "orbits.fits")
    report = property(lambda self: self.root / "report")

    @property
    def spectra(self) -> Path:
        """The survey's spectra: the HDF5 ``spectra.h5`` if present, else the ``apStar/`` directory."""
        stacked = self.survey / "spectra.h5"
        return stacked if stacked.exists() else self.survey / "apStar"

    def sources(self, *names: str) -> list[Path]:
        """The named products' paths (attribute names, e.g. "latent", "forest") that exist, in that order."""
        return [getattr(self, name) for name in names if getattr(self, name).exists()]

    def missing(self, *names: str) -> list[str]:
        """Which of the named products (attribute names, e.g. "catalog", "model") do not exist yet."""
        return [name for name in names if not getattr(self, name).exists()]


#: Which command writes each product (for the messages of :class:`MissingProduct`).
PRODUCT_COMMANDS = {
    "latent": "latentexplorer encode",
    "allstar": "latentexplorer simulate (or your allStar file in survey/)",
    "seismic": "latentexplorer simulate (or your seismic catalog in survey/)",
    "truth": "latentexplorer simulate (mock surveys only)",
    "spectra": "latentexplorer simulate (or your spectra in survey/)",
    "psd": "latentexplorer psd",
    "pairs": "latentexplorer pairs",
    "model": "latentexplorer train",
    "forest": "latentexplorer ages",
    "catalog": "latentexplorer catalog",
    "orbits": "latentexplorer orbits",
}


class MissingProduct(FileNotFoundError):
    """A workspace product is not there; the message says which file and how to make it."""

    def __init__(self, paths: WorkspacePaths, name: str):
        self.name = name
        path = getattr(paths, name)
        super().__init__(f"{path.name} is missing from the workspace {paths.root}: "
                         f"run `{PRODUCT_COMMANDS[name]}` to make it")


def _column(table: Table, name: str, dtype=float) -> np.ndarray:
    """A column by case-insensitive name as a plain array (masked → NaN for floats, stripped strings)."""
    by_upper = {c.upper(): c for c in table.colnames}
    column = table[by_upper[name.upper()]]
    if dtype is str:
        return np.char.strip(np.asarray(column).astype(str))
    return np.ma.filled(np.ma.asarray(column, dtype=dtype), np.nan)


def _aligned(table: Table, ids: np.ndarray) -> Table:
    """``table``'s rows matched on its APOGEE_ID column to ``ids``: len(ids) rows; masked values and absent
    stars become NaN (floats), −1 (integers) or "" (strings)."""
    has_ids = "APOGEE_ID" in {c.upper() for c in table.colnames}
    rows = match_ids(ids, _column(table, "APOGEE_ID", str)) if has_ids else np.full(len(ids), -1, np.int64)
    out = Table()
    for name in table.colnames:
        kind = table[name].dtype.kind
        fill = "" if kind in "US" else (np.nan if kind == "f" else (False if kind == "b" else -1))
        values = np.ma.filled(np.ma.asarray(table[name]), fill)
        taken = values[np.clip(rows, 0, None)] if len(values) else np.full(rows.shape, fill, dtype=values.dtype)
        out[name] = np.where(rows >= 0, taken, fill) if rows.size else taken
        out[name].unit = getattr(table[name], "unit", None)
    return out


class Workspace:
    """The products of one workspace, read on first use (see the module docstring).

    Parameters
    ----------
    root : str or Path (or a Workspace, returned as it is by :meth:`of`)

    Attributes
    ----------
    paths : WorkspacePaths
    root : Path
    """

    def __init__(self, root):
        self.paths = WorkspacePaths(root)
        self.root = self.paths.root
        self._aligned_tables = {}

    @classmethod
    def of(cls, workspace) -> Workspace:
        """``workspace`` if it is a Workspace, else a new one rooted there."""
        return workspace if isinstance(workspace, Workspace) else cls(workspace)

    def __repr__(self) -> str:
        held = [name for name in PRODUCT_COMMANDS if name != "spectra" and self.has(name)]
        return f"Workspace({str(self.root)!r}: {', '.join(held) or 'empty'})"

    def has(self, name: str) -> bool:
        """Whether the workspace holds the product ``name`` (a :class:`WorkspacePaths` attribute)."""
        return getattr(self.paths, name).exists()

    def require(self, name: str) -> Path:
        """The path of product ``name``; :class:`MissingProduct` if it is not there."""
        if not self.has(name):
            raise MissingProduct(self.paths, name)
        return getattr(self.paths, name)

    def stale_products(self) -> list:
        """The products made from inputs that changed since (re-simulated survey, retrained model, …): a list of
        :class:`~latentexplorer.io.provenance.StaleProduct`, empty when everything matches what it was made from.
        Read anew on each call."""
        from .io.provenance import stale_products

        return stale_products(self.root)

    @property
    def is_mock(self) -> bool:
        """Whether this is a mock survey's workspace (it has the truth)."""
        return self.has("truth")

    # --- products, as written ------------------------------------------------------------------
    @functools.cached_property
    def allstar(self) -> Table:
        """The allStar rows (file order), the columns the package uses (−9999 → NaN)."""
        from .io.allstar import allstar_columns, read_allstar
        from .selection import ALLSTAR_USED

        path = self.require("allstar")
        present = allstar_columns(path)
        return read_allstar(path, [c for c in ALLSTAR_USED if c in present])

    @functools.cached_property
    def seismic(self) -> Table:
        """The seismic catalog (standard column names: KIC, APOGEE_ID, NUMAX, DNU μHz, EVOLSTATE, AGE Gyr…)."""
        from .io.seismic import read_seismic_catalog

        return read_seismic_catalog(self.require("seismic"))

    @functools.cached_property
    def truth(self) -> Table:
        """A mock survey's true parameters, one row per star."""
        from .io.truth import read_truth

        return read_truth(self.require("truth"))

    @functools.cached_property
    def psd(self):
        """The observed PSDs (:class:`latentexplorer.io.psdfile.PSDSet`)."""
        from .io.psdfile import read_psd_file

        return read_psd_file(self.require("psd"))

    @functools.cached_property
    def pairs(self):
        """The training pairs (:class:`latentexplorer.io.pairs.PairsSet`) without their spectra, which stay on
        disk (:meth:`pair_spectra`)."""
        from .io.pairs import read_pairs

        return read_pairs(self.require("pairs"), spectra=False)

    def held_out_pair_rows(self) -> np.ndarray:
        """Sorted rows of :attr:`pairs` the encoder-decoder never took a gradient step on: those not among the
        training pairs of its training record — its validation pairs when it was trained on this workspace,
        every pair when it was trained on another survey (the reference model). FileNotFoundError without a
        training record."""
        return np.flatnonzero(~np.isin(self.pairs.apogee_id, self.training_record.train_ids))

    def pair_spectra(self, rows) -> np.ndarray:
        """Spectra (m, 7514) float32 of the pairs at ``rows`` (indices into :attr:`pairs`, any order), read
        from pairs.h5."""
        from .io.pairs import read_pairs

        rows = np.asarray(rows, dtype=np.int64)
        order = np.argsort(rows)
        unique, inverse = np.unique(rows[order], return_inverse=True)
        spectra = read_pairs(self.require("pairs"), rows=unique).spectra[inverse]
        out = np.empty_like(spectra)
        out[order] = spectra
        return out

    @functools.cached_property
    def model(self):
        """The encoder-decoder (:class:`latentexplorer.ved.VariationalEncoderDecoder`, TensorFlow; for
        inference alone :attr:`engine` is lighter)."""
        from .ved import VariationalEncoderDecoder

        return VariationalEncoderDecoder.load(self.require("model"))

    @functools.cached_property
    def engine(self):
        """The encoder-decoder's forward passes in numpy, without TensorFlow
        (:class:`latentexplorer.ved.engine.InferenceEngine`): what the dashboards use."""
        from .ved.engine import InferenceEngine

        return InferenceEngine.load(self.require("model"))

    @property
    def frequency(self) -> np.ndarray:
        """The PSD frequency grid (k,) μHz of the encoder-decoder."""
        return self.engine.frequency

    @functools.cached_property
    def training_record(self):
        """Which pairs the encoder-decoder trained on (:class:`~latentexplorer.ved.record.TrainingRecord`)."""
        from .ved.record import read_training_record

        return read_training_record(self.require("model"))

    @functools.cached_property
    def latent(self):
        """The latent file (:class:`latentexplorer.io.latent.LatentSet`), every row in file order."""
        from .io.latent import read_latent

        return read_latent(self.require("latent"))

    @functools.cached_property
    def age_model(self):
        """The age forest and RC/RGB classifier (:class:`latentexplorer.ages.model.AgeModel`)."""
        from .ages.model import AgeModel

        return AgeModel.load(self.require("forest"))

    @functools.cached_property
    def catalog(self) -> Table:
        """The age catalog (row-matched to allStar; :mod:`latentexplorer.io.catalog`)."""
        from .io.catalog import read_catalog

        return read_catalog(self.require("catalog"))

    @functools.cached_property
    def orbits(self) -> Table:
        """Orbit parameters (:mod:`latentexplorer.io.orbits`)."""
        from .io.orbits import read_orbits

        return read_orbits(self.require("orbits"))

    @functools.cached_property
    def age_inputs(self):
        """The age model's inputs for every allStar row (:class:`latentexplorer.selection.AgeInputs`)."""
        from .selection import age_inputs

        return age_inputs(self.allstar, self.latent, names=(str(self.paths.allstar), str(self.paths.latent)))

    # --- one star at a time ----------------------------------------------------------------------
    def spectrum(self, apogee_id: str) -> np.ndarray | None:
        """The star's continuum-normalised spectrum (7514,) float32, from pairs.h5 or the survey's spectra
        (any format :func:`latentexplorer.spectra.iter_normalized_spectra` reads); None if neither holds it."""
        from .spectra import spectra_by_id

        if self.has("pairs"):
            row = int(match_ids(np.array([apogee_id]), self.pairs.apogee_id)[0])
            if row >= 0:
                return self.pair_spectra([row])[0]
        if not self.paths.spectra.exists():
            return None
        spectrum = spectra_by_id(self.paths.spectra, [apogee_id])[0]
        return spectrum if np.isfinite(spectrum).any() else None

    def observed_psd(self, apogee_id: str):
        """The star's observed PSD (:class:`~latentexplorer.powerspectrum.PowerSpectrum`) from pairs.h5, or
        psd.h5 through its target key in the seismic catalog (KIC, then TIC); None if the workspace has none."""
        from .io.seismic import TARGET_KEYS
        from .powerspectrum import PowerSpectrum

        apogee_id = str(apogee_id).strip()
        if self.has("pairs"):
            row = int(match_ids(np.array([apogee_id]), self.pairs.apogee_id)[0])
            if row >= 0:
                return PowerSpectrum(self.pairs.frequency, self.pairs.log_psd[row], label=apogee_id)
        if self.has("psd") and self.has("seismic"):
            where = int(match_ids(np.array([apogee_id]), self.seismic["APOGEE_ID"])[0])
            for key in (k for k in TARGET_KEYS if where >= 0 and k in self.seismic.colnames):
                star_key = int(self.seismic[key][where])
                row = int(match_ids(np.array([star_key]), getattr(self.psd, key.lower()))[0]) if star_key > 0 else -1
                if row >= 0 and np.isfinite(self.psd.log_psd[row]).all():
                    return PowerSpectrum(self.psd.frequency, self.psd.log_psd[row], label=apogee_id)
        return None

    def age_posterior(self, apogee_id: str) -> np.ndarray:
        """The age model's per-tree ages (Gyr), shape (n_trees,), for the star — the values whose mean and
        standard deviation are its catalog ``Age`` and ``Age_Error`` (the same computation,
        :meth:`latentexplorer.ages.model.AgeModel.posterior`); NaN where it gets no age.

        Raises MissingProduct without allStar, latent.h5 or forest/; ValueError for an unknown star."""
        inputs = self.age_inputs
        row = int(match_ids(np.array([str(apogee_id).strip()]), inputs.apogee_id)[0])
        if row < 0:
            raise ValueError(f"no star {str(apogee_id).strip()!r} in {self.paths.allstar}")
        return 10.0 ** self.age_model.posterior(inputs.take([row]))[0]

    # --- the encoded stars -----------------------------------------------------------------------
    @functools.cached_property
    def _encoded(self) -> np.ndarray:
        good = np.isfinite(self.latent.z_mean).all(axis=1)
        if not good.all():
            logger.info("%d stars without a latent position left out", (~good).sum())
        return np.flatnonzero(good)

    @property
    def apogee_id(self) -> np.ndarray:
        """(N,) str: the stars of latent.h5 with a finite latent mean, in file order."""
        return self.latent.apogee_id[self._encoded]

    @property
    def z_mean(self) -> np.ndarray:
        """(N, latent_dim) float32 latent means of :attr:`apogee_id`."""
        return self.latent.z_mean[self._encoded]

    @property
    def z_std(self) -> np.ndarray:
        """(N, latent_dim) float32 latent standard deviations of :attr:`apogee_id`."""
        return self.latent.z_std[self._encoded]

    @property
    def latent_dim(self) -> int:
        return self.latent.latent_dim

    def __len__(self) -> int:
        return self._encoded.size

    def index_of(self, apogee_id: str) -> int:
        """Row of ``apogee_id`` among the encoded stars (blanks ignored); ValueError naming it if absent."""
        row = int(match_ids(np.array([str(apogee_id).strip()]), self.apogee_id)[0])
        if row < 0:
            raise ValueError(f"no star {str(apogee_id).strip()!r} in {self.paths.latent}")
        return row

    def display_rows(self, limit: int = DISPLAY_LIMIT) -> np.ndarray:
        """Rows of the encoded stars a scatter plot draws, sorted: all of them up to ``limit``, else every
        seismic star and a fixed random sample (seed 0) of the others up to ``limit`` in all."""
        n = len(self)
        if n <= limit:
            return np.arange(n)
        seismic = (np.isfinite(_column(self.aligned("seismic"), "NUMAX")) if self.has("seismic")
                   else np.zeros(n, bool))
        chosen = np.flatnonzero(seismic)[:limit]
        others = np.flatnonzero(~seismic)
        extra = np.random.default_rng(0).choice(others, size=min(limit - chosen.size, others.size), replace=False)
        return np.sort(np.concatenate([chosen, extra]))

    def out_of_distribution(self) -> np.ndarray:
        """(N,) bool per encoded star: the catalog's AGE_FLAG says its age lies outside the age model's
        training support (:data:`~latentexplorer.selection.OOD_FLAGS`); all False without a catalog."""
        from .selection import OOD_FLAGS

        if not self.has("catalog"):
            return np.zeros(len(self), bool)
        flag = np.nan_to_num(_column(self.aligned("catalog"), "AGE_FLAG"), nan=0).astype(np.int64)
        return (flag > 0) & ((flag & int(OOD_FLAGS)) != 0)  # −1: not in the catalog

    def aligned(self, name: str) -> Table:
        """Product ``name`` ('allstar', 'seismic', 'truth', 'catalog', 'orbits') with one row per encoded
        star (NaN, −1 or "" where a star is absent); computed once."""
        if name not in ("allstar", "seismic", "truth", "catalog", "orbits"):
            raise ValueError(f"cannot align {name!r}: choose allstar, seismic, truth, catalog or orbits")
        if name not in self._aligned_tables:
            self._aligned_tables[name] = _aligned(getattr(self, name), self.apogee_id)
        return self._aligned_tables[name]

    def label(self, name: str) -> np.ndarray:
        """One of :data:`LABELS` for every encoded star, (N,) float (evolutionary state: 0 RGB, 1 RC, NaN
        unknown). Raises MissingProduct if the file holding it is absent, ValueError for an unknown name."""
        if name not in LABELS:
            raise ValueError(f"unknown label {name!r}; choose from {', '.join(LABELS)}")
        return LABELS[name][1](self)


def _excess_deltanu(ws: Workspace) -> np.ndarray:
    from .seismo import excess_deltanu

    seismic = ws.aligned("seismic")
    return excess_deltanu(_column(seismic, "DNU"), _column(seismic, "NUMAX"))


def _evolstate(ws: Workspace) -> np.ndarray:
    seismic = ws.aligned("seismic")
    state = _column(seismic, "EVOLSTATE", str) if "EVOLSTATE" in seismic.colnames else np.full(len(ws), "")
    return np.select([state == "RGB", state == "RC"], [0.0, 1.0], np.nan)


#: Per-star labels to colour by: name → (axis label with units, function of Workspace → (N,) float).
LABELS = {
    "numax": ("ν_max (μHz)", lambda ws: _column(ws.aligned("seismic"), "NUMAX")),
    "excess_deltanu": ("excess Δν (μHz)", _excess_deltanu),
    "evolstate": ("evolutionary state (0 RGB, 1 RC)", _evolstate),
    "fe_h": ("[Fe/H] (dex)", lambda ws: _column(ws.aligned("allstar"), "FE_H")),
    "alpha_m": ("[α/M] (dex)", lambda ws: _column(ws.aligned("allstar"), "ALPHA_M")),
    "age": ("age (Gyr, 10**LogAge)", lambda ws: 10.0 ** _column(ws.aligned("catalog"), "LogAge")),
}
