"""Latent-space audits: the analyses of Leung et al. (2023) sections 6.3 and 8.1 on plain arrays.

Every audit takes NumPy arrays (one row per star), splits the usable stars at random with a seed,
fits a :class:`~latentexplorer.ages.forest.ProbabilisticRandomForestRegressor` (or classifier) on the
training stars and scores the held-out ones. They return small dataclasses whose ``to_dict()`` gives
plain Python numbers for reports and tests; the per-star arrays (indices, truths, predictions) stay
on the object for plotting.

- Fig. 7, latent → [Fe/H], [α/M], [N/H], [C/N], Teff: :func:`label_audit` (bias, scatter, R²).
- Fig. 8, latent → ν_max, Δν, excess Δν: :func:`seismic_audit` (fractional bias and scatter, R²).
- Fig. 9, latent → RC / RGB: :func:`evolstate_audit` (confusion matrix, misclassification rates).
- Fig. 10, latent + Teff + [Fe/H] → age: :func:`age_audit` (fractional age bias and scatter overall
  and per state, pull-distribution widths before and after calibration).
- Figs. 16–17, feature ablations: :func:`age_ablation` (one :class:`AgeAudit` per feature set).
- [α/M] leakage: :func:`leakage_audit` (slope of the age residual with [α/M] at fixed true age, its
  error, partial correlation and p-value), run inside the age audits when [α/M] is given.
- Baseline, age straight from the spectra: :func:`spectrum_baseline_audit` (PCA + the same forest on
  the same split, through the same audit, for a side-by-side leakage comparison).
- Reference feature sets: :func:`reference_audit` runs the acceptance audits (ν_max, Δν, [α/M], RC/RGB,
  age) with other features in place of the latent space — e.g. the seismic ν_max and Δν themselves, the
  information a perfect latent space would hold, or the ASPCAP labels with [C/N]. They say what each
  target can reach on a given survey: a latent space cannot predict age better than exact ν_max and Δν
  with the same Teff, [Fe/H], training stars and label errors.

Conventions (the paper's): 2,000 random training stars for labels (:data:`LABEL_TRAIN_SIZE`), ~1,200
for ages (:data:`AGE_TRAIN_SIZE`), the rest held out; ages are fitted as log10(age / Gyr) with the
label error in dex; stars with a non-finite value in any input they need are left out (counted in
``n_excluded``). Age audits additionally hold out a calibration split (default 30 % of the held-out
stars) on which :meth:`~latentexplorer.ages.forest.ProbabilisticRandomForestRegressor.calibrate` scales the
tree spread; bias, scatter and pulls are measured on the remaining test stars only.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from sklearn.decomposition import PCA
from sklearn.metrics import confusion_matrix, r2_score

from ..ages.forest import ProbabilisticRandomForestClassifier, ProbabilisticRandomForestRegressor, robust_width
from ..ages.split import AGE_TRAIN_SIZE, calibration_size, split_indices
from ..seismo import excess_deltanu

__all__ = [
    "LABEL_TRAIN_SIZE",
    "DEFAULT_ABLATIONS",
    "RegressionAudit",
    "ClassificationAudit",
    "AgeStats",
    "LeakageAudit",
    "AgeAudit",
    "label_audit",
    "seismic_audit",
    "evolstate_audit",
    "age_audit",
    "age_ablation",
    "leakage_audit",
    "spectrum_baseline_audit",
    "ReferenceAudit",
    "reference_audit",
]

logger = logging.getLogger(__name__)

LABEL_TRAIN_SIZE = 2000  #: training stars for latent → label forests (paper section 5)

#: Feature sets of the paper's ablations (Figs. 10, 16, 17), as extra columns added to the latent space.
DEFAULT_ABLATIONS = ((), ("teff",), ("fe_h",), ("teff", "fe_h"), ("teff", "fe_h", "alpha_m"))


def _array(name):
    """A dataclass field holding a per-star array: kept on the object, left out of ``to_dict``."""
    return field(repr=False, metadata={"array": name})


def _plain(value):
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value


class _Result:
    def to_dict(self) -> dict:
        """Scalars, strings and nested results as plain Python types (per-star arrays left out)."""
        return {
            f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self) if "array" not in f.metadata
        }


@dataclass
class RegressionAudit(_Result):
    """Held-out performance of a latent → label forest (Figs. 7 and 8).

    ``bias`` and ``scatter`` are the mean and standard deviation of the residual (prediction − truth)
    in the label's units, or of the fractional residual (prediction / truth − 1) when ``fractional``;
    ``robust_scatter`` is 1.4826 × their median absolute deviation; ``r2`` the coefficient of
    determination of the predictions on the test stars.
    """

    label: str
    fractional: bool
    n_train: int
    n_test: int
    n_excluded: int
    bias: float
    scatter: float
    robust_scatter: float
    r2: float
    train_index: np.ndarray = _array("train_index")
    test_index: np.ndarray = _array("test_index")
    truth: np.ndarray = _array("truth")
    prediction: np.ndarray = _array("prediction")


@dataclass
class ClassificationAudit(_Result):
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
    test_index: np.ndarray = _array("test_index")
    prediction: np.ndarray = _array("prediction")


@dataclass
class AgeStats(_Result):
    """Fractional age residuals (predicted / true − 1) of a group of test stars."""

    n: int
    bias: float
    scatter: float
    robust_scatter: float


@dataclass
class LeakageAudit(_Result):
    """Dependence of the log-age residual on [α/M] at fixed true age.

    ``slope`` (dex of log10 age per dex of [α/M]) and ``slope_err`` come from least squares of the
    residual on [α/M] with, as nuisance terms, an intercept and a linear trend in true log-age inside
    each of ``n_bins`` true-age quantile bins (and any given covariates); ``partial_correlation`` is the
    correlation of the two after removing those terms, ``p_value`` the two-sided t-test of the slope,
    and ``leaks`` is ``p_value < significance``.
    """

    slope: float
    slope_err: float
    t_statistic: float
    p_value: float
    partial_correlation: float
    n: int
    n_bins: int
    significance: float
    leaks: bool


@dataclass
class AgeAudit(_Result):
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
    train_index: np.ndarray = _array("train_index")
    test_index: np.ndarray = _array("test_index")
    log_age_true: np.ndarray = _array("log_age_true")
    log_age_err: np.ndarray = _array("log_age_err")
    log_age_pred: np.ndarray = _array("log_age_pred")
    log_age_pred_err: np.ndarray = _array("log_age_pred_err")


def _columns(values, n, name) -> np.ndarray:
    """(n, k) float array from (n,) or (n, k) input, with a clear error on a row-count mismatch."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[0] != n:
        raise ValueError(f"{name} has shape {values.shape}; expected {n} rows (one per star)")
    return values


