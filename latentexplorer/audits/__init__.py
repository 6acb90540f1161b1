"""The paper's audits, in one home: the analyses of Leung et al. (2023) sections 6.1, 6.3 and 8.1 on plain arrays,
their run on a workspace, and the information ladder.

Every audit on arrays takes NumPy arrays (one row per star), splits the usable stars at random with a seed,
fits a :class:`~latentexplorer.ages.forest.ProbabilisticRandomForestRegressor` (or classifier) on the
training stars and scores the held-out ones. They return small dataclasses whose ``to_dict()`` gives
plain Python numbers for reports and tests (:mod:`.results`); the per-star arrays (indices, truths,
predictions) stay on the object for plotting. Their inputs are checked the same way (:mod:`.inputs`) and
split the same way (:mod:`latentexplorer.ages.split`).

- Fig. 7, latent → [Fe/H], [α/M], [N/H], [C/N], Teff: :func:`.labels.label_audit` (bias, scatter, R²).
- Fig. 8, latent → ν_max, Δν, excess Δν: :func:`.labels.seismic_audit` (fractional bias and scatter, R²).
- Fig. 9, latent → RC / RGB: :func:`.classes.evolstate_audit` (confusion matrix, misclassification rates).
- Fig. 10, latent + Teff + [Fe/H] → age: :func:`.ages.age_audit` (fractional age bias and scatter overall
  and per state, pull-distribution widths before and after calibration).
- Figs. 16–17, feature ablations: :func:`.ages.age_ablation` (one :class:`~.ages.AgeAudit` per feature set).
- [α/M] leakage: :func:`.leakage.leakage_audit` (slope of the age residual with [α/M] at fixed true age, its
  error, partial correlation and p-value), run inside the age audits when [α/M] is given.
- Baseline, age straight from the spectra: :func:`.reference.spectrum_baseline_audit` (PCA + the same forest on
  the same split, through the same audit, for a side-by-side leakage comparison).
- Reference feature sets: :func:`.reference.reference_audit` runs the acceptance audits (ν_max, Δν, [α/M],
  RC/RGB, age) with other features in place of the latent space — e.g. the seismic ν_max and Δν themselves, the
  information a perfect latent space would hold, or the ASPCAP labels with [C/N]. They say what each
  target can reach on a given survey: a latent space cannot predict age better than exact ν_max and Δν
  with the same Teff, [Fe/H], training stars and label errors.
- Section 6.1, decoded envelopes against the true ν_max: :func:`.envelopes.envelope_audit`.

Conventions (the paper's): 2,000 random training stars for labels (:data:`.inputs.LABEL_TRAIN_SIZE`), ~1,200
for ages (:data:`latentexplorer.ages.split.AGE_TRAIN_SIZE`), the rest held out; ages are fitted as log10(age / Gyr) with the
label error in dex; stars with a non-finite value in any input they need are left out (counted in
``n_excluded``). Age audits additionally hold out a calibration split (default 30 % of the held-out
stars) on which :meth:`~latentexplorer.ages.forest.ProbabilisticRandomForestRegressor.calibrate` scales the
tree spread; bias, scatter and pulls are measured on the remaining test stars only.

:mod:`.workspace` runs them on a :class:`~latentexplorer.workspace.Workspace` (Figs. 7–10, 16–17, leakage,
baseline, reference sets, envelopes); :mod:`.ladder` is the information ladder.
"""
