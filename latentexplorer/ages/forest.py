"""Probabilistic random forests (paper section 3.2): scikit-learn trees fitted on noisy bootstraps.

A plain random forest fits every tree to a bootstrap sample of the training set and predicts the
mean over trees. Following Leung et al. (2023, section 3.2), every tree here also sees its own
Gaussian realisation of the inputs and the labels,

    X_tree = X[idx] + X_err[idx] · N(0, 1),    y_tree = y[idx] + y_err[idx] · N(0, 1),

where ``idx`` is the tree's bootstrap draw, ``X_err`` the input uncertainties (for ages: the encoder's
``z_std`` and the Teff / [Fe/H] errors) and ``y_err`` the label uncertainties. Stars are weighted by
their label uncertainty; the paper uses ``sqrt(1 / σ_age²) = 1 / σ_age``, which is the default here
(``label_weighting="inverse_error"``) with ``σ`` the label error *in the space of y*. Ages are fitted
as ``y = log10(age / Gyr)`` as in the paper, so the weight is ``1 / σ_log10(age)``, i.e. inversely
proportional to the fractional age error. Weights are normalised to unit mean and multiplied by any
``sample_weight``.

The prediction is the mean over trees; the spread over trees (standard deviation, ``ddof=0``) is the
uncertainty, and the per-tree values are the posterior samples. Inputs may carry uncertainties at
prediction time too (``X_err``), in which case every tree sees its own noisy copy of the inputs and the
spread includes the input noise.

Reproducible input noise: by default a tree's prediction noise is drawn for the whole batch at once, so
a star's values depend on the other rows of the call (its position in the batch, hence the chunk size).
Passing ``noise_keys`` (one 64-bit key per row, e.g. :func:`~latentexplorer.ages.noise.star_keys` of the
APOGEE_IDs) makes tree ``t``'s noise for a row :func:`~latentexplorer.ages.noise.keyed_standard_normal` of
that row's key with ``estimator_seeds_[t]`` as the stream: a star's outputs then depend only on its key,
its inputs and the forest, never on the batch, its order, the chunk size or the threads (means and
spreads are accumulated tree by tree, so each star's are computed alone too).

Calibration: the paper found the pull ``(ŷ − y) / sqrt(σ_y² + σ_ŷ²)`` to have width 0.75, i.e. the
tree spread overestimates the error. :meth:`ProbabilisticRandomForestRegressor.calibrate` fits one
scale factor ``s`` on held-out stars so that ``(ŷ − y) / sqrt(σ_y² + (s σ̂)²)`` has unit width
(1.4826 × median absolute deviation by default), and ``predict(..., return_std=True)``,
:meth:`~ProbabilisticRandomForestRegressor.predict_std` and
:meth:`~ProbabilisticRandomForestRegressor.predict_posterior` apply it thereafter (the posterior is
stretched about its mean by ``s``).

Evaluation: a fitted forest compiles its trees into :class:`~latentexplorer.ages.trees.TreeArrays` once
(``trees_``, after ``fit`` and on loading; not saved with the forest) and every prediction evaluates them
there — the one tree evaluator of the package, the one the age model uses from ``forest/tree_arrays.npz``.

Missing inputs: ``fit`` rejects non-finite X, y and errors with a ValueError naming the columns. At
prediction the regressor's ``missing`` parameter chooses between ``"raise"`` (the default, same error)
and ``"propagate"`` (rows with a non-finite input or input error get NaN outputs, the others are
predicted as usual; catalog code uses this and flags the NaN rows).

Persistence uses skops (``save`` / ``load``), never pickle: ``load`` accepts only the types listed in
:data:`TRUSTED_TYPES` and raises a ValueError naming anything else found in the file.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import skops.io
from joblib import Parallel, delayed
from scipy.optimize import brentq
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..io.atomic import atomic_output
from .noise import as_errors, as_noise_keys
from .trees import TreeArrays, stretch, tree_mean, tree_std

__all__ = [
    "ProbabilisticRandomForestRegressor",
    "ProbabilisticRandomForestClassifier",
    "TRUSTED_TYPES",
    "log_age_to_gyr",
    "robust_width",
]

logger = logging.getLogger(__name__)

#: Types a saved forest may contain; :meth:`load` refuses files holding anything else.
TRUSTED_TYPES = (
    "latentexplorer.ages.forest.ProbabilisticRandomForestRegressor",
    "latentexplorer.ages.forest.ProbabilisticRandomForestClassifier",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._tree.Tree",
)

_MAD_TO_SIGMA = 1.482602218505602  # 1 / Φ⁻¹(3/4): MAD of a unit normal → 1
_CALIBRATION_BOUNDS = (1e-3, 1e3)


def robust_width(values) -> float:
    """1.4826 × median absolute deviation about the median: the σ of a normal, robust to outliers."""
    values = np.asarray(values, dtype=float)
    return float(_MAD_TO_SIGMA * np.median(np.abs(values - np.median(values))))


def log_age_to_gyr(log_age, log_age_err=None):
    """Convert log10(age / Gyr) and its error (dex) to age and age error in Gyr.

    Parameters
    ----------
    log_age : array_like
        log10 of the age in Gyr (what the age forest predicts).
    log_age_err : array_like or None
        Its 1σ uncertainty in dex, e.g. from :meth:`ProbabilisticRandomForestRegressor.predict_std`.

    Returns
    -------
    age : ndarray
        ``10**log_age`` in Gyr (the median of a log-normal age posterior).
    age_err : ndarray
        Only when ``log_age_err`` is given: first-order propagation ``ln(10) · age · log_age_err``
        in Gyr.
    """
    age = np.power(10.0, np.asarray(log_age, dtype=float))
    if log_age_err is None:
        return age
    return age, math.log(10.0) * age * np.asarray(log_age_err, dtype=float)


def _column_names(estimator, columns) -> str:
    names = getattr(estimator, "feature_names_in_", None)
    return ", ".join(str(names[c]) if names is not None else f"column {c}" for c in columns)


def _finite_or_raise(estimator, name: str, values: np.ndarray) -> None:
    """Raise a ValueError naming the columns of a 2-D array (or the array) holding NaN or inf."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    if values.ndim == 2:
        where = _column_names(estimator, np.flatnonzero(bad.any(axis=0)))
        raise ValueError(f"{name} contains NaN or inf in {where} ({int(bad.any(axis=1).sum())} rows)")
    raise ValueError(f"{name} contains NaN or inf ({int(bad.sum())} values)")