def _feature_errors(features_err, features) -> np.ndarray:
    """Feature uncertainties broadcast to ``features``' shape (zeros when None), with a clear error otherwise."""
    if features_err is None:
        return np.zeros_like(features)
    err = np.asarray(features_err, dtype=float)
    try:
        return np.broadcast_to(err, features.shape)
    except ValueError:
        raise ValueError(f"features_err has shape {err.shape}, features {features.shape}") from None


def _eligible(n, arrays, rows) -> np.ndarray:
    """Indices of the stars with finite values in every array and inside ``rows`` (mask or indices)."""
    ok = np.ones(n, bool)
    for a in arrays:
        ok &= np.isfinite(a.reshape(n, -1)).all(axis=1)
    if rows is not None:
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (n,):
                raise ValueError(f"rows mask has shape {rows.shape}; expected ({n},)")
            ok &= rows
        else:
            ok &= np.isin(np.arange(n), rows)
    return np.flatnonzero(ok)


def _forest_params(seed, forest_params):
    return {"n_estimators": 100, "random_state": seed, **(forest_params or {})}


def _residual_stats(truth, prediction, fractional):
    resid = prediction / truth - 1.0 if fractional else prediction - truth
    return float(np.mean(resid)), float(np.std(resid)), robust_width(resid)


