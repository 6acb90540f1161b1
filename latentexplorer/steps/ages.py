"""The ages step: a workspace's latents and seismic stars → the age model in ``forest/`` (paper sections 3.2, 5).

The features are :class:`~latentexplorer.ages.inputs.AgeInputs`' (z0…z4, Teff, [Fe/H]); the label is the
seismic log10(age / Gyr). Of the seismic stars that pass the age cuts, ``n_train`` (default 1,200, as in the
paper) are drawn at random to train — from the stars the encoder-decoder trained on where its training
record says which (:func:`~latentexplorer.ages.split.encoder_holdout`) — and 30 % of the others
(:data:`~latentexplorer.ages.split.CALIBRATION_FRACTION`) calibrate the forest's spread; the rest are test
stars, scored in the returned summary (against the true ages too on a mock). The fit is
:func:`latentexplorer.ages.training.fit_age_model`; the model lands in ``forest/``
(:mod:`latentexplorer.ages.files`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..ages.files import FOREST_FILES
from ..ages.forest import robust_width
from ..ages.split import (AGE_TRAIN_SIZE, CALIBRATION_FRACTION, age_eligible, calibration_size, encoder_holdout,
                          split_indices)
from ..ages.training import fit_age_model
from ..workspace import Workspace
from .runtime.outputs import locks_output
from .runtime.provenance import records_provenance

__all__ = ["AgeTrainingSummary", "train_age_model"]

logger = logging.getLogger(__name__)


def _fractional_stats(log_age_true, log_age_pred) -> dict:
    """Fractional age residual (predicted / true − 1) statistics, as in the audits, with the median bias."""
    resid = 10.0 ** (np.asarray(log_age_pred) - np.asarray(log_age_true)) - 1.0
    if resid.size == 0:
        return {"n": 0, "bias": float("nan"), "median_bias": float("nan"), "scatter": float("nan"),
                "robust_scatter": float("nan")}
    return {"n": int(resid.size), "bias": float(resid.mean()), "median_bias": float(np.median(resid)),
            "scatter": float(resid.std()), "robust_scatter": robust_width(resid)}


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
        t, against = self.test, "the seismic ages"
        if "true_ages" in self.test:
            t, against = {**self.test, **self.test["true_ages"]}, "the true ages"

        def stats(v):
            return f"robust scatter {v['robust_scatter']:.1%}, median bias {v['median_bias']:+.1%}"

        by_state = "; ".join(f"{s} {stats(v)}" for s, v in t["by_state"].items())
        return (f"age forest: {self.n_train} training, {self.n_calibration} calibration, {self.n_test} test stars "
                f"(of {self.n_eligible} eligible); held-out ages against {against}: {stats(t['overall'])} "
                f"({by_state}); pull width {t['pull_width_mad']:.2f} after "
                f"calibration (×{self.calibration_scale:.2f}); RC/RGB misclassification "
                f"{t['misclassification_rate']:.1%} → {self.output}")


def _test_scores(model, inputs, sample, test, input_noise: bool) -> dict:
    """The held-out scores of a fitted model on the seismic stars ``test``: fractional age statistics overall and
    per state against the seismic ages (and the true ages on a mock), the pull widths, the RC/RGB
    misclassification rate."""
    X, X_err = inputs.features[sample.rows], inputs.feature_errors[sample.rows]
    y, y_err, state = sample.log_age, sample.log_age_err, sample.evolstate
    pred, pred_std = model.regressor.predict(X[test], X_err=X_err[test] if input_noise else None, return_std=True)
    pull = (pred - y[test]) / np.sqrt(y_err[test] ** 2 + pred_std**2)
    known = test[state[test] != ""]
    predicted_state = model.classifier.predict(X[known], X_err=X_err[known] if input_noise else None)

    def by_state(true):
        return {str(s): _fractional_stats(true[state[test] == s], pred[state[test] == s])
                for s in np.unique(state[test]) if s}

    scores = {
        "overall": _fractional_stats(y[test], pred), "by_state": by_state(y[test]), "against": "seismic ages",
        "pull_width_mad": robust_width(pull), "pull_width_std": float(np.std(pull)),
        "misclassification_rate": float(np.mean(predicted_state != state[known])) if known.size else float("nan"),
    }
    if sample.reference_log_age is not None:  # a mock: score against the true ages too
        true = sample.reference_log_age[test]
        scores["true_ages"] = {"overall": _fractional_stats(true, pred), "by_state": by_state(true)}
    return scores


def _forest_files(arguments) -> tuple[Path, ...]:
    """``forest/`` of the workspace a call of :func:`train_age_model` names, then every file in it."""
    forest = Workspace.of(arguments["workspace"]).paths.forest
    return (forest, *(forest / name for name in FOREST_FILES))


@locks_output(_forest_files)  # one run at a time; the temporaries a killed run left in forest/ are removed
@records_provenance("ages", lambda a: Workspace.of(a["workspace"]).paths.forest,
                    lambda a: Workspace.of(a["workspace"]).paths.sources("latent", "allstar", "seismic", "model"))
def train_age_model(workspace, n_train=AGE_TRAIN_SIZE, n_trees=100, seed=0, progress=True, *,
                    input_noise: bool = False, min_samples_leaf: int = 5) -> AgeTrainingSummary:
    """Train the age forest and the RC/RGB classifier of a workspace and save them in ``forest/``.

    Parameters
    ----------
    workspace : Workspace or path
        Needs ``latent.h5``, ``survey/allStar.fits`` and ``survey/seismic.fits``.
    n_train : int
        Training stars, drawn at random from the seismic stars that pass the age cuts — from those the
        encoder-decoder trained on where its training record says which, so that the calibration and
        test stars, like the survey's stars, are new to the encoder.
    n_trees, input_noise, min_samples_leaf
        The forests' recipe (:func:`~latentexplorer.ages.training.fit_age_model`).
    seed : int
        Seeds the split, the forests and the per-star input noise of every later prediction; the same
        inputs and seed give the same model and ages.
    progress : bool
        Show a progress bar over the fits.

    Returns
    -------
    AgeTrainingSummary

    Raises
    ------
    ValueError
        Too few eligible stars for ``n_train`` (the message gives the count), or bad arguments.
    """
    ws = Workspace.of(workspace)
    if not isinstance(n_trees, (int, np.integer)) or n_trees < 1:
        raise ValueError(f"n_trees must be a positive integer, got {n_trees!r}")
    inputs, sample = ws.age_inputs, ws.seismic_sample
    eligible = age_eligible(inputs, sample)
    if n_train < 1 or int(CALIBRATION_FRACTION * (eligible.size - n_train)) < 1:
        raise ValueError(f"{eligible.size} seismic stars pass the age cuts; n_train={n_train} must leave "
                         "some for calibration and testing (lower --n-train)")
    try:
        record = ws.training_record if ws.has("model") else None
    except FileNotFoundError as err:  # a model saved before models recorded their training pairs
        logger.warning("%s: the age forest's test stars are drawn from all stars", err)
        record = None
    _, holdout, holdout_text = encoder_holdout(record, sample, eligible, n_train)
    n_cal = calibration_size(eligible, n_train, holdout)
    train, cal, test = split_indices(eligible, n_train, seed, n_cal, holdout)
    model = fit_age_model(inputs, sample, train, cal, n_trees=n_trees, seed=seed, input_noise=input_noise,
                          min_samples_leaf=min_samples_leaf, progress=progress)
    scores = _test_scores(model, inputs, sample, test, input_noise)
    model.metadata.update(n_test=int(test.size), n_eligible=int(eligible.size), holdout=holdout_text, test=scores)
    model.save(ws.paths.forest)
    summary = AgeTrainingSummary(int(train.size), int(cal.size), int(test.size), int(eligible.size),
                                 model.regressor.calibration_scale_, scores, ws.paths.forest)
    logger.info("%s", summary)
    return summary
