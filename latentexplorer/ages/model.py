"""The latent-space age model: the age forest and the RC/RGB classifier, and the one path from a star's
inputs to its age (paper sections 3.2 and 7.1).

:meth:`AgeModel.posterior` and :meth:`AgeModel.predict` are used by the catalog and the star inspector
alike. They check the inputs' feature names against the model's. Where the model was trained with input
noise (``metadata["input_noise"]``; the paper's recipe, off by default), each tree sees the star's
inputs perturbed by their errors with noise drawn from the model's seed and the star's APOGEE_ID
(:func:`latentexplorer.ages.noise.star_keys`), so a star's age depends on the star, the model and the seed —
never on which stars are predicted with it, the chunk size or the scheduler. ``Age`` and ``Age_Error`` are
the mean and standard deviation over trees of 10**(tree log-age) — the published catalog's recipe
(astroNN_ages) — and ``LogAge``, ``LogAge_Error`` the mean and calibrated spread of the log ages.
Fitting is :func:`latentexplorer.ages.training.fit_age_model`; persistence :mod:`latentexplorer.ages.files`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..selection import AgeFlag
from .inputs import AgeInputs
from .noise import star_keys
from .support import TrainingSupport
from .trees import TreeArrays

__all__ = ["AgeModel", "AgePrediction"]


@dataclass
class AgePrediction:
    """Ages of n stars (NaN where a star gets none), as the catalog stores them.

    log_age, log_age_err : (n,) log10(age / Gyr) mean over trees and calibrated spread (dex);
    age, age_err : (n,) Gyr, mean and standard deviation over trees of 10**(tree log-age);
    p_rc : (n,) fraction of the classifier's trees voting RC (NaN without its inputs: a latent representation,
    and Teff and [Fe/H] for a classifier on the age features);
    ood_flags : (n,) int32 :data:`~latentexplorer.selection.OOD_FLAGS` bits of the stars with age inputs
    (0 where the model has no training support recorded).
    """

    log_age: np.ndarray
    log_age_err: np.ndarray
    age: np.ndarray
    age_err: np.ndarray
    p_rc: np.ndarray
    ood_flags: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        return {"log_age": self.log_age, "log_age_err": self.log_age_err, "age": self.age,
                "age_err": self.age_err, "p_rc": self.p_rc, "ood_flags": self.ood_flags}


class AgeModel:
    """The age forest, the RC/RGB classifier, their metadata and the stars they were fitted on.

    Ages come from the forest's trees as plain arrays (:class:`~latentexplorer.ages.trees.TreeArrays`), so
    predicting an age needs no scikit-learn (a dashboard kernel loads in a second and ~150 MB less); the
    scikit-learn forests themselves (:attr:`regressor`, :attr:`classifier`) are loaded on first use — P(RC)
    and saving need them.

    Parameters
    ----------
    trees : TreeArrays
    metadata : dict
        ``features`` (the input names, in order), ``latent_dim``, ``seed`` and the training record (split
        sizes, calibration, held-out scores).
    training_ids, calibration_ids : (n,) str
    forests : (regressor, classifier), or a callable returning them (loaded on first use)
    support : :class:`~latentexplorer.ages.support.TrainingSupport` of the training stars, or None
    """

    def __init__(self, trees: TreeArrays, metadata: dict, training_ids=(), calibration_ids=(), forests=None,
                 support: TrainingSupport | None = None):
        self.trees, self.metadata, self.support = trees, metadata, support
        self.training_ids = np.asarray(training_ids, dtype=str)
        self.calibration_ids = np.asarray(calibration_ids, dtype=str)
        self._forests = forests

    @classmethod
    def from_forests(cls, regressor, classifier, metadata: dict, training_ids=(), calibration_ids=(),
                     support: TrainingSupport | None = None) -> AgeModel:
        """The model of fitted forests (:func:`latentexplorer.ages.training.fit_age_model`)."""
        return cls(regressor.trees_, metadata, training_ids, calibration_ids, (regressor, classifier), support)

    def __repr__(self) -> str:
        return (f"AgeModel({self.trees.n_trees} trees on {', '.join(self.feature_names)}; "
                f"{self.training_ids.size} training / {self.calibration_ids.size} calibration stars)")

    def _load_forests(self) -> tuple:
        if callable(self._forests):
            self._forests = self._forests()
        return self._forests

    @property
    def regressor(self):
        """The age forest (:class:`~latentexplorer.ages.forest.ProbabilisticRandomForestRegressor`), loaded on
        first use."""
        return self._load_forests()[0]

    @property
    def classifier(self):
        """The RC/RGB forest (:class:`~latentexplorer.ages.forest.ProbabilisticRandomForestClassifier`), loaded on
        first use."""
        return self._load_forests()[1]

    @property
    def latent_dim(self) -> int:
        return int(self.metadata["latent_dim"])

    @property
    def feature_names(self) -> list[str]:
        return list(self.metadata["features"])

    @property
    def seed(self) -> int:
        return int(self.metadata["seed"])

    def _check(self, inputs: AgeInputs) -> None:
        if list(inputs.feature_names) != self.feature_names:
            raise ValueError(f"the age model takes the features {', '.join(self.feature_names)}; the inputs "
                             f"give {', '.join(inputs.feature_names)}: was it trained on another encoder?")

    def _keys(self, inputs: AgeInputs) -> np.ndarray:
        return star_keys(inputs.apogee_id, self.seed)

    @property
    def input_noise(self) -> bool:
        """Whether every tree sees the inputs perturbed by their errors (older forests, which do not record
        it, always did)."""
        return bool(self.metadata.get("input_noise", True))

    def _classifier_inputs(self, inputs: AgeInputs) -> tuple:
        """(rows, X, X_err or None) of the RC/RGB classifier: the rows holding its inputs, and those inputs —
        the latent alone (older forests, which do not record ``classifier_features``) or the age features,
        with errors where the model perturbs its inputs."""
        if self.metadata.get("classifier_features", "latent") == "latent":
            rows = inputs.has_latent
            return rows, inputs.z_mean[rows], inputs.z_std[rows]
        X_err = inputs.feature_errors if self.input_noise else None
        rows = inputs.has_latent & np.isfinite(inputs.features).all(axis=1)
        if X_err is not None:
            rows &= np.isfinite(X_err).all(axis=1)
        return rows, inputs.features[rows], None if X_err is None else X_err[rows]

    def posterior(self, inputs: AgeInputs) -> np.ndarray:
        """Per-tree log10(age / Gyr), shape (n, n_trees), stretched about their mean by the calibration;
        NaN rows for stars without age inputs (:attr:`AgeInputs.flags` ≠ 0). Bit for bit the regressor's
        ``predict_posterior`` with the stars' noise keys."""
        self._check(inputs)
        out = np.full((len(inputs), self.trees.n_trees), np.nan)
        aged = inputs.has_age_inputs
        if aged.any():
            sub = inputs.take(aged)
            noisy = self.input_noise
            out[aged] = self.trees.posterior(sub.features, X_err=sub.feature_errors if noisy else None,
                                             noise_keys=self._keys(sub) if noisy else None)
        return out

    def predict(self, inputs: AgeInputs) -> AgePrediction:
        """Ages and P(RC) of every star of ``inputs`` (see :class:`AgePrediction`)."""
        log_posterior = np.ascontiguousarray(self.posterior(inputs))  # rows reduced alike in any batch
        trees = 10.0 ** log_posterior  # NaN rows (no age) stay NaN
        values = (log_posterior.mean(axis=1), log_posterior.std(axis=1), trees.mean(axis=1), trees.std(axis=1))
        p_rc = np.full(len(inputs), np.nan)
        rows, X, X_err = self._classifier_inputs(inputs)
        if rows.any():
            classes = list(self.classifier.classes_)
            keys = None if X_err is None else self._keys(inputs.take(rows))
            proba = self.classifier.predict_proba(X, X_err=X_err, noise_keys=keys)
            p_rc[rows] = proba[:, classes.index("RC")] if "RC" in classes else 0.0
        return AgePrediction(*values, p_rc, self.ood_flags(inputs))

    def ood_flags(self, inputs: AgeInputs) -> np.ndarray:
        """(n,) int32 :data:`~latentexplorer.selection.OOD_FLAGS` bits: stars with age inputs whose latent
        means lie outside the training support, or whose Teff / [Fe/H] lie outside the training range."""
        flags = np.zeros(len(inputs), np.int32)
        aged = inputs.has_age_inputs
        if self.support is None or not aged.any():
            return flags
        sub = inputs.take(aged)
        bits = (np.where(self.support.outside_latent(sub.z_mean), int(AgeFlag.OUT_OF_SUPPORT), 0)
                | np.where(self.support.outside_labels(sub.column("TEFF"), sub.column("FE_H")),
                           int(AgeFlag.OUTSIDE_LABEL_RANGE), 0))
        flags[aged] = bits
        return flags

    def save(self, directory) -> Path:
        """Write ``forest/`` (:func:`latentexplorer.ages.files.write_forest`)."""
        from .files import write_forest

        return write_forest(directory, self.regressor, self.classifier, self.metadata, self.training_ids,
                            self.calibration_ids, self.support)

    @classmethod
    def load(cls, directory) -> AgeModel:
        """Read ``forest/``: metadata, tree arrays and star lists now, the scikit-learn forests on first use
        (:mod:`latentexplorer.ages.files`); FileNotFoundError or ValueError naming what is wrong."""
        from .files import read_forest, read_forest_ids, read_forest_metadata, read_support, read_tree_arrays

        metadata = read_forest_metadata(directory)
        return cls(read_tree_arrays(directory), metadata, *read_forest_ids(directory),
                   forests=lambda: read_forest(directory)[:2], support=read_support(directory))
