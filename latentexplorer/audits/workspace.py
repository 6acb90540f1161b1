"""The paper's latent-space audits on a workspace: Figs. 7–10 and 16–17, the [α/M] leakage test, the
spectrum baseline, the reference feature sets and the decoded-envelope audit.

:func:`audit_workspace` runs the analyses on arrays of :mod:`latentexplorer.audits` on the stars of a
:class:`~latentexplorer.workspace.Workspace`, scoring only stars the encoder-decoder never trained on where
its training record allows (:func:`~latentexplorer.ages.split.encoder_holdout`);
:func:`envelope_audit_workspace` scores the decoded PSDs of the encoder-decoder's validation pairs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ..ages.split import AGE_TRAIN_SIZE, age_eligible, encoder_holdout
from ..io.spectra_files import spectra_by_id
from ..match import match_ids
from ..selection import LATENT_FLAGS, SeismicSample, finite
from ..workspace import Workspace
from .ages import AgeAudit, age_ablation
from .classes import ClassificationAudit, evolstate_audit
from .envelopes import envelope_audit
from .inputs import LABEL_TRAIN_SIZE
from .labels import label_audit, seismic_audit
from .reference import reference_audit, spectrum_baseline_audit

__all__ = ["FIDUCIAL", "REFERENCE_SETS", "WorkspaceAudits", "audit_workspace", "envelope_audit_workspace"]

logger = logging.getLogger(__name__)

FIDUCIAL = "latent+teff+fe_h"  #: key of the paper's fiducial feature set in :attr:`WorkspaceAudits.ages`
#: Reference feature sets run through the acceptance audits beside the latent space: the seismic
#: parameters themselves (what a latent space that held ν_max and Δν exactly would give; for ages with
#: Teff and [Fe/H] added, as the fiducial model) and the ASPCAP labels with [C/N] (the classic
#: dredge-up route to giant masses).
REFERENCE_SETS = ("seismic", "aspcap")


@dataclass
class WorkspaceAudits:
    """The audits of :mod:`latentexplorer.audits` on one workspace.

    labels: latent → [Fe/H], [α/M], [N/H], [C/N], Teff (Fig. 7); seismic: latent → ν_max, Δν, excess
    Δν (Fig. 8); evolstate: RC/RGB (Fig. 9); ages: the ablations keyed as in
    :func:`~latentexplorer.audits.ages.age_ablation`, :data:`FIDUCIAL` being Fig. 10; baseline: age
    straight from the spectra, or None when no spectra were found; references: the same acceptance
    audits with reference features in place of the latent space (:data:`REFERENCE_SETS`, see
    :func:`~latentexplorer.audits.reference.reference_audit`). ``sample`` and the per-sample arrays
    (``latent``, ``fe_h``, ``alpha_m``) are what the audits' indices refer to, kept for plotting.
    """

    labels: dict
    seismic: dict
    evolstate: ClassificationAudit
    ages: dict
    baseline: AgeAudit | None
    info: dict
    references: dict
    sample: SeismicSample = field(repr=False)
    latent: np.ndarray = field(repr=False)
    fe_h: np.ndarray = field(repr=False)
    alpha_m: np.ndarray = field(repr=False)
    label_truth: dict = field(repr=False, default_factory=dict)

    @property
    def fiducial(self) -> AgeAudit:
        return self.ages[FIDUCIAL]

    def to_dict(self) -> dict:
        """Every number of every audit, as plain Python types (for JSON and the report)."""
        return {
            "info": self.info,
            "labels": {k: v.to_dict() for k, v in self.labels.items()},
            "seismic": {k: v.to_dict() for k, v in self.seismic.items()},
            "evolstate": self.evolstate.to_dict(),
            "ages": {k: v.to_dict() for k, v in self.ages.items()},
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
            "references": {k: v.to_dict() for k, v in self.references.items()},
        }


def _label_train_size(n_usable: int, wanted: int) -> int:
    return max(1, min(wanted, n_usable // 2))


def audit_workspace(workspace, n_train=None, n_trees=100, seed=0, baseline=True, max_label_stars=20_000,
                    hold_out_encoder_training=True, progress=True) -> WorkspaceAudits:
    """Run the paper's latent-space audits on a workspace.

    Parameters
    ----------
    workspace : Workspace or path
        Needs what :func:`train_age_model` needs; the spectra for the baseline.
    n_train : int, optional
        Training stars of the age audits; default that of the saved age model (``forest/``), else 1,200.
        The RC/RGB audit uses the same number; the label and seismic audits use 2,000 (paper section 5),
        at most half of the usable stars.
    n_trees, seed
        Trees per forest; the split and forest seed (the saved model's seed gives its very split). The forests
        follow the saved age model's recipe — input noise or not, leaf size (``forest/metadata.json``); without
        a saved model, the defaults of :func:`~latentexplorer.steps.ages.train_age_model`.
    baseline : bool
        Also run :func:`~latentexplorer.audits.reference.spectrum_baseline_audit` on the survey spectra.
    max_label_stars : int
        The label audit uses a random subset of at most this many stars with a latent representation.
    hold_out_encoder_training : bool
        Test (and calibrate) only on stars the encoder-decoder never trained on, as the paper's Figs. 7–10
        do: the pairs of its gradient steps (its training record, see
        :func:`~latentexplorer.ages.split.encoder_holdout`) may train the forests but are never
        scored. Falls back to all stars, with a warning, where that would leave fewer than 20 age
        test stars.
    progress : bool
        Progress bar over the audits.

    Returns
    -------
    WorkspaceAudits
    """
    ws = Workspace.of(workspace)
    inputs = ws.age_inputs
    sample = ws.seismic_sample
    if n_train is None:
        n_train = ws.age_model.metadata["n_train"] if ws.has("forest") else AGE_TRAIN_SIZE
    # the forests of the saved age model's recipe (input noise, leaf size); a workspace without one: the defaults
    recipe = ws.age_model.metadata if ws.has("forest") else {"input_noise": False, "min_samples_leaf": 5}
    noise = bool(recipe.get("input_noise", True))
    params = {"n_estimators": n_trees, "min_samples_leaf": int(recipe.get("min_samples_leaf", 1))}

    def errors(values):
        """Input errors as the recipe uses them: as given with input noise, else zeros (no perturbation)."""
        values = np.asarray(values, dtype=float)
        return values if noise else np.zeros_like(values)

    bar = tqdm(total=6 + bool(baseline), desc="audits", unit="audit", disable=not progress)

    fe_h, alpha_m = inputs.column("FE_H"), inputs.column("ALPHA_M")
    labels_all = {"fe_h": fe_h, "alpha_m": alpha_m, "n_h": inputs.column("N_FE") + fe_h,
                  "c_n": inputs.column("C_FE") - inputs.column("N_FE"), "teff": inputs.column("TEFF")}
    with_latent = np.flatnonzero((inputs.flags & int(LATENT_FLAGS)) == 0)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(with_latent, min(max_label_stars, with_latent.size), replace=False))
    label_truth = {k: v[rows] for k, v in labels_all.items()}
    s_fe_h, s_alpha = fe_h[sample.rows], alpha_m[sample.rows]
    eligible = age_eligible(inputs, sample)
    eligible = eligible[np.isfinite(s_alpha[eligible])]
    try:
        record = ws.training_record if hold_out_encoder_training and ws.has("model") else None
    except FileNotFoundError as err:
        logger.warning("%s: audits cannot hold the encoder's training stars out", err)
        record = None
    seen, holdout, holdout_text = encoder_holdout(record, sample, eligible, n_train, hold_out_encoder_training)
    label_holdout = (None if seen is None else
                     np.flatnonzero(~np.isin(np.asarray(inputs.allstar["APOGEE_ID"]).astype(str)[rows], seen)))

    def train_size(usable, wanted, reserved):
        """Training stars: at most half the usable ones, from those not reserved for testing."""
        return _label_train_size(int(usable.sum()) - (0 if reserved is None else int(usable[reserved].sum())), wanted)

    labels = {}
    for name, values in label_truth.items():
        labels.update(label_audit(inputs.z_mean[rows], {name: values}, latent_err=errors(inputs.z_std[rows]),
                                       n_train=train_size(np.isfinite(values), LABEL_TRAIN_SIZE, label_holdout),
                                       seed=seed, holdout=label_holdout, forest_params=params))
    bar.update()

    z, z_err = inputs.z_mean[sample.rows], errors(inputs.z_std[sample.rows])
    has_z = np.isfinite(z).all(axis=1)
    seismic = seismic_audit(z, sample.numax, sample.deltanu, latent_err=z_err, seed=seed, holdout=holdout,
                                 n_train=train_size(has_z & finite(sample.numax, sample.deltanu),
                                                    LABEL_TRAIN_SIZE, holdout), forest_params=params)
    bar.update()
    evolstate = evolstate_audit(z, sample.evolstate, latent_err=z_err, seed=seed, holdout=holdout,
                                     n_train=train_size(has_z & (sample.evolstate != ""), n_train, holdout),
                                     forest_params=params)
    bar.update()

    common = dict(n_train=n_train, seed=seed, forest_params=params, leakage_covariates=s_fe_h,
                  reference_log_age=sample.reference_log_age, rows=eligible, holdout=holdout)
    extras = {"teff": inputs.column("TEFF")[sample.rows], "fe_h": s_fe_h, "alpha_m": s_alpha}
    extras_err = {"teff": errors(inputs.column("TEFF_ERR")[sample.rows]),
                  "fe_h": errors(inputs.column("FE_H_ERR")[sample.rows]),
                  "alpha_m": errors(inputs.column("ALPHA_M_ERR")[sample.rows])}
    ages = age_ablation(z, extras, sample.log_age, sample.log_age_err, sample.evolstate, latent_err=z_err,
                             extras_err=extras_err, alpha_m=s_alpha, **common)
    bar.update(2)

    references = _reference_audits(inputs, sample, extras, extras_err, n_train, seed, params, common, noise)
    bar.update()
    base = None
    if baseline:
        spectra = spectra_by_id(ws.paths.spectra, sample.apogee_id) if ws.paths.spectra.exists() else None
        if spectra is None:
            logger.warning("no spectra at %s: spectrum baseline skipped", ws.paths.spectra)
        else:
            base = spectrum_baseline_audit(spectra, sample.log_age, sample.log_age_err, sample.evolstate,
                                                alpha_m=s_alpha, **common)
        bar.update()
    bar.close()
    info = {"workspace": str(ws.root), "mock": ws.is_mock, "n_allstar": len(inputs), "latent_dim": int(z.shape[1]),
            "n_latent": int(with_latent.size), "n_age_inputs": int(inputs.has_age_inputs.sum()),
            "n_seismic": len(sample), "n_age_eligible": int(eligible.size), "n_trees": int(n_trees),
            "input_noise": noise, "min_samples_leaf": params["min_samples_leaf"],
            "seed": int(seed), "leakage_reference": "true ages (mock)" if ws.is_mock else "seismic ages",
            "leakage_covariates": "[Fe/H]", "holdout": holdout_text}
    return WorkspaceAudits(labels, seismic, evolstate, ages, base, info, references, sample, z, s_fe_h, s_alpha,
                           label_truth)


def _reference_audits(inputs, sample, extras, extras_err, n_train, seed, params, age_kwargs, noise=True) -> dict:
    """:func:`~latentexplorer.audits.reference.reference_audit` of :data:`REFERENCE_SETS` on the seismic stars,
    ages on the latent audits' stars and split (``age_kwargs``); a set whose columns are all missing is left out.
    Without ``noise`` the features' errors are zero (the recipe of an age model trained without input noise)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        log_numax, log_dnu = np.log10(sample.numax), np.log10(sample.deltanu)
        seismic_err = np.column_stack([sample.numax_err / sample.numax, sample.deltanu_err / sample.deltanu])
    seismic_err = np.nan_to_num(seismic_err / np.log(10.0), nan=0.0)
    col = {c: inputs.column(c)[sample.rows] for c in ("TEFF", "LOGG", "FE_H", "C_FE", "N_FE", "TEFF_ERR",
                                                      "LOGG_ERR", "FE_H_ERR", "C_FE_ERR", "N_FE_ERR")}
    aspcap_err = np.nan_to_num(np.column_stack([col["TEFF_ERR"], col["LOGG_ERR"], col["FE_H_ERR"],
                                                np.hypot(col["C_FE_ERR"], col["N_FE_ERR"])]), nan=0.0)
    if not noise:
        seismic_err, aspcap_err = np.zeros_like(seismic_err), np.zeros_like(aspcap_err)
    sets = {
        "seismic": (np.column_stack([log_numax, log_dnu]), seismic_err, ("log_numax", "log_deltanu"),
                    {k: extras[k] for k in ("teff", "fe_h")}),
        "aspcap": (np.column_stack([col["TEFF"], col["LOGG"], col["FE_H"], col["C_FE"] - col["N_FE"]]), aspcap_err,
                   ("teff", "logg", "fe_h", "c_n"), {}),
    }
    known = sample.evolstate != ""
    holdout = age_kwargs.get("holdout")
    age_kwargs = {k: v for k, v in age_kwargs.items() if k not in ("seed", "forest_params", "holdout")}
    out = {}
    for name in REFERENCE_SETS:
        features, err, names, age_extras = sets[name]
        usable = np.isfinite(features).all(axis=1)
        if holdout is not None:
            usable[holdout] = False  # the training pool
        if not usable.any():
            logger.warning("reference %s: no star has %s; left out", name, ", ".join(names))
            continue
        out[name] = reference_audit(
            features, name=name, feature_names=names, features_err=err, numax=sample.numax, deltanu=sample.deltanu,
            alpha_m=extras["alpha_m"], evolstate=sample.evolstate, log_age=sample.log_age,
            log_age_err=sample.log_age_err, age_extras=age_extras,
            age_extras_err={k: extras_err[k] for k in age_extras},
            n_label_train=_label_train_size(int(usable.sum()), LABEL_TRAIN_SIZE),
            n_state_train=_label_train_size(int((usable & known).sum()), n_train), seed=seed, holdout=holdout,
            forest_params=params,
            **age_kwargs)
    return out


def envelope_audit_workspace(workspace) -> dict | None:
    """:func:`~latentexplorer.audits.envelopes.envelope_audit` of the decoded PSDs of the pairs the encoder-decoder
    never trained on (:meth:`Workspace.held_out_pair_rows`) against their catalog ν_max, and
    (``"observed"``) of the same pairs' observed PSDs — what the envelope estimator reaches on the data
    themselves; None without model/, its training record or pairs.h5."""
    ws = Workspace.of(workspace)
    if not (ws.has("model") and ws.has("pairs")):
        return None
    try:
        rows = ws.held_out_pair_rows()
    except FileNotFoundError as err:
        logger.warning("%s: no envelope audit", err)
        return None
    if rows.size == 0:
        return None
    held = ws.pairs.take(rows)
    decoded = np.asarray(ws.model.reconstruct(ws.pair_spectra(rows)))
    result = envelope_audit(decoded, held.frequency, held.numax).to_dict()
    return {**result, "observed": envelope_audit(held.log_psd, held.frequency, held.numax).to_dict()}