def _as_sample_weight(sample_weight, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    sample_weight = np.asarray(sample_weight, dtype=float)
    if sample_weight.shape != (n,):
        raise ValueError(f"sample_weight has shape {sample_weight.shape}, expected ({n},)")
    if not np.isfinite(sample_weight).all() or (sample_weight < 0).any():
        raise ValueError("sample_weight must be finite and non-negative")
    return sample_weight


def _fit_tree(tree, X, y, X_err, y_err, weight, seed, bootstrap):
    """Fit one tree on its bootstrap draw of (X, y) with inputs and labels resampled from their errors."""
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    idx = rng.integers(0, n, n) if bootstrap else np.arange(n)
    X_tree, y_tree = X[idx], y[idx]
    if X_err is not None:
        X_tree = X_tree + X_err[idx] * rng.standard_normal(X_tree.shape)
    if y_err is not None:
        y_tree = y_tree + y_err[idx] * rng.standard_normal(y_tree.shape)
    return tree.fit(X_tree, y_tree, sample_weight=weight[idx])


class _ProbabilisticForest(BaseEstimator):
    """Shared machinery: noisy bootstraps in ``fit``, the trees compiled for prediction, skops I/O."""

    _tree_class: type

    def __init__(self, n_estimators=100, *, max_depth=None, min_samples_split=2, min_samples_leaf=1, max_features=1.0,
                 bootstrap=True, n_jobs=None, random_state=None):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _fit_trees(self, X, y, X_err, y_err, weight):
        if not isinstance(self.n_estimators, (int, np.integer)) or self.n_estimators < 1:
            raise ValueError(f"n_estimators must be a positive integer, got {self.n_estimators!r}")
        seeds = check_random_state(self.random_state).randint(np.iinfo(np.int32).max, size=self.n_estimators)
        params = dict(
            max_depth=self.max_depth,
            min_samples_split=self.min_samples_split,
            min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features,
        )
        self.estimators_ = Parallel(n_jobs=self.n_jobs, prefer="threads")(
            delayed(_fit_tree)(self._tree_class(**params, random_state=seed), X, y, X_err, y_err, weight, seed,
                               self.bootstrap)
            for seed in map(int, seeds)
        )
        self.estimator_seeds_ = seeds
        self.trees_ = TreeArrays.from_forest(self)

    def __getstate__(self):
        """The state saved (skops, pickle): the fitted trees, without their compiled arrays (``trees_``)."""
        return {key: value for key, value in super().__getstate__().items() if key != "trees_"}

    def __setstate__(self, state):
        """Restore a saved state and compile the fitted trees (``trees_``) again."""
        super().__setstate__(state)
        if hasattr(self, "estimators_"):
            self.trees_ = TreeArrays.from_forest(self)

    def save(self, path):
        """Write the fitted forest to ``path`` in skops format (atomically). Returns the Path."""
        check_is_fitted(self)
        path = Path(path)
        with atomic_output(path, suffix=".skops") as tmp:
            skops.io.dump(self, tmp)
        return path

    @classmethod
    def load(cls, path):
        """Read a forest written by :meth:`save`, trusting only :data:`TRUSTED_TYPES`.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If the file holds types outside :data:`TRUSTED_TYPES` or is not a ``cls``.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no saved forest at {path}")
        untrusted = skops.io.get_untrusted_types(file=path)
        unexpected = sorted(set(untrusted) - set(TRUSTED_TYPES))
        if unexpected:
            raise ValueError(f"{path} holds types that are not trusted: {', '.join(unexpected)}")
        forest = skops.io.load(path, trusted=untrusted)
        if not isinstance(forest, cls):
            raise ValueError(f"{path} holds a {type(forest).__name__}, not a {cls.__name__}")
        return forest


class ProbabilisticRandomForestRegressor(RegressorMixin, _ProbabilisticForest):
    """Random forest regressor whose trees see inputs and labels resampled from their uncertainties.

    Parameters
    ----------
    n_estimators : int, default=100
        Number of trees.
    max_depth, min_samples_split, min_samples_leaf, max_features
        Passed to every :class:`sklearn.tree.DecisionTreeRegressor`.
    bootstrap : bool, default=True
        Draw a bootstrap sample for every tree (the noise resampling happens either way).
    label_weighting : {"inverse_error", "inverse_variance", None}, default="inverse_error"
        Star weights from ``y_err`` given to ``fit``: ``1/y_err`` (paper: ``sqrt(1/σ²)``),
        ``1/y_err²``, or none. Normalised to unit mean; multiplied by ``sample_weight``.
    missing : {"raise", "propagate"}, default="raise"
        At prediction: raise a ValueError naming the columns with NaN/inf, or return NaN for those rows.
    n_jobs : int or None
        Threads (joblib) for fitting and predicting trees; None means 1, -1 all cores.
    random_state : int, RandomState or None
        Seeds the bootstrap, the noise draws and the trees; the same seed gives the same forest.

    Attributes
    ----------
    estimators_ : list of DecisionTreeRegressor
    estimator_seeds_ : ndarray of shape (n_estimators,)
        Each tree's seed (also seeds its noise draws at prediction when ``X_err`` is given, and is the
        stream of :func:`~latentexplorer.ages.noise.keyed_standard_normal` when ``noise_keys`` are).
    trees_ : TreeArrays
        The fitted trees as arrays, through which every prediction is evaluated (compiled again on loading).
    calibration_scale_ : float
        Factor applied to the tree spread; 1.0 until :meth:`calibrate` is called.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only when fitted on a DataFrame with string column names.

    Examples
    --------
    >>> forest = ProbabilisticRandomForestRegressor(random_state=0)
    >>> forest.fit(X, log_age, X_err=X_err, y_err=log_age_err)  # doctest: +SKIP
    >>> forest.calibrate(X_cal, log_age_cal, y_err=log_age_err_cal)  # doctest: +SKIP
    >>> age, age_err = log_age_to_gyr(*forest.predict(X_new, return_std=True))  # doctest: +SKIP
    """

    _tree_class = DecisionTreeRegressor

    def __init__(self, n_estimators=100, *, max_depth=None, min_samples_split=2, min_samples_leaf=1, max_features=1.0,
                 bootstrap=True, label_weighting="inverse_error", missing="raise", n_jobs=None, random_state=None):
        super().__init__(n_estimators, max_depth=max_depth, min_samples_split=min_samples_split,
                         min_samples_leaf=min_samples_leaf, max_features=max_features, bootstrap=bootstrap,
                         n_jobs=n_jobs, random_state=random_state)
        self.label_weighting = label_weighting
        self.missing = missing

    def fit(self, X, y, X_err=None, y_err=None, sample_weight=None):
        """Fit the forest.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
            Labels (for ages: log10(age / Gyr)).
        X_err : array_like broadcastable to (n_samples, n_features), optional
            1σ input uncertainties in the units of X (0 where a feature is exact).
        y_err : array_like of shape (n_samples,), optional
            1σ label uncertainties in the units of y; drive the label resampling and the weights.
        sample_weight : array_like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        if self.label_weighting not in ("inverse_error", "inverse_variance", None):
            raise ValueError(
                "label_weighting must be 'inverse_error', 'inverse_variance' or None, "
                f"got {self.label_weighting!r}"
            )
        if self.missing not in ("raise", "propagate"):
            raise ValueError(f"missing must be 'raise' or 'propagate', got {self.missing!r}")
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, ensure_all_finite=False)
        _finite_or_raise(self, "X", X)
        _finite_or_raise(self, "y", y)
        X_err = as_errors(X_err, X.shape, "X_err")
        y_err = as_errors(y_err, y.shape, "y_err")
        weight = _as_sample_weight(sample_weight, X.shape[0])
        if y_err is not None and self.label_weighting is not None:
            if (y_err <= 0).any():
                raise ValueError(f"y_err must be positive for label_weighting={self.label_weighting!r}")
            power = 1.0 if self.label_weighting == "inverse_error" else 2.0
            label_weight = y_err**-power
            weight = weight * label_weight / label_weight.mean()
        self.calibration_scale_ = 1.0
        self._fit_trees(X, y, X_err, y_err, weight)
        return self

    def _prepare(self, X, X_err, noise_keys):
        """Validate prediction inputs; returns (X, X_err, noise_keys, good rows) with only good rows kept."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False, ensure_all_finite=False)
        propagate = self.missing == "propagate"
        X_err = as_errors(X_err, X.shape, "X_err", allow_nonfinite=propagate)
        noise_keys = as_noise_keys(noise_keys, X.shape[0])
        good = np.isfinite(X).all(axis=1)
        if X_err is not None:
            good &= np.isfinite(X_err).all(axis=1)
        if not propagate:
            _finite_or_raise(self, "X", X)
        elif not good.all():
            logger.info("%d of %d rows have non-finite inputs: NaN outputs", (~good).sum(), good.size)
            X = X[good]
            X_err = None if X_err is None else X_err[good]
            noise_keys = None if noise_keys is None else noise_keys[good]
        return X, X_err, noise_keys, good

    def _posterior(self, X, X_err, calibrated, noise_keys=None):
        """(n_estimators, n_samples) tree values, NaN columns for bad rows, stretched by the calibration."""
        X, X_err, noise_keys, good = self._prepare(X, X_err, noise_keys)
        values = np.full((self.trees_.n_trees, good.size), np.nan)
        if X.shape[0]:
            values[:, good] = self.trees_.tree_values(X, X_err, noise_keys, self.n_jobs)
        return stretch(values, self.calibration_scale_) if calibrated else values

    def predict(self, X, X_err=None, return_std=False, noise_keys=None):
        """Mean over trees, shape (n_samples,); with ``return_std`` also the calibrated spread.

        ``X_err`` (broadcastable to X's shape) makes every tree see its own noisy copy of the inputs;
        ``noise_keys`` (integers, shape (n_samples,), e.g. :func:`~latentexplorer.ages.noise.star_keys`) draw
        that noise per row from the row's key, so a row's outputs do not depend on the rest of the batch.
        """
        values = self._posterior(X, X_err, calibrated=False, noise_keys=noise_keys)
        mean = tree_mean(values)
        if not return_std:
            return mean
        return mean, self.calibration_scale_ * tree_std(values)

    def predict_std(self, X, X_err=None, calibrated=True, noise_keys=None):
        """Spread of the trees (standard deviation, ×``calibration_scale_`` if ``calibrated``), (n_samples,);
        ``X_err`` and ``noise_keys`` as in :meth:`predict`."""
        return tree_std(self._posterior(X, X_err, calibrated, noise_keys))

    def predict_posterior(self, X, X_err=None, calibrated=True, noise_keys=None):
        """Per-tree predictions, shape (n_samples, n_estimators), stretched about their mean by the
        calibration scale if ``calibrated``; their mean is :meth:`predict`, their std :meth:`predict_std`.
        ``X_err`` and ``noise_keys`` as in :meth:`predict`."""
        return self._posterior(X, X_err, calibrated, noise_keys).T

    def calibrate(self, X, y, y_err=None, X_err=None, width="mad", noise_keys=None):
        """Fit ``calibration_scale_`` on held-out stars so the pull distribution has unit width.

        The pull is ``(ŷ − y) / sqrt(y_err² + (s σ̂)²)`` with ŷ the mean and σ̂ the raw tree spread;
        ``s`` is found by root finding in [1e-3, 1e3]. If no ``s`` in that range reaches unit width
        (e.g. ``y_err`` alone already overestimates the scatter) the closest end is used and a
        warning logged.

        Parameters
        ----------
        X, y, y_err, X_err
            A calibration split not used in ``fit``; errors as in :meth:`fit`.
        width : {"mad", "std"}, default="mad"
            ``"mad"``: 1.4826 × median absolute deviation (robust); ``"std"``: standard deviation.
        noise_keys : array_like of int, shape (n_samples,), optional
            Per-row keys for the input noise, as in :meth:`predict`.

        Returns
        -------
        self
        """
        if width not in ("mad", "std"):
            raise ValueError(f"width must be 'mad' or 'std', got {width!r}")
        values = self._posterior(X, X_err, calibrated=False, noise_keys=noise_keys)
        y = np.asarray(y, dtype=float)
        if y.shape != (values.shape[1],):
            raise ValueError(f"y has shape {y.shape}, expected ({values.shape[1]},)")
        y_err = np.zeros_like(y) if y_err is None else as_errors(y_err, y.shape, "y_err")
        good = np.isfinite(values).all(axis=0) & np.isfinite(y)
        if good.sum() < 2:
            raise ValueError("calibrate needs at least 2 rows with finite inputs and labels")
        resid = values[:, good].mean(axis=0) - y[good]
        spread, y_err = values[:, good].std(axis=0), y_err[good]
        measure = robust_width if width == "mad" else np.std

        def excess_width(log_s):
            return measure(resid / np.sqrt(y_err**2 + (10.0**log_s * spread) ** 2)) - 1.0

        lo, hi = np.log10(_CALIBRATION_BOUNDS)
        f_lo, f_hi = excess_width(lo), excess_width(hi)
        if f_lo * f_hi > 0:
            log_s = lo if abs(f_lo) < abs(f_hi) else hi
            logger.warning("pull width cannot reach 1 for s in %s; using s=%g", _CALIBRATION_BOUNDS, 10**log_s)
        else:
            log_s = brentq(excess_width, lo, hi, xtol=1e-6)
        self.calibration_scale_ = self.trees_.calibration_scale = float(10.0**log_s)
        return self


class ProbabilisticRandomForestClassifier(ClassifierMixin, _ProbabilisticForest):
    """Random forest classifier (e.g. RC vs RGB) whose trees see inputs resampled from their errors.

    Same parameters as :class:`ProbabilisticRandomForestRegressor` without the label options;
    non-finite inputs always raise a ValueError naming the columns. ``predict_proba`` is the
    fraction of trees voting for each class (hard votes), ``predict`` the majority class.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    estimators_, estimator_seeds_, trees_, n_features_in_, feature_names_in_
        As for the regressor.
    """

    _tree_class = DecisionTreeClassifier

    def fit(self, X, y, X_err=None, sample_weight=None):
        """Fit on inputs X (n_samples, n_features), class labels y (n_samples,) and optional input
        errors X_err and sample weights. Returns self."""
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_all_finite=False)
        _finite_or_raise(self, "X", X)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        X_err = as_errors(X_err, X.shape, "X_err")
        weight = _as_sample_weight(sample_weight, X.shape[0])
        self._fit_trees(X, encoder.transform(y), X_err, None, weight)
        return self

    def predict_proba(self, X, X_err=None, noise_keys=None):
        """Fraction of trees voting for each class, shape (n_samples, n_classes). ``X_err`` and
        ``noise_keys`` as in :meth:`ProbabilisticRandomForestRegressor.predict`."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False, ensure_all_finite=False)
        _finite_or_raise(self, "X", X)
        X_err = as_errors(X_err, X.shape, "X_err")
        noise_keys = as_noise_keys(noise_keys, X.shape[0])
        votes = self.trees_.tree_values(X, X_err, noise_keys, self.n_jobs)
        return np.stack([(votes == k).mean(axis=0) for k in range(len(self.classes_))], axis=1)

    def predict(self, X, X_err=None, noise_keys=None):
        """Majority-vote class, shape (n_samples,)."""
        proba = self.predict_proba(X, X_err, noise_keys)
        return self.classes_[np.argmax(proba, axis=1)]
