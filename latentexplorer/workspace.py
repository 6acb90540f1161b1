"""A workspace: one directory per run holding every product of the pipeline (see docs/architecture.md).

:class:`Workspace` is the library's view of it, shared by the CLI steps, the report, the notebooks and
the dashboards: its :attr:`~Workspace.paths`, and each product read on first use through its reader in
:mod:`latentexplorer.io` and cached — the allStar and seismic catalogs, the PSDs, the training pairs, the
encoder-decoder and its training record, the latent file, the age model, the catalog and the orbits. A
product that is not there raises :class:`MissingProduct`, whose message names the file and the command
that makes it. The dashboards' per-star view of the encoded stars is
:class:`latentexplorer.widgets.star_view.StarView`.

    >>> ws = Workspace("workspace/")                              # doctest: +SKIP
    >>> ws.catalog["Age"], ws.model.decode(ws.latent.z_mean[:3])  # doctest: +SKIP
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Table

from .io.catalog import read_catalog
from .io.orbits import read_orbits
from .io.psdfile import read_psd_file
from .io.seismic import read_seismic_catalog
from .io.truth import read_truth

__all__ = ["WorkspacePaths", "Workspace", "MissingProduct", "PRODUCT_COMMANDS"]


@dataclass(frozen=True)
class WorkspacePaths:
    """Paths of a workspace rooted at ``root``.

    survey/ (allStar.fits, seismic.fits, spectra.h5 or apStar/, kepler/), truth.fits (mock only),
    psd.h5, pairs.h5, model/, latent.h5, forest/, catalog.fits (+ catalog.csv.gz), orbits.fits, report/;
    columns/ (the column stores the dashboards memory-map, :mod:`latentexplorer.io.columns`).
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
    columns = property(lambda self: self.root / "columns")

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


#: The fields of each product :meth:`Workspace.columns` keeps as a column store (KIC, TIC, APOGEE_ID upper case).
_COLUMN_FIELDS = {"pairs": ("apogee_id", "kic", "spectra", "log_psd", "numax", "evolstate", "frequency"),
                  "psd": ("target_id", "kic", "tic", "frequency", "log_psd", "flags")}


class MissingProduct(FileNotFoundError):
    """A workspace product is not there; the message says which file and how to make it."""

    def __init__(self, paths: WorkspacePaths, name: str):
        self.name = name
        path = getattr(paths, name)
        super().__init__(f"{path.name} is missing from the workspace {paths.root}: "
                         f"run `{PRODUCT_COMMANDS[name]}` to make it")