def label_audit(latent, labels, *, latent_err=None, fractional=(), n_train=LABEL_TRAIN_SIZE, seed=0,
                rows=None, holdout=None, forest_params=None):
    """Predict each label from the latent space and score it on held-out stars (Fig. 7).

    Parameters
    ----------
    latent : array_like of shape (n_stars, n_latent)
        Latent means (``z_mean``).
    labels : mapping of str to array_like of shape (n_stars,)
        E.g. ``{"fe_h": ..., "alpha_m": ..., "n_h": ..., "c_n": ..., "teff": ...}``; NaN where unknown.
    latent_err : array_like of shape (n_stars, n_latent), optional
        Latent uncertainties (``z_std``), resampled in every tree (see :mod:`latentexplorer.ages.forest`).
    fractional : collection of str
        Labels scored by fractional residuals; these must be positive, are fitted as log10 and
        converted back before scoring.
    n_train, seed, rows, holdout, forest_params
        Training-set size, split seed, optional mask / indices of eligible stars, optional indices of the
        only stars that may be tested (see :func:`split_indices`), and overrides of the forest's
        parameters (default 100 trees, ``random_state=seed``).

    Returns
    -------
    dict of str to RegressionAudit
    """
    latent = np.asarray(latent, dtype=float)
    n = latent.shape[0]
    latent = _columns(latent, n, "latent")
    latent_err = None if latent_err is None else _columns(latent_err, n, "latent_err")
    unknown = set(fractional) - set(labels)
    if unknown:
        raise ValueError(f"fractional names labels that were not given: {sorted(unknown)}")
    audits = {}
    for name, values in labels.items():
        values = _columns(values, n, f"label {name!r}")[:, 0]
        frac = name in fractional
        target = np.log10(np.where(values > 0, values, np.nan)) if frac else values
        usable = _eligible(n, [latent, target] + ([] if latent_err is None else [latent_err]), rows)
        train, _, test = split_indices(usable, n_train, seed, holdout=holdout)
        forest = ProbabilisticRandomForestRegressor(**_forest_params(seed, forest_params))
        forest.fit(latent[train], target[train], X_err=None if latent_err is None else latent_err[train])
        pred = forest.predict(latent[test], X_err=None if latent_err is None else latent_err[test])
        pred = 10.0**pred if frac else pred
        bias, scatter, robust = _residual_stats(values[test], pred, frac)
        audits[name] = RegressionAudit(
            label=name, fractional=frac, n_train=train.size, n_test=test.size, n_excluded=n - usable.size,
            bias=bias, scatter=scatter, robust_scatter=robust, r2=float(r2_score(values[test], pred)),
            train_index=train, test_index=test, truth=values[test], prediction=pred,
        )
        logger.info("latent → %s: bias %.4g, scatter %.4g, R² %.3f", name, bias, scatter, audits[name].r2)
    return audits


def seismic_audit(latent, numax, deltanu, **kwargs):
    """Predict ν_max (μHz), Δν (μHz) and excess Δν (Δν over the paper's Eq. 6 expectation) from the
    latent space and score them by fractional residuals on held-out stars (Fig. 8).

    Keyword arguments are those of :func:`label_audit`. Returns ``{"numax", "deltanu",
    "excess_deltanu"}`` → :class:`RegressionAudit`.
    """
    numax = np.asarray(numax, dtype=float)
    deltanu = np.asarray(deltanu, dtype=float)
    if numax.shape != deltanu.shape:
        raise ValueError(f"numax has shape {numax.shape} but deltanu has shape {deltanu.shape}")
    labels = {"numax": numax, "deltanu": deltanu, "excess_deltanu": excess_deltanu(deltanu, numax)}
    return label_audit(latent, labels, fractional=tuple(labels), **kwargs)


