"""A fitted age forest as plain numpy arrays: per-tree predictions without scikit-learn.

The star inspector needs the age forest's per-tree values for one star at a time. Loading the skops
forest imports scikit-learn (seconds, and pandas with it); :class:`TreeArrays` instead walks the trees
flattened into arrays by :func:`forest_arrays` (written as ``forest/tree_arrays.npz`` by
:func:`latentexplorer.ages.files.write_forest`) and reproduces
:meth:`latentexplorer.ages.forest.ProbabilisticRandomForestRegressor.predict_posterior` bit for bit: the same
float32 inputs and noise (``X + X_err · noise`` in float32), sklearn's split rule (float32 feature value
``<=`` float64 threshold), the leaf values, and the same calibration stretch about the tree mean.

This module is also the one implementation of the forest's sklearn-free helpers:
:func:`keyed_standard_normal`, :func:`star_keys` and the tree-by-tree mean and spread
(:mod:`latentexplorer.ages.forest` re-exports them). It must not import scikit-learn.
"""

from __future__ import annotations

import hashlib
import operator

import numpy as np
from scipy.special import ndtri

__all__ = ["TreeArrays", "forest_arrays", "keyed_standard_normal", "star_keys"]

#: Version of the :func:`forest_arrays` layout (``format_version`` in the dict).
TREE_ARRAYS_VERSION = 1

# splitmix64 (Steele, Lea & Flood 2014): the Weyl increment γ and the two multipliers of its output function.
_SPLITMIX_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_SPLITMIX_M1 = np.uint64(0xBF58476D1CE4E5B9)
_SPLITMIX_M2 = np.uint64(0x94D049BB133111EB)
_UNIT_53 = 2.0**-53  # spacing of 53-bit uniforms


def _splitmix64_mix(z: np.ndarray) -> np.ndarray:
    """The splitmix64 output function, a bijection of 64-bit integers, applied in place to the uint64
    array ``z`` (returned). uint64 array arithmetic wraps modulo 2**64, as the hash needs, and warns
    about nothing (only numpy scalars check overflow)."""
    z ^= z >> np.uint64(30)
    z *= _SPLITMIX_M1
    z ^= z >> np.uint64(27)
    z *= _SPLITMIX_M2
    z ^= z >> np.uint64(31)
    return z


def _as_keys(keys, name: str) -> np.ndarray:
    """A 1-D integer array as a new uint64 array (negative values wrap modulo 2**64)."""
    keys = np.asarray(keys)
    if keys.ndim != 1 or keys.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a 1-D integer array, got dtype {keys.dtype} and shape {keys.shape}")
    return keys.astype(np.uint64)


def keyed_standard_normal(keys, stream, n_features) -> np.ndarray:
    """Standard normal deviates that are a pure function of (row key, stream, feature index).

    Counter-based and vectorised: row ``j``'s deviates are the first ``n_features`` outputs of a
    splitmix64 generator started at ``mix(keys[j] ^ mix(stream + γ))`` (``mix`` the splitmix64 output
    function, ``γ`` its increment), i.e. ``z[j, f] = mix(state_j + (f + 1) γ)``, turned into a uniform
    ``u = (⌊z / 2**11⌋ + 1/2) / 2**53`` strictly inside (0, 1) and then into a normal deviate by
    ``scipy.special.ndtri(u)`` (tails to about ±8.3σ). For a given stream distinct keys give distinct
    generator states. No row depends on another, so a row's deviates do not depend on the batch it is
    drawn in, on its position there or on thread scheduling.

    Parameters
    ----------
    keys : array_like of int, shape (n,)
        One 64-bit key per row (e.g. from :func:`star_keys`); converted to uint64.
    stream : int
        Stream in [0, 2**64), e.g. a tree's seed; different streams give independent deviates.
    n_features : int
        Deviates per row (non-negative).

    Returns
    -------
    ndarray of float32, shape (n, n_features)

    Notes
    -----
    The 64-bit integers and the uniforms are exact (fixed-width integer arithmetic), identical on every
    platform and numpy version. The inverse normal is computed in double precision by scipy's ``ndtri``,
    whose tails call the C library's ``log``; a libm that rounds ``log`` differently could change the
    last bit of a double, which survives the rounding to float32 only in a vanishing fraction of cases.

    Examples
    --------
    >>> keys = star_keys(["2M00000002+7417074", "2M00000019-1924498"], seed=0)
    >>> keyed_standard_normal(keys, stream=7, n_features=3).shape
    (2, 3)
    """
    keys = _as_keys(keys, "keys")
    stream = operator.index(stream)
    n_features = operator.index(n_features)
    if not 0 <= stream < 2**64:
        raise ValueError(f"stream must be in [0, 2**64), got {stream}")
    if n_features < 0:
        raise ValueError(f"n_features must be non-negative, got {n_features}")
    stream_word = _splitmix64_mix(np.array([stream], dtype=np.uint64) + _SPLITMIX_GAMMA)
    keys ^= stream_word
    state = _splitmix64_mix(keys)
    z = state[:, None] + _SPLITMIX_GAMMA * np.arange(1, n_features + 1, dtype=np.uint64)
    _splitmix64_mix(z)
    z >>= np.uint64(11)
    u = z.astype(np.float64)
    u += 0.5
    u *= _UNIT_53
    return ndtri(u, out=np.empty(u.shape, dtype=np.float32))


