"""Latent → evolutionary state on held-out stars (Fig. 9, :func:`evolstate_audit`): the RC / RGB confusion
matrix and misclassification rates."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import confusion_matrix

from ..ages.forest import ProbabilisticRandomForestClassifier
from .inputs import LABEL_TRAIN_SIZE, eligible, fit_predict, forest_settings, latent_inputs, per_star_labels
from .results import AuditResult, per_star_field
from ..ages.split import split_indices

__all__ = ["ClassificationAudit", "evolstate_audit"]

logger = logging.getLogger(__name__)


@dataclass
class ClassificationAudit(AuditResult):
    """Held-out evolutionary-state classification (Fig. 9).

    ``confusion[i][j]`` counts test stars of true class ``labels[i]`` predicted as ``labels[j]``;
    ``error_rates[label]`` is the fraction of that class predicted as another one.
    """

    labels: tuple
    confusion: list
    misclassification_rate: float
    error_rates: dict
    n_train: int
    n_test: int
    n_excluded: int
    test_index: np.ndarray = per_star_field("test_index")
    prediction: np.ndarray = per_star_field("prediction")


def evolstate_audit(latent, state, *, latent_err=None, n_train=LABEL_TRAIN_SIZE, seed=0, rows=None,
                    holdout=None, forest_params=None):
    """Classify the evolutionary state (e.g. ``"RC"`` / ``"RGB"``) from the latent space (Fig. 9).

    ``state`` is an (n_stars,) array of class labels; stars whose label is ``None`` or empty are left
    out. Other arguments as in :func:`label_audit`. Returns a :class:`ClassificationAudit`.
    """
    latent, latent_err, n = latent_inputs(latent, latent_err)
    state = per_star_labels(state, n, "state")
    known = np.array([s is not None and str(s).strip() != "" for s in state], dtype=bool)
    usable = eligible(n, [latent, latent_err], rows)
    usable = usable[known[usable]]
    train, _, test = split_indices(usable, n_train, seed, holdout=holdout)
    clf = ProbabilisticRandomForestClassifier(**forest_settings(seed, forest_params))
    pred = fit_predict(clf, latent, latent_err, state, train, test)
    labels = tuple(np.unique(state[usable]).tolist())
    cm = confusion_matrix(state[test], pred, labels=list(labels))
    per_class = cm.sum(axis=1)
    rates = {lab: float(1.0 - cm[i, i] / per_class[i]) if per_class[i] else float("nan")
             for i, lab in enumerate(labels)}
    audit = ClassificationAudit(
        labels=labels, confusion=cm.tolist(), misclassification_rate=float(1.0 - np.trace(cm) / cm.sum()),
        error_rates=rates, n_train=train.size, n_test=test.size, n_excluded=n - usable.size,
        test_index=test, prediction=pred,
    )
    logger.info("latent → state: misclassification %.3f", audit.misclassification_rate)
    return audit