def _product(read, doc: str) -> functools.cached_property:
    """A :class:`Workspace` attribute: the product of the attribute's name, read on first use by ``read(path)``
    (:class:`MissingProduct` when it is not there) and kept."""

    def get(self):
        return read(self.require(product.attrname))

    get.__doc__ = doc
    product = functools.cached_property(get)
    return product


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

    seismic = _product(read_seismic_catalog, "The seismic catalog (astropy Table; standard column names: KIC, "
                                             "APOGEE_ID, NUMAX, DNU μHz, EVOLSTATE, AGE Gyr…).")
    truth = _product(read_truth, "A mock survey's true parameters, one row per star (astropy Table).")
    psd = _product(read_psd_file, "The observed PSDs (:class:`latentexplorer.io.psdfile.PSDSet`).")

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
        """Spectra (m, 7514) float32 of the pairs at ``rows`` (indices into :attr:`pairs`, any order): a copy
        of those rows of the memory-mapped column store (:meth:`columns`), never the whole set."""
        return np.array(self.columns("pairs")["spectra"][np.asarray(rows, dtype=np.int64)], dtype=np.float32)

    def columns(self, name: str):
        """The per-star arrays of ``name`` as read-only memory-mapped arrays
        (:class:`~latentexplorer.io.columns.Columns` of the store ``columns/NAME/``, rebuilt when what it was made
        from changed): every process reading them shares one copy. MissingProduct without what it is made from.

        - "pairs": APOGEE_ID, KIC, spectra (n, 7514) float32, log_psd (n, k) float32, numax μHz, evolstate,
          frequency (k,) μHz;
        - "psd": target_id, KIC, TIC, frequency (k,) μHz, log_psd (n, k) float32, flags;
        - "jacobians": jacobian (n, latent_dim, 7514) float32, ∂z_mean/∂flux of every pair under this
          workspace's model (:meth:`~latentexplorer.ved.runtime.EncoderDecoderRuntime.jacobian` of
          :attr:`engine`), computed once — rebuilt when the pairs or the model change.
        """
        from .io.columns import column_store
        from .io.pairs import read_pairs

        if name == "jacobians":
            model = self.require("model")
            sources = {"pairs": self.require("pairs"),
                       **{f"model/{p.name}": p for p in sorted(model.iterdir()) if p.is_file()}}
            return column_store(self.paths.columns / name, sources, self._pair_jacobians)
        if name not in _COLUMN_FIELDS:
            raise ValueError(f"no column store of {name!r}: choose {', '.join(_COLUMN_FIELDS)} or jacobians")

        def build():
            # read by a Workspace dropped once the store is written; the pairs with their spectra
            product = read_pairs(self.require("pairs")) if name == "pairs" else getattr(Workspace(self.root), name)
            values = {field: np.asarray(getattr(product, field)) for field in _COLUMN_FIELDS[name]}
            return {field.upper() if field in ("kic", "tic", "apogee_id") else field:
                    column.astype(str) if column.dtype.kind == "O" else column for field, column in values.items()}, {}

        return column_store(self.paths.columns / name, {name: self.require(name)}, build)

    def _pair_jacobians(self, chunk: int = 256) -> tuple[dict, dict]:
        """Every pair's ∂z_mean/∂flux, (n, latent_dim, 7514) float32, chunk by chunk: the "jacobians" store's
        columns and units."""
        engine, spectra = Workspace(self.root).engine, self.columns("pairs")["spectra"]
        jacobian = np.empty((len(spectra), engine.latent_dim, spectra.shape[1]), np.float32)
        for start in range(0, len(spectra), chunk):
            jacobian[start:start + chunk] = engine.jacobian(np.asarray(spectra[start:start + chunk]))
        return {"jacobian": jacobian}, {"jacobian": None}

    def pair_jacobians(self, rows) -> np.ndarray:
        """∂z_mean/∂flux (m, latent_dim, 7514) float32 of the pairs at ``rows`` (indices into :attr:`pairs`, any
        order): a copy of those rows of the "jacobians" store (:meth:`columns`), made once for every pair."""
        return np.array(self.columns("jacobians")["jacobian"][np.asarray(rows, dtype=np.int64)], dtype=np.float32)

    @functools.cached_property
    def model(self):
        """The encoder-decoder (:class:`latentexplorer.ved.VariationalEncoderDecoder`, TensorFlow; for
        inference alone :attr:`engine` is lighter)."""
        from .ved import VariationalEncoderDecoder

        return VariationalEncoderDecoder.load(self.require("model"))

    @functools.cached_property
    def engine(self):
        """The encoder-decoder's forward passes in numpy, without TensorFlow
        (:class:`latentexplorer.ved.engine.InferenceEngine`): what the dashboards use, through the methods of
        :class:`~latentexplorer.ved.runtime.EncoderDecoderRuntime` only."""
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

    catalog = _product(read_catalog, "The age catalog (astropy Table, row-matched to allStar; "
                                     ":mod:`latentexplorer.io.catalog`).")
    orbits = _product(read_orbits, "Orbit parameters (astropy Table; :mod:`latentexplorer.io.orbits`).")

    @functools.cached_property
    def age_inputs(self):
        """The age model's inputs for every allStar row (:class:`latentexplorer.ages.inputs.AgeInputs`)."""
        from .ages.inputs import age_inputs

        return age_inputs(self.allstar, self.latent, names=(str(self.paths.allstar), str(self.paths.latent)))

    @functools.cached_property
    def seismic_sample(self):
        """The seismic stars matched to the allStar rows, true ages added on a mock
        (:class:`latentexplorer.selection.SeismicSample`)."""
        from .selection import seismic_sample

        return seismic_sample(self.seismic, self.allstar["APOGEE_ID"], self.truth if self.is_mock else None,
                              names=(str(self.paths.seismic), str(self.paths.allstar)))
