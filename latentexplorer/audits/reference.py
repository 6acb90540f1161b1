"""Reference points for the latent audits: age straight from the spectra (:func:`spectrum_baseline_audit`, PCA
and the same forest on the same split) and the acceptance audits with other features in place of the latent
space (:func:`reference_audit`, e.g. the seismic ν_max and Δν themselves or the ASPCAP labels with [C/N])."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

from .ages import AgeAudit, age_audit, age_split
from .classes import ClassificationAudit, evolstate_audit
from .inputs import LABEL_TRAIN_SIZE, feature_inputs, per_star, star_columns
from .labels import RegressionAudit, label_audit, seismic_audit
from .results import AuditResult
from ..ages.split import AGE_TRAIN_SIZE

__all__ = ["spectrum_baseline_audit", "ReferenceAudit", "reference_audit"]


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
    log_age, log_age_err = per_star(log_age, n, "log_age"), per_star(log_age_err, n, "log_age_err")
    usable, n_cal, (train, _, _) = age_split([spectra, log_age], log_age_err, rows, n_train, n_calibration, seed,
                                             holdout)
    pca = PCA(n_components=n_components, random_state=seed).fit(spectra[train])
    features = np.full((n, n_components), np.nan)
    features[usable] = pca.transform(spectra[usable])
    return age_audit(features, log_age, log_age_err, evolstate, alpha_m=alpha_m, n_train=n_train,
                     n_calibration=n_cal, seed=seed, rows=usable, holdout=holdout, forest_params=forest_params,
                     name="spectra (PCA+forest)", feature_names=(f"pca{n_components}",), **kwargs)


@dataclass
class ReferenceAudit(AuditResult):
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
    features, feat_err, n = feature_inputs(features, features_err)
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
        X = np.column_stack([features] + [star_columns(v, k, n) for k, v in extras.items()])
        X_err = np.column_stack([feat_err] + [star_columns(extras_err.get(k, np.zeros(n)), f"{k} error", n)
                                              for k in extras])
        age = age_audit(X, log_age, log_age_err, evolstate, features_err=X_err, alpha_m=alpha_m, seed=seed,
                        holdout=holdout, forest_params=forest_params, name=name,
                        feature_names=tuple(feature_names) + tuple(extras),
                        **age_kwargs)
    return ReferenceAudit(name=name, features=tuple(feature_names), age_features=tuple(extras), seismic=seismic,
                          alpha_m=alpha, evolstate=state, age=age)
