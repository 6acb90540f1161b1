"""Latent-space ages over a workspace: which stars get one, the age forest, and the audits.

The paper's recipe (sections 3.2, 5, 6.3 and 7.1), on the files of a
:class:`~latentexplorer.workspace.Workspace`:

- **Cuts** (:func:`selection_flags`): the latent representation is kept for 1.5 < log g < 3.6 and
  SNREV > 30 (:data:`~latentexplorer.constants.LATENT_LOGG_RANGE`,
  :data:`~latentexplorer.constants.LATENT_MIN_SNREV`); an age is computed for those that also have
  2.5 < log g < 3.6 (:data:`~latentexplorer.constants.AGE_LOGG_RANGE`) and a finite Teff and [Fe/H]
  with their errors. Every reason a star misses out is a bit of :class:`AgeFlag`.
- **Training** (:func:`train_age_model`): the features are the latent means z0…z4 with Teff (K) and
  [Fe/H] (dex); their errors (the encoder's z_std, TEFF_ERR, FE_H_ERR) are resampled in every tree.
  The label is the seismic log10(age / Gyr) with error AGE_ERR / (AGE ln 10) dex. Of the seismic stars
  that pass the age cuts, ``n_train`` (default 1,200, as in the paper) are drawn at random to train;
  30 % of the others (:data:`~latentexplorer.diagnostics.CALIBRATION_FRACTION`) form a calibration
  split on which the tree spread is rescaled so the pull distribution has unit width
  (:meth:`~latentexplorer.forest.ProbabilisticRandomForestRegressor.calibrate`, 1.4826 × MAD); the
  rest are test stars, scored in the returned summary. An RC/RGB classifier on the latent space alone
  (paper Fig. 9) is trained on the same training stars. The split is the one
  :func:`~latentexplorer.diagnostics.age_audit` draws for the same stars, size and seed.
- **Persistence** (:class:`AgeModel`): ``forest/`` holds ``age_forest.skops``,
  ``evolstate_forest.skops`` (skops, never pickle), ``metadata.json`` (features, split sizes, seed,
  calibration scale, held-out scores) and ``training_ids.txt`` / ``calibration_ids.txt`` (APOGEE_IDs).
- **Audits** (:func:`audit_workspace`): the analyses of :mod:`latentexplorer.diagnostics` on the
  workspace's stars (Figs. 7–10, 16–17, the [α/M] leakage test and the spectrum baseline).
"""

from __future__ import annotations

import enum
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table
from tqdm.auto import tqdm

from . import __version__
from . import diagnostics as diag
from .constants import AGE_LOGG_RANGE, LATENT_LOGG_RANGE, LATENT_MIN_SNREV
from .forest import ProbabilisticRandomForestClassifier, ProbabilisticRandomForestRegressor, robust_width
from .io.allstar import read_allstar
from .io.atomic import atomic_output
from .io.hdf5 import open_product
from .io.seismic import read_seismic_catalog
from .workspace import Workspace

__all__ = [
    "AgeFlag",
    "LATENT_FLAGS",
    "LatentSet",
    "AgeInputs",
    "SeismicSample",
    "AgeModel",
    "AgeTrainingSummary",
    "WorkspaceAudits",
    "selection_flags",
    "read_latent",
    "match_rows",
    "load_inputs",
    "load_seismic_sample",
    "train_age_model",
    "audit_workspace",
]

logger = logging.getLogger(__name__)

#: allStar columns the age model needs (errors may be absent: then Teff / [Fe/H] count as missing).
ALLSTAR_REQUIRED = ("APOGEE_ID", "TELESCOPE", "FIELD", "STARFLAG", "ASPCAPFLAG", "LOGG", "SNREV", "TEFF", "FE_H")
#: allStar columns read when present (errors of the age inputs, abundances for the audits).
ALLSTAR_OPTIONAL = ("TEFF_ERR", "FE_H_ERR", "ALPHA_M", "ALPHA_M_ERR", "C_FE", "N_FE", "LOGG_ERR", "C_FE_ERR",
                    "N_FE_ERR")
MODEL_FORMAT_VERSION = 1


class AgeFlag(enum.IntFlag):
    """Why a star has no latent representation or no age (0: it has both)."""

    NO_LATENT = 1  #: not in latent.h5, or the encoder gave NaN (unusable spectrum)
    LOW_SNR = 2  #: SNREV ≤ 30 or missing: latent not kept
    LATENT_LOGG = 4  #: log g outside (1.5, 3.6) or missing: latent not kept
    AGE_LOGG = 8  #: log g outside (2.5, 3.6) or missing: no age
    NO_TEFF = 16  #: Teff or its error missing: no age
    NO_FE_H = 32  #: [Fe/H] or its error missing: no age


#: Bits that remove the latent representation (and so the age).
LATENT_FLAGS = AgeFlag.NO_LATENT | AgeFlag.LOW_SNR | AgeFlag.LATENT_LOGG


def _finite(*arrays) -> np.ndarray:
    return np.logical_and.reduce([np.isfinite(np.asarray(a, dtype=float)) for a in arrays])


