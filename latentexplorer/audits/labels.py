"""Latent → labels on held-out stars: ASPCAP labels (Fig. 7, :func:`label_audit`) and the seismic parameters
ν_max, Δν and excess Δν (Fig. 8, :func:`seismic_audit`), scored by bias, scatter and R²."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import r2_score

from ..ages.forest import ProbabilisticRandomForestRegressor
from ..seismo import excess_deltanu
from .inputs import LABEL_TRAIN_SIZE, eligible, fit_predict, forest_settings, latent_inputs, per_star
from .results import AuditResult, per_star_field, residual_stats
from ..ages.split import split_indices

__all__ = ["RegressionAudit", "label_audit", "seismic_audit"]

logger = logging.getLogger(__name__)


@dataclass
class RegressionAudit(AuditResult):
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
    train_index: np.ndarray = per_star_field("train_index")
    test_index: np.ndarray = per_star_field("test_index")
    truth: np.ndarray = per_star_field("truth")
    prediction: np.ndarray = per_star_field("prediction")


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
    latent, latent_err, n = latent_inputs(latent, latent_err)
    unknown = set(fractional) - set(labels)
    if unknown:
        raise ValueError(f"fractional names labels that were not given: {sorted(unknown)}")
    audits = {}
    for name, values in labels.items():
        values = per_star(values, n, f"label {name!r}")
        frac = name in fractional
        target = np.log10(np.where(values > 0, values, np.nan)) if frac else values
        usable = eligible(n, [latent, target, latent_err], rows)
        train, _, test = split_indices(usable, n_train, seed, holdout=holdout)
        forest = ProbabilisticRandomForestRegressor(**forest_settings(seed, forest_params))
        pred = fit_predict(forest, latent, latent_err, target, train, test)
        pred = 10.0**pred if frac else pred
        bias, scatter, robust = residual_stats(values[test], pred, frac)
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

