"""Training the latent-space age model on a workspace's seismic stars (paper sections 3.2 and 5).

The features are :class:`~latentexplorer.selection.AgeInputs`' (z0…z4, Teff, [Fe/H]) with their errors
resampled in every tree; the label is the seismic log10(age / Gyr) with error AGE_ERR / (AGE ln 10) dex.
Of the seismic stars that pass the age cuts, ``n_train`` (default 1,200, as in the paper) are drawn at
random to train — from the stars the encoder-decoder trained on where its training record says which
(:func:`encoder_holdout`) — and 30 % of the others (:data:`~latentexplorer.audits.splits.CALIBRATION_FRACTION`)
form a calibration split on which the tree spread is rescaled so the pull distribution has unit width;
the rest are test stars, scored in the returned summary. An RC/RGB classifier on the latent space alone
(paper Fig. 9) is trained on the same training stars. The result is an
:class:`~latentexplorer.ages.model.AgeModel` saved in ``forest/``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import __version__
from ..audits.splits import AGE_TRAIN_SIZE, CALIBRATION_FRACTION, calibration_size, split_indices
from .model import AgeModel
from ..constants import AGE_LOGG_RANGE, LATENT_LOGG_RANGE, LATENT_MIN_SNREV
from .files import FOREST_FILES
from ..steps.runtime.outputs import locks_output
from ..steps.runtime.provenance import records_provenance
from .forest import ProbabilisticRandomForestClassifier, ProbabilisticRandomForestRegressor, robust_width
from ..selection import AgeInputs, SeismicSample, finite, seismic_sample
from .support import TrainingSupport
from ..workspace import Workspace

__all__ = ["AgeTrainingSummary", "age_eligible", "encoder_holdout", "workspace_seismic_sample", "train_age_model"]

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


def workspace_seismic_sample(ws: Workspace) -> SeismicSample:
    """The workspace's seismic stars matched to its allStar rows (true ages added on a mock)."""
    return seismic_sample(ws.seismic, ws.age_inputs, ws.truth if ws.is_mock else None,
                          names=(str(ws.paths.seismic), str(ws.paths.allstar)))


def age_eligible(inputs: AgeInputs, sample: SeismicSample) -> np.ndarray:
    """Indices (into the sample) of seismic stars with age inputs and a usable seismic age."""
    ok = inputs.has_age_inputs[sample.rows] & finite(sample.log_age, sample.log_age_err)
    with np.errstate(invalid="ignore"):
        ok &= sample.log_age_err > 0
    return np.flatnonzero(ok)