def _outside(values, bounds) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        return ~((values > bounds[0]) & (values < bounds[1]))


def selection_flags(logg, snrev, teff, teff_err, fe_h, fe_h_err, has_latent) -> np.ndarray:
    """The paper's catalog cuts as :class:`AgeFlag` bits, one int32 per star.

    Parameters
    ----------
    logg, snrev, teff (K), teff_err (K), fe_h (dex), fe_h_err (dex) : array_like of shape (n,)
        allStar values; NaN where missing.
    has_latent : array_like of bool, shape (n,)
        Whether the encoder gave a finite latent representation.

    Returns
    -------
    ndarray of int32, shape (n,)
        0 for stars that get a latent representation and an age.
    """
    has_latent = np.asarray(has_latent, dtype=bool)
    with np.errstate(invalid="ignore"):
        low_snr = ~(np.asarray(snrev, dtype=float) > LATENT_MIN_SNREV)
    bits = (
        (~has_latent, AgeFlag.NO_LATENT),
        (low_snr, AgeFlag.LOW_SNR),
        (_outside(logg, LATENT_LOGG_RANGE), AgeFlag.LATENT_LOGG),
        (_outside(logg, AGE_LOGG_RANGE), AgeFlag.AGE_LOGG),
        (~_finite(teff, teff_err), AgeFlag.NO_TEFF),
        (~_finite(fe_h, fe_h_err), AgeFlag.NO_FE_H),
    )
    flags = np.zeros(has_latent.shape, dtype=np.int32)
    for mask, bit in bits:
        if mask.shape != flags.shape:
            raise ValueError(f"inputs of selection_flags must all have shape {flags.shape}, got {mask.shape}")
        flags |= np.where(mask, int(bit), 0).astype(np.int32)
    return flags


@dataclass
class LatentSet:
    """The contents of ``latent.h5`` (written by ``latentexplorer encode``).

    apogee_id (n,) str; z_mean, z_std (n, latent_dim) float32, NaN for unusable spectra; flag (n,) int32
    spectrum flags; model_fingerprint, the training-data fingerprint of the encoder.
    """

    apogee_id: np.ndarray
    z_mean: np.ndarray
    z_std: np.ndarray
    flag: np.ndarray
    model_fingerprint: str = ""

    @property
    def latent_dim(self) -> int:
        return self.z_mean.shape[1]


def read_latent(path) -> LatentSet:
    """Read a latent file (APOGEE_ID, z_mean, z_std, flag). Raises FileNotFoundError / ValueError."""
    with open_product(path, ("APOGEE_ID", "z_mean", "z_std"), "encode") as f:
        ids = f["APOGEE_ID"].asstr()[()].astype(str)
        z_mean, z_std = f["z_mean"][()].astype(np.float32), f["z_std"][()].astype(np.float32)
        flag = f["flag"][()].astype(np.int32) if "flag" in f else np.zeros(ids.size, np.int32)
        fingerprint = str(f.attrs.get("model_fingerprint", ""))
    if z_mean.ndim != 2 or z_std.shape != z_mean.shape or z_mean.shape[0] != ids.size or flag.shape != ids.shape:
        raise ValueError(f"{path}: inconsistent shapes APOGEE_ID {ids.shape}, z_mean {z_mean.shape}, "
                         f"z_std {z_std.shape}, flag {flag.shape}")
    return LatentSet(ids, z_mean, z_std, flag, fingerprint)


def match_rows(ids, reference_ids) -> np.ndarray:
    """Index into ``reference_ids`` of each of ``ids`` (first occurrence), −1 where absent; shape of ids."""
    reference_ids = np.asarray(reference_ids).astype(str)
    lookup = {}
    for i, star in enumerate(reference_ids):
        lookup.setdefault(star, i)
    if len(lookup) < reference_ids.size:
        logger.warning("%d duplicate APOGEE_IDs; the first row of each is used", reference_ids.size - len(lookup))
    return np.array([lookup.get(star, -1) for star in np.asarray(ids).astype(str)], dtype=np.int64)


def _column(table, name, n) -> np.ndarray:
    return np.asarray(table[name], dtype=float) if name in table.colnames else np.full(n, np.nan)


@dataclass
class AgeInputs:
    """The age model's inputs for every allStar row (row-matched to the allStar file).

    ``allstar`` holds the columns read; ``z_mean`` / ``z_std`` (n, latent_dim) are NaN where the star
    has no latent representation or fails the latent cuts; ``flags`` are :class:`AgeFlag` bits.
    """

    allstar: Table
    z_mean: np.ndarray
    z_std: np.ndarray
    flags: np.ndarray
    model_fingerprint: str = ""

    def __len__(self) -> int:
        return len(self.allstar)

    def column(self, name) -> np.ndarray:
        """An allStar column as float, NaN when the file lacks it."""
        return _column(self.allstar, name, len(self))

    @property
    def latent_dim(self) -> int:
        return self.z_mean.shape[1]

    @property
    def feature_names(self) -> list[str]:
        return [f"z{i}" for i in range(self.latent_dim)] + ["TEFF", "FE_H"]

    @property
    def features(self) -> np.ndarray:
        """(n, latent_dim + 2): z_mean, Teff (K), [Fe/H] (dex)."""
        return np.column_stack([self.z_mean, self.column("TEFF"), self.column("FE_H")])

    @property
    def feature_errors(self) -> np.ndarray:
        """(n, latent_dim + 2): z_std, Teff error (K), [Fe/H] error (dex)."""
        return np.column_stack([self.z_std, self.column("TEFF_ERR"), self.column("FE_H_ERR")])

    @property
    def has_age_inputs(self) -> np.ndarray:
        return self.flags == 0


