"""The one evaluator of the age forests' trees: fitted trees as flat numpy arrays, walked without scikit-learn.

:class:`TreeArrays` holds a fitted forest's trees flattened by :func:`forest_arrays` (node children,
split features and thresholds, node values, each tree's seed). :meth:`TreeArrays.tree_values` is the only
place a tree is evaluated: the probabilistic forests of :mod:`latentexplorer.ages.forest` compile their
trees into it once (after fitting, and on loading) and predict through it, and the age model
(:class:`~latentexplorer.ages.model.AgeModel`) and the star inspector read the age forest's arrays from
``forest/tree_arrays.npz`` (:func:`latentexplorer.ages.files.write_forest`) to predict without importing
scikit-learn. The walk is scikit-learn's, bit for bit: float32 inputs and noise (``X + X_err · noise`` in
float32, :func:`~latentexplorer.ages.noise.tree_noise`), the split rule (float32 feature value ``<=``
float64 threshold) and the leaf values (a classifier's leaf holds its tree's predicted class).
:func:`tree_mean`, :func:`tree_std` and :func:`stretch` reduce and calibrate the per-tree values, star by
star. It must not import scikit-learn.
"""

from __future__ import annotations

import numpy as np

from .noise import as_errors, as_noise_keys, tree_noise

__all__ = ["TreeArrays", "forest_arrays", "tree_mean", "tree_std", "stretch"]

#: Version of the :func:`forest_arrays` layout (``format_version`` in the dict).
TREE_ARRAYS_VERSION = 1


def tree_mean(values: np.ndarray) -> np.ndarray:
    """Mean over trees of (n_estimators, n_samples) values, shape (n_samples,).

    Summed tree by tree with element-wise additions, so every column is computed on its own: the
    result for a star does not depend on the other columns. (numpy's ``mean(axis=0)`` gives the same
    bits for two columns or more, but sums a single column pairwise.)"""
    total = values[0].copy()
    for row in values[1:]:
        total += row
    return total / values.shape[0]


def tree_std(values: np.ndarray) -> np.ndarray:
    """Standard deviation (``ddof=0``) over trees of (n_estimators, n_samples) values, column by column
    as :func:`tree_mean`; shape (n_samples,)."""
    deviation = values - tree_mean(values)
    deviation *= deviation
    return np.sqrt(tree_mean(deviation))


def stretch(values: np.ndarray, scale: float) -> np.ndarray:
    """(n_estimators, n_samples) tree values stretched about their mean by the calibration ``scale``
    (returned as they are for 1)."""
    if scale == 1.0:
        return values
    mean = tree_mean(values)
    return mean + scale * (values - mean)


def _node_values(estimator) -> np.ndarray:
    """A fitted tree's value at every node: a regression tree's ``tree_.value[:, 0, 0]``; for a classification
    tree the class it predicts there (its ``classes_`` at the argmax of the node's value, as its ``predict``)."""
    value = np.asarray(estimator.tree_.value, dtype=np.float64)
    if hasattr(estimator, "classes_"):
        return np.asarray(estimator.classes_, dtype=np.float64)[np.argmax(value[:, 0, :], axis=1)]
    return value[:, 0, 0]