def evolstate_audit(latent, state, *, latent_err=None, n_train=LABEL_TRAIN_SIZE, seed=0, rows=None,
                    holdout=None, forest_params=None):
    """Classify the evolutionary state (e.g. ``"RC"`` / ``"RGB"``) from the latent space (Fig. 9).

    ``state`` is an (n_stars,) array of class labels; stars whose label is ``None`` or empty are left
    out. Other arguments as in :func:`label_audit`. Returns a :class:`ClassificationAudit`.
    """
    latent = np.asarray(latent, dtype=float)
    n = latent.shape[0]
    latent = _columns(latent, n, "latent")
    latent_err = None if latent_err is None else _columns(latent_err, n, "latent_err")
    state = np.asarray(state)
    if state.shape != (n,):
        raise ValueError(f"state has shape {state.shape}; expected ({n},)")
    known = np.array([s is not None and str(s).strip() != "" for s in state], dtype=bool)
    usable = _eligible(n, [latent] + ([] if latent_err is None else [latent_err]), rows)
    usable = usable[known[usable]]
    train, _, test = split_indices(usable, n_train, seed, holdout=holdout)
    clf = ProbabilisticRandomForestClassifier(**_forest_params(seed, forest_params))
    clf.fit(latent[train], state[train], X_err=None if latent_err is None else latent_err[train])
    pred = clf.predict(latent[test], X_err=None if latent_err is None else latent_err[test])
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


def leakage_audit(log_age_true, log_age_pred, alpha_m, *, covariates=None, n_bins=5, significance=0.01):
    """Test whether age residuals depend on [α/M] at fixed true age.

    Parameters
    ----------
    log_age_true, log_age_pred : array_like of shape (n,)
        True (reference) and predicted log10(age / Gyr) of held-out stars; the residual is their
        difference. With noisy reference ages read the caveat under ``reference_log_age`` in
        :func:`age_audit`.
    alpha_m : array_like of shape (n,)
        [α/M] (dex) of the same stars.
    covariates : array_like of shape (n,) or (n, k), optional
        Further nuisance terms to hold fixed, e.g. [Fe/H] when the age model uses it (see
        ``leakage_covariates`` in :func:`age_audit`).
    n_bins : int
        True-age quantile bins; each gets its own intercept and linear trend in true log-age.
    significance : float
        Two-sided p-value below which ``leaks`` is True.

    Returns
    -------
    LeakageAudit
    """
    truth = np.asarray(log_age_true, dtype=float)
    n = truth.size
    pred = _columns(log_age_pred, n, "log_age_pred")[:, 0]
    alpha = _columns(alpha_m, n, "alpha_m")[:, 0]
    cov = np.empty((n, 0)) if covariates is None else _columns(covariates, n, "covariates")
    ok = np.isfinite(truth) & np.isfinite(pred) & np.isfinite(alpha) & np.isfinite(cov).all(axis=1)
    truth, resid, alpha, cov = truth[ok], pred[ok] - truth[ok], alpha[ok], cov[ok]
    edges = np.quantile(truth, np.linspace(0.0, 1.0, n_bins + 1))
    bins = np.clip(np.searchsorted(edges, truth, side="right") - 1, 0, n_bins - 1)
    onehot = (bins[:, None] == np.arange(n_bins)).astype(float)
    centred = truth - (onehot.T @ truth / np.maximum(onehot.sum(axis=0), 1.0))[bins]
    nuisance = np.hstack([onehot, onehot * centred[:, None], cov])
    rank = np.linalg.matrix_rank(nuisance)
    dof = truth.size - rank - 1
    if dof < 3:
        raise ValueError(f"leakage_audit needs more stars: {truth.size} for {rank + 1} parameters")
    # Frisch–Waugh: the slope on [α/M] is the regression of the parts of both left after the nuisance.
    r_res, a_res = (v - nuisance @ np.linalg.lstsq(nuisance, v, rcond=None)[0] for v in (resid, alpha))
    saa = a_res @ a_res
    slope = float(a_res @ r_res / saa)
    slope_err = float(np.sqrt(np.sum((r_res - slope * a_res) ** 2) / dof / saa))
    t_stat = slope / slope_err
    p_value = float(2.0 * stats.t.sf(abs(t_stat), dof))
    return LeakageAudit(
        slope=slope, slope_err=slope_err, t_statistic=float(t_stat), p_value=p_value,
        partial_correlation=float(a_res @ r_res / np.sqrt(saa * (r_res @ r_res))), n=truth.size,
        n_bins=n_bins, significance=significance, leaks=p_value < significance,
    )


