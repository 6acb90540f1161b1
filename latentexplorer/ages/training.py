"""Fitting the latent-space age model on chosen seismic stars (paper sections 3.2 and 5).

:func:`fit_age_model` takes the stars' :class:`~latentexplorer.ages.inputs.AgeInputs` (z0…z4, Teff,
[Fe/H]), the seismic stars (:class:`~latentexplorer.selection.SeismicSample`: the label is the seismic
log10(age / Gyr) with error AGE_ERR / (AGE ln 10) dex) and which of them train and calibrate
(:mod:`latentexplorer.ages.split`). It fits the age forest on the training stars, rescales its tree spread
on the calibration stars so the pull distribution has unit width, fits the RC/RGB classifier (paper
Fig. 9) on the same training stars and features, and records their training support
(:class:`~latentexplorer.ages.support.TrainingSupport`): an :class:`~latentexplorer.ages.model.AgeModel`.
Choosing the stars on a workspace, scoring the test stars and writing ``forest/`` is the ``ages`` step
(:func:`latentexplorer.steps.ages.train_age_model`).
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from .. import __version__
from ..constants import AGE_LOGG_RANGE, LATENT_LOGG_RANGE, LATENT_MIN_SNREV
from ..selection import SeismicSample
from .forest import ProbabilisticRandomForestClassifier, ProbabilisticRandomForestRegressor
from .inputs import AgeInputs
from .model import AgeModel
from .support import TrainingSupport

__all__ = ["fit_age_model"]


def fit_age_model(inputs: AgeInputs, sample: SeismicSample, train, calibration, *, n_trees: int = 100, seed: int = 0,
                  input_noise: bool = False, min_samples_leaf: int = 5, progress: bool = True) -> AgeModel:
    """Fit the age forest and the RC/RGB classifier on the seismic stars ``train``, calibrate the forest's spread
    on the stars ``calibration`` (both indices into ``sample``; ``sample.rows`` are their rows of ``inputs``).

    Parameters
    ----------
    n_trees : int
        Trees per forest.
    seed : int
        Seeds the forests and the per-star input noise of every later prediction; the same stars and seed give
        the same model and ages.
    input_noise : bool
        Perturb every tree's inputs by their errors (z_std, Teff and [Fe/H] errors), in training and in every
        later prediction, as the paper's forest does. Off by default: measured on the demo, the noise drawn
        from the encoder's z_std blurs the latent dimensions the ages need (``benchmarks/bench_age_choices``;
        README "Ages, catalog and report").
    min_samples_leaf : int
        Fewest training stars in a leaf of every tree (default 5: measured on the demo, leaves of one star give
        every tree a noisier age, which widens the tree spread and biases the published ``Age`` recipe high).
    progress : bool
        Show a progress bar over the fits.

    The RC/RGB classifier takes the same inputs as the age forest (latent, Teff, [Fe/H]) with the same noise
    setting: the clump is told from the branch by Teff at fixed ν_max as much as by the latent. Its training
    stars are those of ``train`` with a known state.

    Returns
    -------
    AgeModel
        Its metadata records the features, the recipe, the split sizes, the calibration, the cuts, the encoder's
        fingerprint and the training support; the step adds the test scores.
    """
    train, calibration = np.asarray(train), np.asarray(calibration)
    X, X_err = inputs.features[sample.rows], inputs.feature_errors[sample.rows]
    y, y_err, state = sample.log_age, sample.log_age_err, sample.evolstate

    def noise(rows):
        """The input errors the trees resample for these rows: None without input noise."""
        return X_err[rows] if input_noise else None

    steps = tqdm(total=3, desc="age model", unit="step", disable=not progress)
    regressor = ProbabilisticRandomForestRegressor(n_estimators=n_trees, min_samples_leaf=min_samples_leaf,
                                                   random_state=seed, missing="propagate")
    regressor.fit(X[train], y[train], X_err=noise(train), y_err=y_err[train])
    steps.update()
    regressor.calibrate(X[calibration], y[calibration], y_err=y_err[calibration], X_err=noise(calibration))
    steps.update()
    labelled = train[state[train] != ""]
    classifier = ProbabilisticRandomForestClassifier(n_estimators=n_trees, min_samples_leaf=min_samples_leaf,
                                                     random_state=seed)
    classifier.fit(X[labelled], state[labelled], X_err=noise(labelled))
    steps.update()
    steps.close()
    k = inputs.latent_dim
    support = TrainingSupport.fit(X[train, :k], X[train, k], X[train, k + 1])
    metadata = {
        "package_version": __version__,
        "features": inputs.feature_names, "latent_dim": k, "label": "log10(age / Gyr)",
        "label_weighting": "1 / sigma_log10(age) (paper section 3.2)", "n_trees": int(n_trees), "seed": int(seed),
        "input_noise": bool(input_noise), "min_samples_leaf": int(min_samples_leaf),
        "classifier_features": inputs.feature_names,
        "n_train": int(train.size), "n_calibration": int(calibration.size),
        "calibration_scale": regressor.calibration_scale_,
        "calibration": "1.4826 MAD of (y_pred - y) / sqrt(sigma_y^2 + (s sigma_trees)^2) = 1 on the calibration split",
        "age_recipe": "Age, Age_Error: mean and std over trees of 10**(tree log10 age) (as astroNN_ages); "
                      "LogAge, LogAge_Error: mean and calibrated std of the tree log10 ages"
                      + ("; input noise per tree seeded by (seed, APOGEE_ID)" if input_noise else ""),
        "classes": [str(c) for c in classifier.classes_],
        "cuts": {"latent_logg": list(LATENT_LOGG_RANGE), "latent_min_snrev": LATENT_MIN_SNREV,
                 "age_logg": list(AGE_LOGG_RANGE)},
        "latent_model_fingerprint": inputs.model_fingerprint,
        "support": {"neighbours": support.neighbours, "latent_threshold": support.threshold,
                    "teff_range": list(support.teff_range), "fe_h_range": list(support.fe_h_range)},
    }
    return AgeModel.from_forests(regressor, classifier, metadata, sample.apogee_id[train],
                                 sample.apogee_id[calibration], support)
