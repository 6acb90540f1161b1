"""The checks every audit on arrays makes of its inputs, written once: per-star columns of one row count,
feature errors of the features' shape, label arrays of one entry per star, the stars usable (finite in every
input, among the eligible rows), and the latent forests' parameters and fit.

Conventions (the paper's): 2,000 random training stars for labels (:data:`LABEL_TRAIN_SIZE`); stars with a
non-finite value in any input an audit needs are left out (counted in its ``n_excluded``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["LABEL_TRAIN_SIZE", "star_columns", "per_star", "per_star_labels", "feature_errors", "latent_inputs",
           "feature_inputs", "eligible", "forest_settings", "fit_predict"]

LABEL_TRAIN_SIZE = 2000  #: training stars for latent → label forests (paper section 5)


def star_columns(values, name, n=None) -> np.ndarray | None:
    """(n, k) float array from (n,) or (n, k) input — one row per star, ``n`` the first axis of ``values`` when
    not given — with a clear error on a row-count mismatch; None stays None (an optional input)."""
    if values is None:
        return None
    values = np.asarray(values, dtype=float)
    n = values.shape[0] if n is None else n
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[0] != n:
        raise ValueError(f"{name} has shape {values.shape}; expected {n} rows (one per star)")
    return values


def per_star(values, n, name) -> np.ndarray:
    """(n,) float array: one number per star (the first column of a 2-D input)."""
    return star_columns(values, name, n)[:, 0]


def per_star_labels(values, n, name) -> np.ndarray:
    """(n,) array of labels (e.g. "RC" / "RGB"), with a clear error on another shape."""
    values = np.asarray(values)
    if values.shape != (n,):
        raise ValueError(f"{name} has shape {values.shape}; expected ({n},)")
    return values


def feature_errors(features_err, features) -> np.ndarray:
    """Feature uncertainties broadcast to ``features``' shape (zeros when None), with a clear error otherwise."""
    if features_err is None:
        return np.zeros_like(features)
    err = np.asarray(features_err, dtype=float)
    try:
        return np.broadcast_to(err, features.shape)
    except ValueError:
        raise ValueError(f"features_err has shape {err.shape}, features {features.shape}") from None


def latent_inputs(latent, latent_err):
    """``latent`` as (n, k) floats, ``latent_err`` likewise (None when not given) and n."""
    latent = star_columns(latent, "latent")
    return latent, star_columns(latent_err, "latent_err", len(latent)), len(latent)


def feature_inputs(features, features_err):
    """``features`` as (n, k) floats, their errors broadcast to that shape (zeros when not given) and n."""
    features = star_columns(features, "features")
    return features, feature_errors(features_err, features), len(features)


def eligible(n, arrays, rows) -> np.ndarray:
    """Indices of the stars with finite values in every array (None ones skipped) and inside ``rows`` (mask or
    indices)."""
    ok = np.ones(n, bool)
    for a in arrays:
        if a is not None:
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


def forest_settings(seed, overrides):
    """A forest's parameters: 100 trees, ``random_state=seed``, then ``overrides`` (a dict or None)."""
    return {"n_estimators": 100, "random_state": seed, **(overrides or {})}


def fit_predict(forest, latent, latent_err, target, train, test) -> np.ndarray:
    """Fit ``forest`` on the ``train`` rows of ``latent`` (errors ``latent_err`` or None) to ``target`` and
    predict the ``test`` rows."""
    train_err, test_err = (None, None) if latent_err is None else (latent_err[train], latent_err[test])
    forest.fit(latent[train], target[train], X_err=train_err)
    return forest.predict(latent[test], X_err=test_err)