def load_inputs(workspace) -> AgeInputs:
    """Read ``survey/allStar.fits`` and ``latent.h5`` of a workspace and apply :func:`selection_flags`."""
    ws = Workspace(workspace) if not isinstance(workspace, Workspace) else workspace
    if not ws.allstar.is_file():
        raise FileNotFoundError(f"no allStar file at {ws.allstar}")
    with_optional = _available_columns(ws.allstar)
    allstar = read_allstar(ws.allstar, ALLSTAR_REQUIRED + tuple(c for c in ALLSTAR_OPTIONAL if c in with_optional))
    latent = read_latent(ws.latent)
    n, k = len(allstar), latent.latent_dim
    where = match_rows(allstar["APOGEE_ID"], latent.apogee_id)
    z_mean = np.full((n, k), np.nan, np.float32)
    z_std = np.full((n, k), np.nan, np.float32)
    found = where >= 0
    z_mean[found], z_std[found] = latent.z_mean[where[found]], latent.z_std[where[found]]
    has_latent = np.isfinite(z_mean).all(axis=1) & np.isfinite(z_std).all(axis=1)
    inputs = AgeInputs(allstar, z_mean, z_std, np.zeros(n, np.int32), latent.model_fingerprint)
    inputs.flags = selection_flags(inputs.column("LOGG"), inputs.column("SNREV"), inputs.column("TEFF"),
                                   inputs.column("TEFF_ERR"), inputs.column("FE_H"), inputs.column("FE_H_ERR"),
                                   has_latent)
    dropped = (inputs.flags & int(LATENT_FLAGS)) != 0
    inputs.z_mean[dropped], inputs.z_std[dropped] = np.nan, np.nan
    logger.info("%d allStar rows: %d with a latent representation, %d with age inputs", n,
                int((~dropped).sum()), int((inputs.flags == 0).sum()))
    return inputs


def _available_columns(path) -> set[str]:
    with fits.open(path, memmap=True) as hdul:
        if len(hdul) < 2 or not isinstance(hdul[1], fits.BinTableHDU):
            raise ValueError(f"{path} is not an allStar-like file: HDU1 is not a binary table")
        return set(hdul[1].columns.names)


@dataclass
class SeismicSample:
    """Seismic stars matched to allStar rows.

    rows (m,) allStar row of each star; log_age, log_age_err (m,) log10(age / Gyr) and its error in
    dex; evolstate (m,) 'RC' / 'RGB' / ''; numax, deltanu and their errors (m,) μHz (NaN where the
    catalog has none); reference_log_age (m,) the true log10 age of a mock survey (from truth.fits),
    else None.
    """

    rows: np.ndarray
    apogee_id: np.ndarray
    log_age: np.ndarray
    log_age_err: np.ndarray
    evolstate: np.ndarray
    numax: np.ndarray
    deltanu: np.ndarray
    numax_err: np.ndarray
    deltanu_err: np.ndarray
    reference_log_age: np.ndarray | None = None

    def __len__(self) -> int:
        return self.rows.size