def _age_stats(age_true, age_pred) -> AgeStats:
    if age_true.size == 0:
        return AgeStats(0, float("nan"), float("nan"), float("nan"))
    bias, scatter, robust = _residual_stats(age_true, age_pred, fractional=True)
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
    features = np.asarray(features, dtype=float)
    n = features.shape[0]
    features = _columns(features, n, "features")
    log_age = _columns(log_age, n, "log_age")[:, 0]
    log_age_err = _columns(log_age_err, n, "log_age_err")[:, 0]
    feat_err = _feature_errors(features_err, features)
    usable = _eligible(n, [features, feat_err, log_age, log_age_err], rows)
    usable = usable[log_age_err[usable] > 0]
    n_cal = calibration_size(usable, n_train, holdout) if n_calibration is None else n_calibration
    train, cal, test = split_indices(usable, n_train, seed, n_cal, holdout)

    forest = ProbabilisticRandomForestRegressor(**_forest_params(seed, forest_params))
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
        evolstate = np.asarray(evolstate)
        if evolstate.shape != (n,):
            raise ValueError(f"evolstate has shape {evolstate.shape}; expected ({n},)")
        states = evolstate[test]
        by_state = {str(s): _age_stats(age_true[states == s], age_pred[states == s]) for s in np.unique(states)}
    leakage = None
    if alpha_m is not None:
        alpha_m = _columns(alpha_m, n, "alpha_m")[:, 0]
        cov = None if leakage_covariates is None else _columns(leakage_covariates, n, "leakage_covariates")[test]
        ref = log_age if reference_log_age is None else _columns(reference_log_age, n, "reference_log_age")[:, 0]
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
    latent = np.asarray(latent, dtype=float)
    n = latent.shape[0]
    latent = _columns(latent, n, "latent")
    latent_err = np.zeros_like(latent) if latent_err is None else _columns(latent_err, n, "latent_err")
    extras_err = extras_err or {}
    used = sorted({name for combo in combinations for name in combo})
    missing = [name for name in used if name not in extras]
    if missing:
        raise ValueError(f"combinations use columns not given in extras: {missing}")
    cols = {name: _columns(extras[name], n, name)[:, 0] for name in used}
    errs = {name: np.zeros(n) if name not in extras_err else _columns(extras_err[name], n, f"{name} error")[:, 0]
            for name in used}
    # One split for all feature sets: stars usable by the largest set.
    common = _eligible(n, [latent, latent_err, *cols.values(), *errs.values()], kwargs.pop("rows", None))
    audits = {}
    for combo in combinations:
        key = "+".join(("latent",) + tuple(combo))
        X = np.column_stack([latent] + [cols[c] for c in combo])
        X_err = np.column_stack([latent_err] + [errs[c] for c in combo])
        audits[key] = age_audit(X, log_age, log_age_err, evolstate, features_err=X_err, alpha_m=alpha_m,
                                rows=common, name=key, feature_names=combo, **kwargs)
    return audits