def star_keys(ids, seed) -> np.ndarray:
    """64-bit noise keys for star identifiers: the 8-byte BLAKE2b digest of ``f"{seed}:{id}"``.

    Identifiers are stripped of surrounding whitespace first (bytes are decoded as UTF-8), so padded
    FITS strings give the same key as the bare ones; integers are hashed as their decimal text.

    Parameters
    ----------
    ids : array_like of str, bytes or int, shape (n,)
        Star identifiers, e.g. APOGEE_IDs.
    seed : int
        Noise seed; a different seed gives unrelated keys for the same stars.

    Returns
    -------
    ndarray of uint64, shape (n,)
        Read little-endian from the digests, so the same on every platform.
    """
    seed = operator.index(seed)
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"ids must be 1-D, got shape {ids.shape}")
    if ids.dtype.kind == "S":
        ids = np.char.decode(ids, "utf-8")
    if ids.dtype.kind == "U":
        texts = np.char.strip(ids).tolist()
    else:
        texts = [(i.decode("utf-8") if isinstance(i, bytes) else str(i)).strip() for i in ids.tolist()]
    prefix = f"{seed}:"
    digests = b"".join(hashlib.blake2b((prefix + text).encode("utf-8"), digest_size=8).digest() for text in texts)
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)


def _as_errors(errors, shape, name: str, *, allow_nonfinite: bool = False) -> np.ndarray | None:
    """Validate an uncertainty array: broadcastable to ``shape``, non-negative; returns float64."""
    if errors is None:
        return None
    errors = np.asarray(errors, dtype=float)
    try:
        errors = np.broadcast_to(errors, shape)
    except ValueError:
        raise ValueError(f"{name} has shape {errors.shape}, which does not match {shape}") from None
    finite = np.isfinite(errors)
    if not allow_nonfinite and not finite.all():
        raise ValueError(f"{name} contains NaN or inf")
    if (errors[finite] < 0).any():
        raise ValueError(f"{name} must be non-negative")
    return errors


def _as_noise_keys(noise_keys, n: int) -> np.ndarray | None:
    """Validate ``noise_keys``: an integer array of shape (n,); returns it as uint64."""
    if noise_keys is None:
        return None
    noise_keys = np.asarray(noise_keys)
    if noise_keys.shape != (n,) or noise_keys.dtype.kind not in "iu":
        raise ValueError(
            f"noise_keys must be an integer array of shape ({n},), one key per row of X; "
            f"got dtype {noise_keys.dtype} and shape {noise_keys.shape}"
        )
    return noise_keys.astype(np.uint64, copy=False)


