"""Ages on held-out stars: one feature set (Fig. 10, :func:`age_audit`: fractional bias and scatter overall and
per state, pull widths before and after calibration, [α/M] leakage) and the feature ablations (Figs. 16–17,
:func:`age_ablation`, one :class:`AgeAudit` per feature set on one split)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..ages.forest import ProbabilisticRandomForestRegressor, robust_width
from .inputs import eligible, feature_inputs, forest_settings, latent_inputs, per_star, per_star_labels, star_columns
from .leakage import LeakageAudit, leakage_audit
from .results import AuditResult, per_star_field, residual_stats
from ..ages.split import AGE_TRAIN_SIZE, calibration_size, split_indices

__all__ = ["DEFAULT_ABLATIONS", "AgeStats", "AgeAudit", "age_audit", "age_ablation"]

logger = logging.getLogger(__name__)

#: Feature sets of the paper's ablations (Figs. 10, 16, 17), as extra columns added to the latent space.
DEFAULT_ABLATIONS = ((), ("teff",), ("fe_h",), ("teff", "fe_h"), ("teff", "fe_h", "alpha_m"))


@dataclass
class AgeStats(AuditResult):
    """Fractional age residuals (predicted / true − 1) of a group of test stars."""

    n: int
    bias: float
    scatter: float
    robust_scatter: float


@dataclass
class AgeAudit(AuditResult):
    """Held-out age performance of one feature set (Figs. 10, 16, 17).

    ``overall`` and ``by_state`` are fractional age statistics in Gyr space. Pull widths are of
    ``(ŷ − y) / sqrt(σ_y² + σ_ŷ²)`` in log10 age, as the standard deviation and as 1.4826 × MAD, with
    the forest's spread after calibration and (``*_uncalibrated``) before it; ``calibration_scale``
    is the factor fitted on the calibration split (1 without one). ``leakage`` is the [α/M] leakage
    test of the test stars' residuals when [α/M] was given.
    """

    name: str
    features: tuple
    n_train: int
    n_calibration: int
    n_test: int
    n_excluded: int
    overall: AgeStats
    by_state: dict
    pull_width_std: float
    pull_width_mad: float
    pull_width_std_uncalibrated: float
    pull_width_mad_uncalibrated: float
    calibration_scale: float
    leakage: LeakageAudit | None
    train_index: np.ndarray = per_star_field("train_index")
    test_index: np.ndarray = per_star_field("test_index")
    log_age_true: np.ndarray = per_star_field("log_age_true")
    log_age_err: np.ndarray = per_star_field("log_age_err")
    log_age_pred: np.ndarray = per_star_field("log_age_pred")
    log_age_pred_err: np.ndarray = per_star_field("log_age_pred_err")



def age_split(arrays, log_age_err, rows, n_train, n_calibration, seed, holdout):
    """The stars an age audit can use — finite in every one of ``arrays`` and in ``log_age_err``, among ``rows``,
    with a positive age error — the size of its calibration split (``n_calibration``, default
    :func:`~latentexplorer.ages.split.calibration_size`) and its (train, calibration, test) split."""
    usable = eligible(len(log_age_err), [*arrays, log_age_err], rows)
    usable = usable[log_age_err[usable] > 0]
    n_cal = calibration_size(usable, n_train, holdout) if n_calibration is None else n_calibration
    return usable, n_cal, split_indices(usable, n_train, seed, n_cal, holdout)


def _age_stats(age_true, age_pred) -> AgeStats:
    if age_true.size == 0:
        return AgeStats(0, float("nan"), float("nan"), float("nan"))
    bias, scatter, robust = residual_stats(age_true, age_pred, fractional=True)
    return AgeStats(int(age_true.size), bias, scatter, robust)


def age_audit(features, log_age, log_age_err, evolstate=None, *, features_err=None, alpha_m=None,
              reference_log_age=None, leakage_covariates=None, n_train=AGE_TRAIN_SIZE, n_calibration=None,
              seed=0, rows=None, holdout=None, forest_params=None, name="age", feature_names=()):
    """Fit the age forest on one feature set and score it on held-out stars (Fig. 10).

    Parameters
    ----------
    features : array_like of shape (n_stars, n_features)
        E.g. latent means with Teff (K) and [Fe/H] (dex) as extra columns.
    log_age, log_age_err : array_like of shape (n_stars,)
        Seismic log10(age / Gyr) and its error in dex (NaN where unknown).
    evolstate : array_like of shape (n_stars,), optional
        State labels (e.g. "RC", "RGB") for the per-state statistics.
    features_err : array_like broadcastable to features' shape, optional
        Feature uncertainties (z_std, Teff and [Fe/H] errors), resampled in every tree at fit and
        prediction.
    alpha_m : array_like of shape (n_stars,), optional
        [α/M]; when given, :func:`leakage_audit` is run on the test stars' residuals.
    leakage_covariates : array_like of shape (n_stars,) or (n_stars, k), optional
        Further quantities held fixed in the leakage test. Pass [Fe/H] when it is a feature: at
        fixed age [α/M] anti-correlates with [Fe/H], so an ordinary residual trend with [Fe/H] (a
        legitimate input) otherwise reads as [α/M] leakage.
    reference_log_age : array_like of shape (n_stars,), optional
        The log10 ages held fixed in the leakage test (default: the labels ``log_age``). Give
        noise-free ages where they are known (the mock's truth): at fixed *noisy* label age, [α/M]
        still tracks the true age when the two correlate, so any model that predicts age better than
        the label noise shows a positive slope even without [α/M] information (errors in variables).
        Compare such numbers only side by side, e.g. with :func:`spectrum_baseline_audit`.
    n_train, n_calibration, seed, rows, holdout
        Split: ``n_train`` training stars, ``n_calibration`` (default 30 % of the rest) to calibrate
        the uncertainties, the others for testing; ``rows`` limits the eligible stars; ``holdout``
        reserves stars for calibration and testing (see :func:`split_indices`; default calibration
        then 30 % of them).
    forest_params : dict, optional
        Overrides of the forest's parameters (default 100 trees, ``random_state=seed``).
    name, feature_names
        Labels stored on the result.

    Returns
    -------
    AgeAudit
    """
    features, feat_err, n = feature_inputs(features, features_err)
    log_age, log_age_err = per_star(log_age, n, "log_age"), per_star(log_age_err, n, "log_age_err")
    usable, _, (train, cal, test) = age_split([features, feat_err, log_age], log_age_err, rows, n_train,
                                              n_calibration, seed, holdout)

    forest = ProbabilisticRandomForestRegressor(**forest_settings(seed, forest_params))
    forest.fit(features[train], log_age[train], X_err=feat_err[train], y_err=log_age_err[train])
    raw_pred, raw_std = forest.predict(features[test], X_err=feat_err[test], return_std=True)
    if cal.size:
        forest.calibrate(features[cal], log_age[cal], y_err=log_age_err[cal], X_err=feat_err[cal])
    pred_std = forest.calibration_scale_ * raw_std

    truth, truth_err = log_age[test], log_age_err[test]

    def pull_widths(std):
        pull = (raw_pred - truth) / np.sqrt(truth_err**2 + std**2)
        return float(np.std(pull)), robust_width(pull)

    age_true, age_pred = 10.0**truth, 10.0**raw_pred
    by_state = {}
    if evolstate is not None:
        states = per_star_labels(evolstate, n, "evolstate")[test]
        by_state = {str(s): _age_stats(age_true[states == s], age_pred[states == s]) for s in np.unique(states)}
    leakage = None
    if alpha_m is not None:
        alpha_m = per_star(alpha_m, n, "alpha_m")
        cov = None if leakage_covariates is None else star_columns(leakage_covariates, "leakage_covariates", n)[test]
        ref = log_age if reference_log_age is None else per_star(reference_log_age, n, "reference_log_age")
        leakage = leakage_audit(ref[test], raw_pred, alpha_m[test], covariates=cov)
    (pull_std, pull_mad), (pull_std_raw, pull_mad_raw) = pull_widths(pred_std), pull_widths(raw_std)
    audit = AgeAudit(
        name=name, features=tuple(feature_names), n_train=train.size, n_calibration=cal.size,
        n_test=test.size, n_excluded=n - usable.size, overall=_age_stats(age_true, age_pred),
        by_state=by_state, pull_width_std=pull_std, pull_width_mad=pull_mad,
        pull_width_std_uncalibrated=pull_std_raw, pull_width_mad_uncalibrated=pull_mad_raw,
        calibration_scale=forest.calibration_scale_, leakage=leakage, train_index=train, test_index=test,
        log_age_true=truth, log_age_err=truth_err, log_age_pred=raw_pred, log_age_pred_err=pred_std,
    )
    logger.info(
        "%s: bias %.3f, scatter %.3f, pull width %.2f (uncalibrated %.2f)",
        name, audit.overall.bias, audit.overall.scatter, pull_mad, pull_mad_raw,
    )
    return audit


def age_ablation(latent, extras, log_age, log_age_err, evolstate=None, *, latent_err=None, extras_err=None,
                 alpha_m=None, combinations=DEFAULT_ABLATIONS, **kwargs):
    """Run :func:`age_audit` for several feature sets on one common split (Figs. 10, 16, 17).

    Parameters
    ----------
    latent, latent_err : array_like of shape (n_stars, n_latent)
        Latent means and uncertainties.
    extras : mapping of str to array_like of shape (n_stars,)
        Candidate extra columns, e.g. ``{"teff": ..., "fe_h": ..., "alpha_m": ...}``.
    extras_err : mapping of str to array_like of shape (n_stars,), optional
        Their uncertainties (0 for those not given).
    alpha_m : array_like of shape (n_stars,), optional
        [α/M] for the leakage test of every feature set.
    combinations : sequence of tuples of str
        Extra columns per feature set; ``()`` is the latent space alone.
    **kwargs
        Passed on to :func:`age_audit` (``n_train``, ``seed``, ``forest_params``, ...).

    Returns
    -------
    dict of str to AgeAudit
        Keyed ``"latent"``, ``"latent+teff"``, ``"latent+teff+fe_h"``, ...
    """
    latent, latent_err, n = latent_inputs(latent, latent_err)
    latent_err = np.zeros_like(latent) if latent_err is None else latent_err
    extras_err = extras_err or {}
    used = sorted({name for combo in combinations for name in combo})
    missing = [name for name in used if name not in extras]
    if missing:
        raise ValueError(f"combinations use columns not given in extras: {missing}")
    cols = {name: per_star(extras[name], n, name) for name in used}
    errs = {name: np.zeros(n) if name not in extras_err else per_star(extras_err[name], n, f"{name} error")
            for name in used}
    # One split for all feature sets: stars usable by the largest set.
    common = eligible(n, [latent, latent_err, *cols.values(), *errs.values()], kwargs.pop("rows", None))
    audits = {}
    for combo in combinations:
        key = "+".join(("latent",) + tuple(combo))
        X = np.column_stack([latent] + [cols[c] for c in combo])
        X_err = np.column_stack([latent_err] + [errs[c] for c in combo])
        audits[key] = age_audit(X, log_age, log_age_err, evolstate, features_err=X_err, alpha_m=alpha_m,
                                rows=common, name=key, feature_names=combo, **kwargs)
    return audits