def load_seismic_sample(workspace, inputs: AgeInputs) -> SeismicSample:
    """Match ``survey/seismic.fits`` (and, for a mock, ``truth.fits``) to the allStar rows of ``inputs``."""
    ws = Workspace(workspace) if not isinstance(workspace, Workspace) else workspace
    if not ws.seismic.is_file():
        raise FileNotFoundError(f"no seismic catalog at {ws.seismic}")
    seismic = read_seismic_catalog(ws.seismic)
    missing = [c for c in ("APOGEE_ID", "AGE", "AGE_ERR") if c not in seismic.colnames]
    if missing:
        raise ValueError(f"{ws.seismic} lacks the columns {', '.join(missing)} needed for ages")
    rows = match_rows(seismic["APOGEE_ID"], inputs.allstar["APOGEE_ID"])
    if (rows < 0).any():
        logger.warning("%d seismic stars are not in the allStar file and are left out", int((rows < 0).sum()))
    seismic, rows = seismic[rows >= 0], rows[rows >= 0]
    age, age_err = np.asarray(seismic["AGE"], float), np.asarray(seismic["AGE_ERR"], float)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_age = np.where(age > 0, np.log10(age), np.nan)
        log_age_err = age_err / (age * np.log(10.0))
    state = (np.asarray(seismic["EVOLSTATE"]).astype(str) if "EVOLSTATE" in seismic.colnames
             else np.full(len(seismic), "", dtype="U3"))
    reference = None
    if ws.is_mock:
        truth = Table.read(ws.truth)
        where = match_rows(seismic["APOGEE_ID"], truth["APOGEE_ID"])
        true_age = np.where(where >= 0, np.asarray(truth["AGE"], float)[where], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            reference = np.where(true_age > 0, np.log10(true_age), np.nan)
    columns = [_column(seismic, c, len(seismic)) for c in ("NUMAX", "DNU", "NUMAX_ERR", "DNU_ERR")]
    return SeismicSample(rows, np.asarray(seismic["APOGEE_ID"]).astype(str), log_age, log_age_err, state,
                         *columns, reference)


# --- the age model -------------------------------------------------------------------------------
@dataclass
class AgeModel:
    """The age forest, the RC/RGB classifier and their metadata, as stored in ``forest/``."""

    regressor: ProbabilisticRandomForestRegressor
    classifier: ProbabilisticRandomForestClassifier
    metadata: dict

    AGE_FILE = "age_forest.skops"
    STATE_FILE = "evolstate_forest.skops"
    METADATA_FILE = "metadata.json"
    TRAINING_IDS = "training_ids.txt"
    CALIBRATION_IDS = "calibration_ids.txt"

    @property
    def latent_dim(self) -> int:
        return int(self.metadata["latent_dim"])

    def save(self, directory, training_ids=(), calibration_ids=()) -> Path:
        """Write the forests, metadata and star lists into ``directory`` (created), each file atomically."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.regressor.save(directory / self.AGE_FILE)
        self.classifier.save(directory / self.STATE_FILE)
        for name, ids in ((self.TRAINING_IDS, training_ids), (self.CALIBRATION_IDS, calibration_ids)):
            with atomic_output(directory / name, suffix=".txt") as tmp:
                tmp.write_text("".join(f"{star}\n" for star in ids))
        with atomic_output(directory / self.METADATA_FILE, suffix=".json") as tmp:
            tmp.write_text(json.dumps(self.metadata, indent=1))
        return directory

    @classmethod
    def load(cls, directory) -> AgeModel:
        """Read a ``forest/`` directory written by :func:`train_age_model`.

        Raises FileNotFoundError if it or a file is missing, ValueError for a newer format.
        """
        directory = Path(directory)
        if not directory.is_dir():
            raise FileNotFoundError(f"no age model at {directory} (run `latentexplorer ages`)")
        missing = [n for n in (cls.AGE_FILE, cls.STATE_FILE, cls.METADATA_FILE) if not (directory / n).is_file()]
        if missing:
            raise FileNotFoundError(f"age model directory {directory} lacks {', '.join(missing)}")
        metadata = json.loads((directory / cls.METADATA_FILE).read_text())
        version = metadata.get("format_version")
        if not isinstance(version, int) or version > MODEL_FORMAT_VERSION:
            raise ValueError(f"{directory} holds age-model format {version!r}; "
                             f"this version reads ≤ {MODEL_FORMAT_VERSION}")
        return cls(ProbabilisticRandomForestRegressor.load(directory / cls.AGE_FILE),
                   ProbabilisticRandomForestClassifier.load(directory / cls.STATE_FILE), metadata)


def _fractional_stats(log_age_true, log_age_pred) -> dict:
    """Fractional age residual (predicted / true − 1) statistics, as in the audits."""
    resid = 10.0 ** (np.asarray(log_age_pred) - np.asarray(log_age_true)) - 1.0
    if resid.size == 0:
        return {"n": 0, "bias": float("nan"), "scatter": float("nan"), "robust_scatter": float("nan")}
    return {"n": int(resid.size), "bias": float(resid.mean()), "scatter": float(resid.std()),
            "robust_scatter": robust_width(resid)}


@dataclass
class AgeTrainingSummary:
    """What :func:`train_age_model` did; ``test`` holds held-out scores of the saved forest."""

    n_train: int
    n_calibration: int
    n_test: int
    n_eligible: int
    calibration_scale: float
    test: dict
    output: Path

    def __str__(self) -> str:
        t = self.test
        by_state = ", ".join(f"{s} {v['scatter']:.1%}" for s, v in t["by_state"].items())
        return (f"age forest: {self.n_train} training, {self.n_calibration} calibration, {self.n_test} test stars "
                f"(of {self.n_eligible} eligible); held-out age bias {t['overall']['bias']:+.1%}, scatter "
                f"{t['overall']['scatter']:.1%} ({by_state}); pull width {t['pull_width_mad']:.2f} after "
                f"calibration (×{self.calibration_scale:.2f}); RC/RGB misclassification "
                f"{t['misclassification_rate']:.1%} → {self.output}")


def _age_eligible(inputs: AgeInputs, sample: SeismicSample) -> np.ndarray:
    """Indices (into the sample) of seismic stars with age inputs and a usable seismic age."""
    ok = inputs.has_age_inputs[sample.rows] & _finite(sample.log_age, sample.log_age_err)
    with np.errstate(invalid="ignore"):
        ok &= sample.log_age_err > 0
    return np.flatnonzero(ok)


def train_age_model(workspace, n_train=diag.AGE_TRAIN_SIZE, n_trees=100, seed=0, progress=True) -> AgeTrainingSummary:
    """Train the age forest and the RC/RGB classifier of a workspace and save them in ``forest/``.

    Parameters
    ----------
    workspace : Workspace or path
        Needs ``latent.h5``, ``survey/allStar.fits`` and ``survey/seismic.fits``.
    n_train : int
        Training stars, drawn at random from the seismic stars that pass the age cuts — from those the
        encoder-decoder trained on where the workspace says which (``model/`` and ``pairs.h5``), so that
        the calibration and test stars, like the survey's stars, are new to the encoder.
    n_trees : int
        Trees per forest.
    seed : int
        Seeds the split and the forests; the same inputs and seed give the same model.
    progress : bool
        Show a progress bar over the steps.

    Returns
    -------
    AgeTrainingSummary

    Raises
    ------
    ValueError
        Too few eligible stars for ``n_train`` (the message gives the count), or bad arguments.
    """
    ws = Workspace(workspace) if not isinstance(workspace, Workspace) else workspace
    if not isinstance(n_trees, (int, np.integer)) or n_trees < 1:
        raise ValueError(f"n_trees must be a positive integer, got {n_trees!r}")
    inputs = load_inputs(ws)
    sample = load_seismic_sample(ws, inputs)
    eligible = _age_eligible(inputs, sample)
    if n_train < 1 or int(diag.CALIBRATION_FRACTION * (eligible.size - n_train)) < 1:
        raise ValueError(f"{eligible.size} seismic stars pass the age cuts; n_train={n_train} must leave "
                         "some for calibration and testing (lower --n-train)")
    _, holdout, holdout_text = _age_holdout(ws, sample, eligible, n_train)
    n_cal = diag.calibration_size(eligible, n_train, holdout)
    train, cal, test = diag.split_indices(eligible, n_train, seed, n_cal, holdout)
    X, X_err = inputs.features[sample.rows], inputs.feature_errors[sample.rows]
    y, y_err, state = sample.log_age, sample.log_age_err, sample.evolstate

    steps = tqdm(total=4, desc="age model", unit="step", disable=not progress)
    regressor = ProbabilisticRandomForestRegressor(n_estimators=n_trees, random_state=seed, missing="propagate")
    regressor.fit(X[train], y[train], X_err=X_err[train], y_err=y_err[train])
    steps.update()
    regressor.calibrate(X[cal], y[cal], y_err=y_err[cal], X_err=X_err[cal])
    steps.update()
    k = inputs.latent_dim
    labelled = train[state[train] != ""]
    classifier = ProbabilisticRandomForestClassifier(n_estimators=n_trees, random_state=seed)
    classifier.fit(X[labelled, :k], state[labelled], X_err=X_err[labelled, :k])
    steps.update()
    pred, pred_std = regressor.predict(X[test], X_err=X_err[test], return_std=True)
    pull = (pred - y[test]) / np.sqrt(y_err[test] ** 2 + pred_std**2)
    known = test[state[test] != ""]
    predicted_state = classifier.predict(X[known, :k], X_err=X_err[known, :k])
    steps.update()
    steps.close()
    scores = {
        "overall": _fractional_stats(y[test], pred),
        "by_state": {str(s): _fractional_stats(y[test][state[test] == s], pred[state[test] == s])
                     for s in np.unique(state[test]) if s},
        "pull_width_mad": robust_width(pull),
        "pull_width_std": float(np.std(pull)),
        "misclassification_rate": float(np.mean(predicted_state != state[known])) if known.size else float("nan"),
    }
    metadata = {
        "format_version": MODEL_FORMAT_VERSION, "package_version": __version__,
        "features": inputs.feature_names, "latent_dim": k, "label": "log10(age / Gyr)",
        "label_weighting": "1 / sigma_log10(age) (paper section 3.2)", "n_trees": int(n_trees), "seed": int(seed),
        "n_train": int(train.size), "n_calibration": int(cal.size), "n_test": int(test.size),
        "n_eligible": int(eligible.size), "holdout": holdout_text, "calibration_scale": regressor.calibration_scale_,
        "calibration": "1.4826 MAD of (y_pred - y) / sqrt(sigma_y^2 + (s sigma_trees)^2) = 1 on the calibration split",
        "classes": [str(c) for c in classifier.classes_],
        "cuts": {"latent_logg": list(LATENT_LOGG_RANGE), "latent_min_snrev": LATENT_MIN_SNREV,
                 "age_logg": list(AGE_LOGG_RANGE)},
        "latent_model_fingerprint": inputs.model_fingerprint, "test": scores,
    }
    model = AgeModel(regressor, classifier, metadata)
    model.save(ws.forest, sample.apogee_id[train], sample.apogee_id[cal])
    summary = AgeTrainingSummary(int(train.size), int(cal.size), int(test.size), int(eligible.size),
                                 regressor.calibration_scale_, scores, ws.forest)
    logger.info("%s", summary)
    return summary


# --- audits --------------------------------------------------------------------------------------
FIDUCIAL = "latent+teff+fe_h"  #: key of the paper's fiducial feature set in :attr:`WorkspaceAudits.ages`
#: Reference feature sets run through the acceptance audits beside the latent space: the seismic
#: parameters themselves (what a latent space that held ν_max and Δν exactly would give; for ages with
#: Teff and [Fe/H] added, as the fiducial model) and the ASPCAP labels with [C/N] (the classic
#: dredge-up route to giant masses).
REFERENCE_SETS = ("seismic", "aspcap")


@dataclass
class WorkspaceAudits:
    """The audits of :mod:`latentexplorer.diagnostics` on one workspace.

    labels: latent → [Fe/H], [α/M], [N/H], [C/N], Teff (Fig. 7); seismic: latent → ν_max, Δν, excess
    Δν (Fig. 8); evolstate: RC/RGB (Fig. 9); ages: the ablations keyed as in
    :func:`~latentexplorer.diagnostics.age_ablation`, :data:`FIDUCIAL` being Fig. 10; baseline: age
    straight from the spectra, or None when no spectra were found; references: the same acceptance
    audits with reference features in place of the latent space (:data:`REFERENCE_SETS`, see
    :func:`~latentexplorer.diagnostics.reference_audit`). ``sample`` and the per-sample arrays
    (``latent``, ``fe_h``, ``alpha_m``) are what the audits' indices refer to, kept for plotting.
    """

    labels: dict
    seismic: dict
    evolstate: diag.ClassificationAudit
    ages: dict
    baseline: diag.AgeAudit | None
    info: dict
    references: dict
    sample: SeismicSample = field(repr=False)
    latent: np.ndarray = field(repr=False)
    fe_h: np.ndarray = field(repr=False)
    alpha_m: np.ndarray = field(repr=False)
    label_truth: dict = field(repr=False, default_factory=dict)

    @property
    def fiducial(self) -> diag.AgeAudit:
        return self.ages[FIDUCIAL]

    def to_dict(self) -> dict:
        """Every number of every audit, as plain Python types (for JSON and the report)."""
        return {
            "info": self.info,
            "labels": {k: v.to_dict() for k, v in self.labels.items()},
            "seismic": {k: v.to_dict() for k, v in self.seismic.items()},
            "evolstate": self.evolstate.to_dict(),
            "ages": {k: v.to_dict() for k, v in self.ages.items()},
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
            "references": {k: v.to_dict() for k, v in self.references.items()},
        }


def _survey_spectra(ws: Workspace, apogee_id) -> np.ndarray | None:
    """Normalised spectra (m, 7514) of the given stars, NaN rows for those not found; None without spectra."""
    from .spectra import iter_normalized_spectra

    if not ws.spectra.exists():
        return None
    wanted = {star: i for i, star in enumerate(apogee_id)}
    out = None
    for ids, spectra, _ in iter_normalized_spectra(ws.spectra, 2048):
        if out is None:
            out = np.full((len(apogee_id), spectra.shape[1]), np.nan, np.float32)
        for j, star in enumerate(ids):
            if star in wanted:
                out[wanted[star]] = spectra[j]
    return out


def _label_train_size(n_usable: int, wanted: int) -> int:
    return max(1, min(wanted, n_usable // 2))


def encoder_training_ids(workspace) -> np.ndarray | None:
    """APOGEE_IDs of the pairs in the gradient steps of the workspace's encoder-decoder (the pairs file
    minus the validation pairs that :meth:`~latentexplorer.ved.VariationalEncoderDecoder.validation_split`
    drew for the model's recorded seed); None without ``model/`` and ``pairs.h5``, or when the pairs file
    no longer has the model's number of pairs."""
    ws = Workspace(workspace) if not isinstance(workspace, Workspace) else workspace
    if ws.missing("pairs") or not (ws.model / "metadata.json").is_file():
        return None
    training = json.loads((ws.model / "metadata.json").read_text()).get("training", {})
    config = training.get("config", {})
    with open_product(ws.pairs, ("APOGEE_ID",), "pairs") as f:
        ids = f["APOGEE_ID"][()].astype(str)
    n_pairs = training.get("n_train", -1) + training.get("n_val", -1)
    if n_pairs != ids.size or not {"validation_fraction", "seed"} <= set(config):
        logger.warning("%s does not hold the %s pairs the model was trained on: audits cannot hold its training "
                       "stars out", ws.pairs, training.get("n_train", "?"))
        return None
    from .ved import VariationalEncoderDecoder

    train, _ = VariationalEncoderDecoder.validation_split(ids.size, config["validation_fraction"], config["seed"])
    return ids[train]


def _age_holdout(ws, sample, eligible, n_train, enabled=True) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """The encoder's training IDs and the indices of the seismic stars it never trained on — the stars kept
    for calibrating and testing age forests — or (None, None) where there is no model, the hold-out is
    switched off, or fewer than ``n_train`` training or 20 test-and-calibration stars would be eligible;
    and a sentence saying which."""
    seen = encoder_training_ids(ws) if enabled else None
    if seen is None:
        return None, None, "Test stars are drawn from all stars" + ("" if enabled else " (hold-out switched off)") + "."
    unseen = np.flatnonzero(~np.isin(sample.apogee_id, seen))
    pool, held = np.setdiff1d(eligible, unseen).size, np.intersect1d(eligible, unseen).size
    if pool < n_train or held < 20:
        logger.warning("holding the encoder's %d training stars out leaves %d age-training and %d test stars: "
                       "test stars are drawn from all stars", seen.size, pool, held)
        return None, None, (f"Test stars are drawn from all stars: holding the encoder's {seen.size} training "
                            f"stars out would leave {held} age test stars.")
    return seen, unseen, (f"Test and calibration stars are only stars the encoder never trained on (its "
                          f"{seen.size} training pairs are held out of every test set); forests train on the others.")


def audit_workspace(workspace, n_train=None, n_trees=100, seed=0, baseline=True, max_label_stars=20_000,
                    hold_out_encoder_training=True, progress=True) -> WorkspaceAudits:
    """Run the paper's latent-space audits on a workspace.

    Parameters
    ----------
    workspace : Workspace or path
        Needs what :func:`train_age_model` needs; the spectra for the baseline.
    n_train : int, optional
        Training stars of the age audits; default that of the saved age model (``forest/``), else 1,200.
        The RC/RGB audit uses the same number; the label and seismic audits use 2,000 (paper section 5),
        at most half of the usable stars.
    n_trees, seed
        Trees per forest; the split and forest seed (the saved model's seed gives its very split).
    baseline : bool
        Also run :func:`~latentexplorer.diagnostics.spectrum_baseline_audit` on the survey spectra.
    max_label_stars : int
        The label audit uses a random subset of at most this many stars with a latent representation.
    hold_out_encoder_training : bool
        Test (and calibrate) only on stars the encoder-decoder never trained on, as the paper's Figs. 7–10
        do: with ``model/`` and ``pairs.h5`` in the workspace, the pairs of its gradient steps
        (:func:`encoder_training_ids`) may train the forests but are never scored. Falls back to all
        stars, with a warning, where that would leave fewer than 20 age test stars.
    progress : bool
        Progress bar over the audits.

    Returns
    -------
    WorkspaceAudits
    """
    ws = Workspace(workspace) if not isinstance(workspace, Workspace) else workspace
    inputs = load_inputs(ws)
    sample = load_seismic_sample(ws, inputs)
    if n_train is None:
        meta = ws.forest / AgeModel.METADATA_FILE
        n_train = json.loads(meta.read_text())["n_train"] if meta.is_file() else diag.AGE_TRAIN_SIZE
    params = {"n_estimators": n_trees}
    bar = tqdm(total=6 + bool(baseline), desc="audits", unit="audit", disable=not progress)

    fe_h, alpha_m = inputs.column("FE_H"), inputs.column("ALPHA_M")
    labels_all = {"fe_h": fe_h, "alpha_m": alpha_m, "n_h": inputs.column("N_FE") + fe_h,
                  "c_n": inputs.column("C_FE") - inputs.column("N_FE"), "teff": inputs.column("TEFF")}
    with_latent = np.flatnonzero((inputs.flags & int(LATENT_FLAGS)) == 0)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(with_latent, min(max_label_stars, with_latent.size), replace=False))
    label_truth = {k: v[rows] for k, v in labels_all.items()}
    s_fe_h, s_alpha = fe_h[sample.rows], alpha_m[sample.rows]
    eligible = _age_eligible(inputs, sample)
    eligible = eligible[np.isfinite(s_alpha[eligible])]
    seen, holdout, holdout_text = _age_holdout(ws, sample, eligible, n_train, hold_out_encoder_training)
    label_holdout = (None if seen is None else
                     np.flatnonzero(~np.isin(np.asarray(inputs.allstar["APOGEE_ID"]).astype(str)[rows], seen)))

    def train_size(usable, wanted, reserved):
        """Training stars: at most half the usable ones, from those not reserved for testing."""
        return _label_train_size(int(usable.sum()) - (0 if reserved is None else int(usable[reserved].sum())), wanted)

    labels = {}
    for name, values in label_truth.items():
        labels.update(diag.label_audit(inputs.z_mean[rows], {name: values}, latent_err=inputs.z_std[rows],
                                       n_train=train_size(np.isfinite(values), diag.LABEL_TRAIN_SIZE, label_holdout),
                                       seed=seed, holdout=label_holdout, forest_params=params))
    bar.update()

    z, z_err = inputs.z_mean[sample.rows], inputs.z_std[sample.rows]
    has_z = np.isfinite(z).all(axis=1)
    seismic = diag.seismic_audit(z, sample.numax, sample.deltanu, latent_err=z_err, seed=seed, holdout=holdout,
                                 n_train=train_size(has_z & _finite(sample.numax, sample.deltanu),
                                                    diag.LABEL_TRAIN_SIZE, holdout), forest_params=params)
    bar.update()
    evolstate = diag.evolstate_audit(z, sample.evolstate, latent_err=z_err, seed=seed, holdout=holdout,
                                     n_train=train_size(has_z & (sample.evolstate != ""), n_train, holdout),
                                     forest_params=params)
    bar.update()

    common = dict(n_train=n_train, seed=seed, forest_params=params, leakage_covariates=s_fe_h,
                  reference_log_age=sample.reference_log_age, rows=eligible, holdout=holdout)
    extras = {"teff": inputs.column("TEFF")[sample.rows], "fe_h": s_fe_h, "alpha_m": s_alpha}
    extras_err = {"teff": inputs.column("TEFF_ERR")[sample.rows], "fe_h": inputs.column("FE_H_ERR")[sample.rows],
                  "alpha_m": inputs.column("ALPHA_M_ERR")[sample.rows]}
    ages = diag.age_ablation(z, extras, sample.log_age, sample.log_age_err, sample.evolstate, latent_err=z_err,
                             extras_err=extras_err, alpha_m=s_alpha, **common)
    bar.update(2)

    references = _reference_audits(inputs, sample, extras, extras_err, n_train, seed, params, common)
    bar.update()
    base = None
    if baseline:
        spectra = _survey_spectra(ws, sample.apogee_id)
        if spectra is None:
            logger.warning("no spectra at %s: spectrum baseline skipped", ws.spectra)
        else:
            base = diag.spectrum_baseline_audit(spectra, sample.log_age, sample.log_age_err, sample.evolstate,
                                                alpha_m=s_alpha, **common)
        bar.update()
    bar.close()
    info = {"workspace": str(ws.root), "mock": ws.is_mock, "n_allstar": len(inputs), "latent_dim": int(z.shape[1]),
            "n_latent": int(with_latent.size), "n_age_inputs": int(inputs.has_age_inputs.sum()),
            "n_seismic": len(sample), "n_age_eligible": int(eligible.size), "n_trees": int(n_trees),
            "seed": int(seed), "leakage_reference": "true ages (mock)" if ws.is_mock else "seismic ages",
            "leakage_covariates": "[Fe/H]", "holdout": holdout_text}
    return WorkspaceAudits(labels, seismic, evolstate, ages, base, info, references, sample, z, s_fe_h, s_alpha,
                           label_truth)


