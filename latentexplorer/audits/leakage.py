"""The [α/M] leakage test (:func:`leakage_audit`): whether age residuals depend on [α/M] at fixed true age."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .inputs import eligible, per_star, star_columns
from .results import AuditResult

__all__ = ["LeakageAudit", "leakage_audit"]


@dataclass
class LeakageAudit(AuditResult):
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
    pred = per_star(log_age_pred, n, "log_age_pred")
    alpha = per_star(alpha_m, n, "alpha_m")
    cov = np.empty((n, 0)) if covariates is None else star_columns(covariates, "covariates", n)
    ok = eligible(n, [truth, pred, alpha, cov], None)
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