def forest_arrays(forest) -> dict[str, np.ndarray]:
    """A fitted forest's trees (:mod:`latentexplorer.ages.forest`, the regressor's or the classifier's) as plain
    arrays.

    Node arrays of all trees are concatenated, tree ``t`` holding nodes
    ``node_offsets[t]:node_offsets[t + 1]``; ``children_left`` / ``children_right`` are indices into the
    concatenated arrays (−1 at leaves), ``feature`` / ``threshold`` the split (unused at leaves) and
    ``value`` the node value (:func:`_node_values`). Also ``estimator_seeds_``,
    ``calibration_scale_`` (1 for a classifier), ``n_features_in_``, ``missing_propagate`` (the regressor's
    ``missing`` is ``"propagate"``) and ``format_version``. Every value is a numeric numpy array (no pickles).
    """
    trees = [estimator.tree_ for estimator in forest.estimators_]
    sizes = np.array([tree.node_count for tree in trees], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    left, right = [], []
    for tree, offset in zip(trees, offsets[:-1]):
        for children, out in ((tree.children_left, left), (tree.children_right, right)):
            children = np.asarray(children, dtype=np.int64)
            out.append(np.where(children >= 0, children + offset, -1))
    return {
        "format_version": np.array(TREE_ARRAYS_VERSION, dtype=np.int64),
        "node_offsets": offsets,
        "children_left": np.concatenate(left),
        "children_right": np.concatenate(right),
        "feature": np.concatenate([np.asarray(t.feature, dtype=np.int64) for t in trees]),
        "threshold": np.concatenate([np.asarray(t.threshold, dtype=np.float64) for t in trees]),
        "value": np.concatenate([_node_values(estimator) for estimator in forest.estimators_]),
        "estimator_seeds_": np.asarray(forest.estimator_seeds_, dtype=np.int64),
        "calibration_scale_": np.array(float(getattr(forest, "calibration_scale_", 1.0)), dtype=np.float64),
        "n_features_in_": np.array(int(forest.n_features_in_), dtype=np.int64),
        "missing_propagate": np.array(getattr(forest, "missing", "raise") == "propagate"),
    }


_REQUIRED = ("format_version", "node_offsets", "children_left", "children_right", "feature", "threshold", "value",
             "estimator_seeds_", "calibration_scale_", "n_features_in_", "missing_propagate")


class TreeArrays:
    """A forest's trees as arrays (:func:`forest_arrays`), evaluated without scikit-learn.

    Build with :meth:`from_forest` or :meth:`from_arrays`; :meth:`tree_values` evaluates the trees, and
    :meth:`posterior` is the age forest's ``predict_posterior`` (:mod:`latentexplorer.ages.forest`).
    """

    def __init__(self, node_offsets, children_left, children_right, feature, threshold, value, estimator_seeds,
                 calibration_scale, n_features_in, missing_propagate=False):
        self.node_offsets = np.asarray(node_offsets, dtype=np.int64)
        self.children_left = np.asarray(children_left, dtype=np.int64)
        self.children_right = np.asarray(children_right, dtype=np.int64)
        self.feature = np.asarray(feature, dtype=np.int64)
        self.threshold = np.asarray(threshold, dtype=np.float64)
        self.value = np.asarray(value, dtype=np.float64)
        self.estimator_seeds = np.asarray(estimator_seeds, dtype=np.int64)
        self.calibration_scale = float(calibration_scale)
        self.n_features_in = int(n_features_in)
        self.missing_propagate = bool(missing_propagate)
        n_nodes = int(self.node_offsets[-1]) if self.node_offsets.size else -1
        n_trees = self.estimator_seeds.size
        shapes_ok = (self.node_offsets.ndim == 1 and self.node_offsets.size == n_trees + 1 and n_trees > 0
                     and self.node_offsets[0] == 0 and (np.diff(self.node_offsets) > 0).all()
                     and all(a.shape == (n_nodes,) for a in (self.children_left, self.children_right, self.feature,
                                                             self.threshold, self.value)))
        if not shapes_ok:
            raise ValueError("inconsistent tree arrays (node counts, offsets and seeds do not agree)")
        internal = self.children_left >= 0
        if ((self.children_left >= n_nodes).any() or (self.children_right >= n_nodes).any()
                or (internal != (self.children_right >= 0)).any()
                or ((self.feature[internal] < 0) | (self.feature[internal] >= self.n_features_in)).any()):
            raise ValueError("inconsistent tree arrays (child or feature index out of range)")

    @classmethod
    def from_forest(cls, forest) -> TreeArrays:
        """The trees of a fitted forest of :mod:`latentexplorer.ages.forest` (:func:`forest_arrays`)."""
        return cls.from_arrays(forest_arrays(forest))

    @classmethod
    def from_arrays(cls, arrays) -> TreeArrays:
        """From the dict of :func:`forest_arrays` (or an ``np.load`` of it); ValueError if keys are missing,
        the layout version is newer or the arrays disagree."""
        missing = [key for key in _REQUIRED if key not in arrays]
        if missing:
            raise ValueError(f"tree arrays lack {', '.join(missing)}")
        version = int(arrays["format_version"])
        if version > TREE_ARRAYS_VERSION:
            raise ValueError(f"tree arrays of layout {version}, newer than this package's ({TREE_ARRAYS_VERSION})")
        return cls(arrays["node_offsets"], arrays["children_left"], arrays["children_right"], arrays["feature"],
                   arrays["threshold"], arrays["value"], arrays["estimator_seeds_"], arrays["calibration_scale_"],
                   arrays["n_features_in_"], arrays["missing_propagate"])

    @property
    def n_trees(self) -> int:
        return int(self.estimator_seeds.size)

    def __repr__(self) -> str:
        return f"TreeArrays({self.n_trees} trees, {self.node_offsets[-1]} nodes, {self.n_features_in} features)"

    def _leaf_values(self, t: int, X: np.ndarray) -> np.ndarray:
        """Tree ``t``'s values for the float32 rows X, as sklearn's ``apply``: left iff x <= threshold."""
        left, right = self.children_left, self.children_right
        nodes = np.full(X.shape[0], self.node_offsets[t], dtype=np.int64)
        rows = np.arange(X.shape[0])
        active = rows[left[nodes] >= 0]
        while active.size:
            at = nodes[active]
            go_left = X[active, self.feature[at]] <= self.threshold[at]  # float32 promoted to float64: exact
            nodes[active] = np.where(go_left, left[at], right[at])
            active = active[left[nodes[active]] >= 0]
        return self.value[nodes]

    def tree_values(self, X, X_err=None, noise_keys=None, n_jobs=None) -> np.ndarray:
        """Every tree's value for the rows of ``X`` (n, n_features; finite), shape (n_trees, n): tree ``t`` sees
        ``X + X_err · tree_noise(seed_t, …, noise_keys)`` in float32 where ``X_err`` is given (finite,
        broadcastable to X), else X itself. ``noise_keys`` (uint64, (n,)): per-row noise, as
        :func:`~latentexplorer.ages.noise.tree_noise`. ``n_jobs``: threads over the trees (joblib's meaning;
        None: this thread) — every tree writes its own row, so the values do not depend on it."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        X_err = None if X_err is None else np.ascontiguousarray(np.broadcast_to(X_err, X.shape), dtype=np.float32)
        out = np.empty((self.n_trees, X.shape[0]))

        def evaluate(t: int) -> None:
            seed = int(self.estimator_seeds[t])
            out[t] = self._leaf_values(t, X if X_err is None else X + X_err * tree_noise(seed, X.shape, noise_keys))

        if n_jobs in (None, 1):
            for t in range(self.n_trees):
                evaluate(t)
        else:
            from joblib import Parallel, delayed  # only here: the star inspector's kernel never needs it

            Parallel(n_jobs=n_jobs, prefer="threads")(delayed(evaluate)(t) for t in range(self.n_trees))
        return out

    def posterior(self, X, X_err=None, noise_keys=None, calibrated=True) -> np.ndarray:
        """Per-tree predictions, shape (n_samples, n_trees), stretched about their mean by the calibration
        scale if ``calibrated``: ``predict_posterior(X, X_err=X_err, noise_keys=noise_keys, calibrated=…)``
        of the regressor the arrays came from, bit for bit. Rows with non-finite inputs get NaN when the
        regressor propagated missing values, else raise a ValueError."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in:
            raise ValueError(f"X has shape {X.shape}, expected (n_samples, {self.n_features_in})")
        X_err = as_errors(X_err, X.shape, "X_err", allow_nonfinite=self.missing_propagate)
        noise_keys = as_noise_keys(noise_keys, X.shape[0])
        good = np.isfinite(X).all(axis=1)
        if X_err is not None:
            good &= np.isfinite(X_err).all(axis=1)
        if not good.all():
            if not self.missing_propagate:
                raise ValueError(f"X contains NaN or inf ({int((~good).sum())} rows)")
            X = X[good]
            X_err = None if X_err is None else X_err[good]
            noise_keys = None if noise_keys is None else noise_keys[good]
        values = np.full((self.n_trees, good.size), np.nan)
        if X.shape[0]:
            values[:, good] = self.tree_values(X, X_err, noise_keys)
        return (stretch(values, self.calibration_scale) if calibrated else values).T