def _reference_audits(inputs, sample, extras, extras_err, n_train, seed, params, age_kwargs) -> dict:
    """:func:`~latentexplorer.diagnostics.reference_audit` of :data:`REFERENCE_SETS` on the seismic stars,
    ages on the latent audits' stars and split (``age_kwargs``); a set whose columns are all missing is left out."""
    with np.errstate(invalid="ignore", divide="ignore"):
        log_numax, log_dnu = np.log10(sample.numax), np.log10(sample.deltanu)
        seismic_err = np.column_stack([sample.numax_err / sample.numax, sample.deltanu_err / sample.deltanu])
    seismic_err = np.nan_to_num(seismic_err / np.log(10.0), nan=0.0)
    col = {c: inputs.column(c)[sample.rows] for c in ("TEFF", "LOGG", "FE_H", "C_FE", "N_FE", "TEFF_ERR",
                                                      "LOGG_ERR", "FE_H_ERR", "C_FE_ERR", "N_FE_ERR")}
    aspcap_err = np.nan_to_num(np.column_stack([col["TEFF_ERR"], col["LOGG_ERR"], col["FE_H_ERR"],
                                                np.hypot(col["C_FE_ERR"], col["N_FE_ERR"])]), nan=0.0)
    sets = {
        "seismic": (np.column_stack([log_numax, log_dnu]), seismic_err, ("log_numax", "log_deltanu"),
                    {k: extras[k] for k in ("teff", "fe_h")}),
        "aspcap": (np.column_stack([col["TEFF"], col["LOGG"], col["FE_H"], col["C_FE"] - col["N_FE"]]), aspcap_err,
                   ("teff", "logg", "fe_h", "c_n"), {}),
    }
    known = sample.evolstate != ""
    holdout = age_kwargs.get("holdout")
    age_kwargs = {k: v for k, v in age_kwargs.items() if k not in ("seed", "forest_params", "holdout")}
    out = {}
    for name in REFERENCE_SETS:
        features, err, names, age_extras = sets[name]
        usable = np.isfinite(features).all(axis=1)
        if holdout is not None:
            usable[holdout] = False  # the training pool
        if not usable.any():
            logger.warning("reference %s: no star has %s; left out", name, ", ".join(names))
            continue
        out[name] = diag.reference_audit(
            features, name=name, feature_names=names, features_err=err, numax=sample.numax, deltanu=sample.deltanu,
            alpha_m=extras["alpha_m"], evolstate=sample.evolstate, log_age=sample.log_age,
            log_age_err=sample.log_age_err, age_extras=age_extras,
            age_extras_err={k: extras_err[k] for k in age_extras},
            n_label_train=_label_train_size(int(usable.sum()), diag.LABEL_TRAIN_SIZE),
            n_state_train=_label_train_size(int((usable & known).sum()), n_train), seed=seed, holdout=holdout,
            forest_params=params,
            **age_kwargs)
    return out
