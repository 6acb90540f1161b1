"""The latent-space age model: the age forest and the RC/RGB classifier, and the one path from a star's
inputs to its age (paper sections 3.2 and 7.1).

:meth:`AgeModel.posterior` and :meth:`AgeModel.predict` are used by the catalog and the star inspector
alike. They check the inputs' feature names against the model's; each tree sees the star's inputs
perturbed by their errors with noise drawn from the model's seed and the star's APOGEE_ID
(:func:`latentexplorer.forest.star_keys`), so a star's age depends on the star, the model and the seed —
never on which stars are predicted with it, the chunk size or the scheduler. ``Age`` and ``Age_Error`` are
the mean and standard deviation over trees of 10**(tree log-age) — the published catalog's recipe
(astroNN_ages) — and ``LogAge``, ``LogAge_Error`` the mean and calibrated spread of the log ages.
Training is :func:`latentexplorer.age_training.train_age_model`; persistence :mod:`latentexplorer.io.forest`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .forest import ProbabilisticRandomForestClassifier, ProbabilisticRandomForestRegressor, star_keys
from .selection import AgeInputs

__all__ = ["AgeModel", "AgePrediction"]


@dataclass
class AgePrediction:
    """Ages of n stars (NaN where a star gets none), as the catalog stores them.

    log_age, log_age_err : (n,) log10(age / Gyr) mean over trees and calibrated spread (dex);
    age, age_err : (n,) Gyr, mean and standard deviation over trees of 10**(tree log-age);
    p_rc : (n,) fraction of the classifier's trees voting RC (NaN without a latent representation).
    """

    log_age: np.ndarray
    log_age_err: np.ndarray
    age: np.ndarray
    age_err: np.ndarray
    p_rc: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        return {"log_age": self.log_age, "log_age_err": self.log_age_err, "age": self.age,
                "age_err": self.age_err, "p_rc": self.p_rc}


@dataclass
class AgeModel:
    """The age forest, the RC/RGB classifier, their metadata and the stars they were fitted on.

    metadata holds ``features`` (the input names, in order), ``latent_dim``, ``seed`` and the training
    record (split sizes, calibration, held-out scores); training_ids, calibration_ids (n,) str.
    """

    regressor: ProbabilisticRandomForestRegressor
    classifier: ProbabilisticRandomForestClassifier
    metadata: dict
    training_ids: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))
    calibration_ids: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))

    def __repr__(self) -> str:
        return (f"AgeModel({self.regressor.n_estimators} trees on {', '.join(self.feature_names)}; "
                f"{self.training_ids.size} training / {self.calibration_ids.size} calibration stars)")

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

    def posterior(self, inputs: AgeInputs) -> np.ndarray:
        """Per-tree log10(age / Gyr), shape (n, n_trees), stretched about their mean by the calibration;
        NaN rows for stars without age inputs (:attr:`AgeInputs.flags` ≠ 0)."""
        self._check(inputs)
        out = np.full((len(inputs), self.regressor.n_estimators), np.nan)
        aged = inputs.has_age_inputs
        if aged.any():
            sub = inputs.take(aged)
            out[aged] = self.regressor.predict_posterior(sub.features, X_err=sub.feature_errors,
                                                         noise_keys=self._keys(sub))
        return out

    def predict(self, inputs: AgeInputs) -> AgePrediction:
        """Ages and P(RC) of every star of ``inputs`` (see :class:`AgePrediction`)."""
        log_posterior = np.ascontiguousarray(self.posterior(inputs))  # rows reduced alike in any batch
        trees = 10.0 ** log_posterior  # NaN rows (no age) stay NaN
        values = (log_posterior.mean(axis=1), log_posterior.std(axis=1), trees.mean(axis=1), trees.std(axis=1))
        p_rc = np.full(len(inputs), np.nan)
        latent = inputs.has_latent
        if latent.any():
            sub = inputs.take(latent)
            classes = list(self.classifier.classes_)
            proba = self.classifier.predict_proba(sub.z_mean, X_err=sub.z_std, noise_keys=self._keys(sub))
            p_rc[latent] = proba[:, classes.index("RC")] if "RC" in classes else 0.0
        return AgePrediction(*values, p_rc)

    def save(self, directory) -> Path:
        """Write ``forest/`` (:func:`latentexplorer.io.forest.write_forest`)."""
        from .io.forest import write_forest

        return write_forest(directory, self.regressor, self.classifier, self.metadata, self.training_ids,
                            self.calibration_ids)

    @classmethod
    def load(cls, directory) -> AgeModel:
        """Read ``forest/`` (:func:`latentexplorer.io.forest.read_forest`); FileNotFoundError or ValueError."""
        from .io.forest import read_forest

        return cls(*read_forest(directory))