def encoder_holdout(ws: Workspace, sample: SeismicSample, eligible, n_train,
                    enabled=True) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """The encoder's training IDs (from its training record) and the indices of the seismic stars it never
    trained on — the stars kept for calibrating and testing age forests — or (None, None) where the
    workspace has no model or record, the hold-out is switched off, no star of the sample is in the record
    (a model trained on another survey: every star is new to it), or fewer than ``n_train`` training or
    20 test-and-calibration stars would be eligible; and a sentence saying which."""
    seen = None
    if enabled and ws.has("model"):
        try:
            seen = ws.training_record.train_ids
        except FileNotFoundError as err:
            logger.warning("%s: audits cannot hold the encoder's training stars out", err)
    if seen is None:
        return None, None, "Test stars are drawn from all stars" + ("" if enabled else " (hold-out switched off)") + "."
    unseen = np.flatnonzero(~np.isin(sample.apogee_id, seen))
    if unseen.size == len(sample):
        return None, None, (f"Every seismic star is new to the encoder (it trained on {seen.size} pairs of another "
                            "survey): test and calibration stars are drawn from all of them.")
    pool, held = np.setdiff1d(eligible, unseen).size, np.intersect1d(eligible, unseen).size
    if pool < n_train or held < 20:
        logger.warning("holding the encoder's %d training stars out leaves %d age-training and %d test stars: "
                       "test stars are drawn from all stars", seen.size, pool, held)
        return None, None, (f"Test stars are drawn from all stars: holding the encoder's {seen.size} training "
                            f"stars out would leave {held} age test stars.")
    return seen, unseen, (f"Test and calibration stars are only stars the encoder never trained on (its "
                          f"{seen.size} training pairs are held out of every test set); forests train on the others.")


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
    n_trees : int
        Trees per forest.
    seed : int
        Seeds the split, the forests and the per-star input noise of every later prediction; the same
        inputs and seed give the same model and ages.
    progress : bool
        Show a progress bar over the steps.
    input_noise : bool
        Perturb every tree's inputs by their errors (z_std, Teff and [Fe/H] errors), in training and in every
        later prediction, as the paper's forest does. Off by default: measured on the demo, the noise drawn
        from the encoder's z_std blurs the latent dimensions the ages need (``benchmarks/bench_age_choices``;
        README "Ages, catalog and report").
    min_samples_leaf : int
        Fewest training stars in a leaf of every tree (default 5: measured on the demo, leaves of one star give
        every tree a noisier age, which widens the tree spread and biases the published ``Age`` recipe high).

    The RC/RGB classifier takes the same inputs as the age forest (latent, Teff, [Fe/H]) with the same noise
    setting: the clump is told from the branch by Teff at fixed ν_max as much as by the latent.

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
    inputs = ws.age_inputs
    sample = workspace_seismic_sample(ws)
    eligible = age_eligible(inputs, sample)
    if n_train < 1 or int(CALIBRATION_FRACTION * (eligible.size - n_train)) < 1:
        raise ValueError(f"{eligible.size} seismic stars pass the age cuts; n_train={n_train} must leave "
                         "some for calibration and testing (lower --n-train)")
    _, holdout, holdout_text = encoder_holdout(ws, sample, eligible, n_train)
    n_cal = calibration_size(eligible, n_train, holdout)
    train, cal, test = split_indices(eligible, n_train, seed, n_cal, holdout)
    X, X_err = inputs.features[sample.rows], inputs.feature_errors[sample.rows]
    y, y_err, state = sample.log_age, sample.log_age_err, sample.evolstate

    def noise(rows):
        """The input errors the trees resample for these rows: None without input noise."""
        return X_err[rows] if input_noise else None


    steps = tqdm(total=4, desc="age model", unit="step", disable=not progress)
    regressor = ProbabilisticRandomForestRegressor(n_estimators=n_trees, min_samples_leaf=min_samples_leaf,
                                                   random_state=seed, missing="propagate")
    regressor.fit(X[train], y[train], X_err=noise(train), y_err=y_err[train])
    steps.update()
    regressor.calibrate(X[cal], y[cal], y_err=y_err[cal], X_err=noise(cal))
    steps.update()
    k = inputs.latent_dim
    labelled = train[state[train] != ""]
    classifier = ProbabilisticRandomForestClassifier(n_estimators=n_trees, min_samples_leaf=min_samples_leaf,
                                                     random_state=seed)
    classifier.fit(X[labelled], state[labelled], X_err=noise(labelled))
    steps.update()
    pred, pred_std = regressor.predict(X[test], X_err=noise(test), return_std=True)
    pull = (pred - y[test]) / np.sqrt(y_err[test] ** 2 + pred_std**2)
    known = test[state[test] != ""]
    predicted_state = classifier.predict(X[known], X_err=noise(known))
    steps.update()
    steps.close()
    scores = {
        "overall": _fractional_stats(y[test], pred),
        "by_state": {str(s): _fractional_stats(y[test][state[test] == s], pred[state[test] == s])
                     for s in np.unique(state[test]) if s},
        "against": "seismic ages",
        "pull_width_mad": robust_width(pull),
        "pull_width_std": float(np.std(pull)),
        "misclassification_rate": float(np.mean(predicted_state != state[known])) if known.size else float("nan"),
    }
    if sample.reference_log_age is not None:  # a mock: score against the true ages too
        true = sample.reference_log_age[test]
        scores["true_ages"] = {
            "overall": _fractional_stats(true, pred),
            "by_state": {str(s): _fractional_stats(true[state[test] == s], pred[state[test] == s])
                         for s in np.unique(state[test]) if s}}
    metadata = {
        "package_version": __version__,
        "features": inputs.feature_names, "latent_dim": k, "label": "log10(age / Gyr)",
        "label_weighting": "1 / sigma_log10(age) (paper section 3.2)", "n_trees": int(n_trees), "seed": int(seed),
        "input_noise": bool(input_noise), "min_samples_leaf": int(min_samples_leaf),
        "classifier_features": inputs.feature_names,
        "n_train": int(train.size), "n_calibration": int(cal.size), "n_test": int(test.size),
        "n_eligible": int(eligible.size), "holdout": holdout_text, "calibration_scale": regressor.calibration_scale_,
        "calibration": "1.4826 MAD of (y_pred - y) / sqrt(sigma_y^2 + (s sigma_trees)^2) = 1 on the calibration split",
        "age_recipe": "Age, Age_Error: mean and std over trees of 10**(tree log10 age) (as astroNN_ages); "
                      "LogAge, LogAge_Error: mean and calibrated std of the tree log10 ages"
                      + ("; input noise per tree seeded by (seed, APOGEE_ID)" if input_noise else ""),
        "classes": [str(c) for c in classifier.classes_],
        "cuts": {"latent_logg": list(LATENT_LOGG_RANGE), "latent_min_snrev": LATENT_MIN_SNREV,
                 "age_logg": list(AGE_LOGG_RANGE)},
        "latent_model_fingerprint": inputs.model_fingerprint, "test": scores,
    }
    support = TrainingSupport.fit(X[train, :k], X[train, k], X[train, k + 1])
    metadata["support"] = {"neighbours": support.neighbours, "latent_threshold": support.threshold,
                           "teff_range": list(support.teff_range), "fe_h_range": list(support.fe_h_range)}
    model = AgeModel.from_forests(regressor, classifier, metadata, sample.apogee_id[train], sample.apogee_id[cal],
                                  support)
    model.save(ws.paths.forest)
    summary = AgeTrainingSummary(int(train.size), int(cal.size), int(test.size), int(eligible.size),
                                 regressor.calibration_scale_, scores, ws.paths.forest)
    logger.info("%s", summary)
    return summary