def spectrum_baseline_audit(spectra, log_age, log_age_err, evolstate=None, *, alpha_m=None, n_components=20,
                            n_train=AGE_TRAIN_SIZE, n_calibration=None, seed=0, rows=None, holdout=None,
                            forest_params=None, **kwargs):
    """Age directly from spectra (PCA on the training stars, then the same forest) through the same
    audit and split as :func:`age_audit`, so its [α/M] leakage can be reported side by side.

    Parameters
    ----------
    spectra : array_like of shape (n_stars, n_pixels)
        E.g. standardised APOGEE spectra (float32, 7514 pixels); rows with non-finite pixels are left out.
    n_components : int
        Principal components fitted on the training stars only.
    Other parameters
        As in :func:`age_audit`; give the same ``rows``, ``holdout``, ``n_train``, ``n_calibration`` and
        ``seed`` as the latent audit to use the same training and test stars.

    Returns
    -------
    AgeAudit
        Named ``"spectra (PCA+forest)"``.
    """
    spectra = np.asarray(spectra)
    n = spectra.shape[0]
    log_age = _columns(log_age, n, "log_age")[:, 0]
    log_age_err = _columns(log_age_err, n, "log_age_err")[:, 0]
    usable = _eligible(n, [log_age, log_age_err], rows)
    usable = usable[np.isfinite(spectra[usable]).all(axis=1) & (log_age_err[usable] > 0)]
    n_cal = calibration_size(usable, n_train, holdout) if n_calibration is None else n_calibration
    train, _, _ = split_indices(usable, n_train, seed, n_cal, holdout)
    pca = PCA(n_components=n_components, random_state=seed).fit(spectra[train])
    features = np.full((n, n_components), np.nan)
    features[usable] = pca.transform(spectra[usable])
    return age_audit(features, log_age, log_age_err, evolstate, alpha_m=alpha_m, n_train=n_train,
                     n_calibration=n_cal, seed=seed, rows=usable, holdout=holdout, forest_params=forest_params,
                     name="spectra (PCA+forest)", feature_names=(f"pca{n_components}",), **kwargs)


@dataclass
class ReferenceAudit(_Result):
    """The acceptance audits of one reference feature set (see :func:`reference_audit`).

    ``seismic`` ({"numax", "deltanu", "excess_deltanu"} → :class:`RegressionAudit`), ``alpha_m``,
    ``evolstate`` and ``age`` are None where their inputs were not given.
    """

    name: str
    features: tuple
    age_features: tuple
    seismic: dict | None
    alpha_m: RegressionAudit | None
    evolstate: ClassificationAudit | None
    age: AgeAudit | None