def _tree_mean(values: np.ndarray) -> np.ndarray:
    """Mean over trees of (n_estimators, n_samples) values, shape (n_samples,).

    Summed tree by tree with element-wise additions, so every column is computed on its own: the
    result for a star does not depend on the other columns. (numpy's ``mean(axis=0)`` gives the same
    bits for two columns or more, but sums a single column pairwise.)"""
    total = values[0].copy()
    for row in values[1:]:
        total += row
    return total / values.shape[0]


def _tree_std(values: np.ndarray) -> np.ndarray:
    """Standard deviation (``ddof=0``) over trees of (n_estimators, n_samples) values, column by column
    as :func:`_tree_mean`; shape (n_samples,)."""
    deviation = values - _tree_mean(values)
    deviation *= deviation
    return np.sqrt(_tree_mean(deviation))



def forest_arrays(regressor) -> dict[str, np.ndarray]:
    """The fitted :class:`~latentexplorer.ages.forest.ProbabilisticRandomForestRegressor`'s trees as plain arrays.

    Node arrays of all trees are concatenated, tree ``t`` holding nodes
    ``node_offsets[t]:node_offsets[t + 1]``; ``children_left`` / ``children_right`` are indices into the
    concatenated arrays (−1 at leaves), ``feature`` / ``threshold`` the split (unused at leaves) and
    ``value`` the node value (``tree_.value[:, 0, 0]``). Also ``estimator_seeds_``,
    ``calibration_scale_``, ``n_features_in_``, ``missing_propagate`` (the regressor's ``missing`` is
    ``"propagate"``) and ``format_version``. Every value is a numeric numpy array (no pickles).
    """
    trees = [estimator.tree_ for estimator in regressor.estimators_]
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
        "value": np.concatenate([np.asarray(t.value, dtype=np.float64)[:, 0, 0] for t in trees]),
        "estimator_seeds_": np.asarray(regressor.estimator_seeds_, dtype=np.int64),
        "calibration_scale_": np.array(float(regressor.calibration_scale_), dtype=np.float64),
        "n_features_in_": np.array(int(regressor.n_features_in_), dtype=np.int64),
        "missing_propagate": np.array(getattr(regressor, "missing", "raise") == "propagate"),
    }


_REQUIRED = ("format_version", "node_offsets", "children_left", "children_right", "feature", "threshold", "value",
             "estimator_seeds_", "calibration_scale_", "n_features_in_", "missing_propagate")


class TreeArrays:
    """An age forest's trees as arrays (:func:`forest_arrays`), predicting without scikit-learn.

    Build with :meth:`from_arrays`; :meth:`posterior` equals the regressor's ``predict_posterior``.
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

    def _tree_outputs(self, X, X_err, noise_keys) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float32)
        X_err = None if X_err is None else np.ascontiguousarray(X_err, dtype=np.float32)
        out = np.empty((self.n_trees, X.shape[0]))
        for t, seed in enumerate(map(int, self.estimator_seeds)):
            Xt = X
            if X_err is not None:
                if noise_keys is None:
                    noise = np.random.default_rng([seed, 1]).standard_normal(X.shape, dtype=np.float32)
                else:
                    noise = keyed_standard_normal(noise_keys, seed, X.shape[1])
                Xt = X + X_err * noise
            out[t] = self._leaf_values(t, Xt)
        return out

    def posterior(self, X, X_err=None, noise_keys=None, calibrated=True) -> np.ndarray:
        """Per-tree predictions, shape (n_samples, n_trees), stretched about their mean by the calibration
        scale if ``calibrated``: ``predict_posterior(X, X_err=X_err, noise_keys=noise_keys, calibrated=…)``
        of the regressor the arrays came from, bit for bit. Rows with non-finite inputs get NaN when the
        regressor propagated missing values, else raise a ValueError."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in:
            raise ValueError(f"X has shape {X.shape}, expected (n_samples, {self.n_features_in})")
        X_err = _as_errors(X_err, X.shape, "X_err", allow_nonfinite=self.missing_propagate)
        noise_keys = _as_noise_keys(noise_keys, X.shape[0])
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
            values[:, good] = self._tree_outputs(X, X_err, noise_keys)
        if calibrated and self.calibration_scale != 1.0:
            mean = _tree_mean(values)
            values = mean + self.calibration_scale * (values - mean)
        return values.T