def reference_audit(features, *, name, feature_names=(), features_err=None, numax=None, deltanu=None,
                    alpha_m=None, evolstate=None, log_age=None, log_age_err=None, age_extras=None,
                    age_extras_err=None, n_label_train=LABEL_TRAIN_SIZE, n_state_train=LABEL_TRAIN_SIZE, seed=0,
                    holdout=None, forest_params=None, **age_kwargs):
    """Run the acceptance audits with a reference feature set in place of the latent space.

    Parameters
    ----------
    features : array_like of shape (n_stars, k)
        The reference features, e.g. log10 ν_max and log10 Δν from the seismic catalog, or ASPCAP
        Teff, log g, [Fe/H], [C/N].
    name, feature_names
        Labels stored on the result.
    features_err : array_like broadcastable to ``features``, optional
        Their uncertainties, resampled in every tree.
    numax, deltanu : array_like of shape (n_stars,), optional
        μHz; scored with :func:`seismic_audit` (``n_label_train`` training stars).
    alpha_m : array_like of shape (n_stars,), optional
        [α/M], scored with :func:`label_audit` (R², ``n_label_train``) and used in the age leakage test.
    evolstate : array_like of shape (n_stars,), optional
        'RC' / 'RGB' labels, scored with :func:`evolstate_audit` (``n_state_train`` training stars).
    log_age, log_age_err : array_like of shape (n_stars,), optional
        Seismic log10(age / Gyr) and its error (dex); scored with :func:`age_audit` on the features plus
        ``age_extras`` columns (e.g. ``{"teff": ..., "fe_h": ...}``, errors in ``age_extras_err``).
    seed, holdout, forest_params
        As in :func:`label_audit`, for every audit.
    **age_kwargs
        Passed on to :func:`age_audit` (``n_train``, ``rows``, ``reference_log_age``,
        ``leakage_covariates``, ...): give those of the latent audit to score on the same stars.

    Returns
    -------
    ReferenceAudit
    """
    features = np.asarray(features, dtype=float)
    n = features.shape[0]
    features = _columns(features, n, "features")
    feat_err = _feature_errors(features_err, features)
    common = {"latent_err": feat_err, "seed": seed, "holdout": holdout, "forest_params": forest_params}
    seismic = alpha = state = age = None
    if numax is not None and deltanu is not None:
        seismic = seismic_audit(features, numax, deltanu, n_train=n_label_train, **common)
    if alpha_m is not None:
        alpha = label_audit(features, {"alpha_m": alpha_m}, n_train=n_label_train, **common)["alpha_m"]
    if evolstate is not None:
        state = evolstate_audit(features, evolstate, n_train=n_state_train, **common)
    extras = dict(age_extras or {})
    if log_age is not None and log_age_err is not None:
        extras_err = age_extras_err or {}
        X = np.column_stack([features] + [_columns(v, n, k) for k, v in extras.items()])
        X_err = np.column_stack([feat_err] + [_columns(extras_err.get(k, np.zeros(n)), n, f"{k} error")
                                              for k in extras])
        age = age_audit(X, log_age, log_age_err, evolstate, features_err=X_err, alpha_m=alpha_m, seed=seed,
                        holdout=holdout, forest_params=forest_params, name=name,
                        feature_names=tuple(feature_names) + tuple(extras),
                        **age_kwargs)
    return ReferenceAudit(name=name, features=tuple(feature_names), age_features=tuple(extras), seismic=seismic,
                          alpha_m=alpha, evolstate=state, age=age)


@dataclass
class EnvelopeAudit(_Result):
    """Where the p-mode envelope of reconstructed PSDs lies relative to the true ν_max (paper section 6.1).

    ``within_10pc`` is the fraction of stars whose reconstructed envelope (ν_max estimated by
    :func:`latentexplorer.seismo.estimate_global_parameters`) is within 10 % of the true ν_max, counting
    stars with no detectable envelope as misses; ``median_abs`` the median |ν̂/ν − 1| of the others.
    """

    n: int
    n_no_envelope: int
    within_10pc: float
    median_abs: float
    bias: float
    numax: np.ndarray = _array("numax")
    estimate: np.ndarray = _array("estimate")


def envelope_audit(log_psd, frequency, numax) -> EnvelopeAudit:
    """Audit reconstructed (or observed) log PSDs, (n, k) on ``frequency`` (k,) μHz, against true ν_max (n,)."""
    from ..seismo import estimate_global_parameters

    log_psd = np.atleast_2d(np.asarray(log_psd, float))
    numax = np.asarray(numax, float)
    if log_psd.shape[0] != numax.size:
        raise ValueError(f"{log_psd.shape[0]} spectra but {numax.size} ν_max values")
    estimate = np.array([estimate_global_parameters(frequency, row).numax for row in log_psd])
    rel = estimate / numax - 1
    found = np.isfinite(rel)
    return EnvelopeAudit(
        n=int(numax.size), n_no_envelope=int((~found).sum()),
        within_10pc=float(np.mean(np.abs(np.where(found, rel, np.inf)) <= 0.10)),
        median_abs=float(np.median(np.abs(rel[found]))) if found.any() else float("nan"),
        bias=float(np.median(rel[found])) if found.any() else float("nan"),
        numax=numax, estimate=estimate,
    )
