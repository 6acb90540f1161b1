"""Each choice of the age forest measured against a plain random forest, on the same stars.

The stars are the information ladder's (:func:`latentexplorer.audits.ladder.ladder_stars`): the age forest's own
training stars train every variant (latent + Teff + [Fe/H] → the seismic catalog's log10 age), its
calibration stars calibrate the tree spread, and the other held-out seismic giants are scored against the
mock's true ages. Each variant changes choices of the paper's forest (100 trees, input noise from
z_std / Teff / [Fe/H] errors, label noise and 1/σ label weighting, leaves of one star): its
``10**LogAge`` (mean of tree log ages) and ``Age`` (mean of 10**tree log age, the published recipe)
scores, and the pull width (pred − seismic age) / √(σ_label² + σ_pred²) after calibration. The RC/RGB
classifier is compared likewise: the paper's (latent only, with input noise) beside plain forests.

Run: ``.venv/bin/python -m benchmarks.bench_age_choices WORKSPACE [--json choices.json]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from latentexplorer.ages.forest import (ProbabilisticRandomForestClassifier, ProbabilisticRandomForestRegressor,
    robust_width)
from latentexplorer.audits.ladder import age_scores, ladder_stars
from latentexplorer.workspace import Workspace

PAPER = dict(n_estimators=100, min_samples_leaf=1, label_weighting="inverse_error")
VARIANTS = {  # name → (forest parameters, input noise, label noise)
    "paper recipe (100 trees, input + label noise, 1/σ weights)": (PAPER, True, True),
    "no label weighting": ({**PAPER, "label_weighting": None}, True, True),
    "no label noise, no weighting": (PAPER, True, False),
    "300 trees": ({**PAPER, "n_estimators": 300}, True, True),
    "leaves of 5 stars": ({**PAPER, "min_samples_leaf": 5}, True, True),
    "no input noise": (PAPER, False, True),
    "no input noise, 300 trees": ({**PAPER, "n_estimators": 300}, False, True),
    "no input noise, leaves of 5": ({**PAPER, "min_samples_leaf": 5}, False, True),
    "no input noise, leaves of 5, no weighting": ({**PAPER, "min_samples_leaf": 5, "label_weighting": None}, False,
                                                  True),
    "no input noise, 300 trees, leaves of 5": ({**PAPER, "n_estimators": 300, "min_samples_leaf": 5}, False, True),
}


def _row(stars, test, rc, log_trees, cal, y, y_err):
    """Scores of a forest's (trees, n) log ages: 10**LogAge and Age, pull widths on the test stars."""
    true_age = stars["age"][test]
    mean = log_trees.mean(axis=0)
    spread = log_trees.std(axis=0)
    out = {"LogAge": age_scores(true_age, 10.0 ** mean[test], rc),
           "Age": age_scores(true_age, (10.0 ** log_trees).mean(axis=0)[test], rc)}
    resid = mean - y
    if spread[cal].max() > 0:
        # the calibration the age model does: s so that the calibration stars' pulls have unit MAD width
        scales = np.geomspace(1e-2, 1e2, 801)
        widths = [robust_width(resid[cal] / np.sqrt(y_err[cal] ** 2 + (s * spread[cal]) ** 2)) for s in scales]
        s = scales[np.argmin(np.abs(np.asarray(widths) - 1.0))]
        out["pull_width"] = robust_width(resid[test] / np.sqrt(y_err[test] ** 2 + (s * spread[test]) ** 2))
        out["calibration_scale"] = float(s)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    ws = Workspace.of(args.workspace)
    stars = ladder_stars(ws, n_components=0, seed=args.seed)
    train = stars.train
    cal = ~train & np.isin(stars["apogee_id"], ws.age_model.calibration_ids)
    test = ~train & ~cal
    rc = stars["state"][test] == "RC"
    X = np.column_stack([stars["latent"], stars["teff"], stars["fe_h"]])
    X_err = np.column_stack([stars["latent_err"], stars["teff_err"], stars["fe_h_err"]])
    y, y_err = stars["log_age_obs"], stars["log_age_err_obs"]
    results = {}

    plain = RandomForestRegressor(300, random_state=args.seed, n_jobs=-1).fit(X[train], y[train])
    log_trees = np.array([tree.predict(X) for tree in plain.estimators_])
    results["plain random forest (300 trees)"] = _row(stars, test, rc, log_trees, cal, y, y_err)
    for name, (params, input_noise, label_noise) in VARIANTS.items():
        forest = ProbabilisticRandomForestRegressor(**params, random_state=args.seed, n_jobs=-1)
        forest.fit(X[train], y[train], X_err=X_err[train] if input_noise else None,
                   y_err=y_err[train] if label_noise else None)
        log_trees = forest.predict_posterior(X, X_err=X_err if input_noise else None, calibrated=False).T
        results[name] = _row(stars, test, rc, log_trees, cal, y, y_err)

    k = stars["latent"].shape[1]
    state = {"paper's classifier (latent, input noise, 100 trees)": ProbabilisticRandomForestClassifier(
        100, random_state=args.seed, n_jobs=-1).fit(X[train, :k], stars["state_obs"][train], X_err=X_err[train, :k])
        .predict(X[test, :k], X_err=X_err[test, :k])}
    state["the default classifier (latent + Teff + [Fe/H], no input noise, leaves of 5, 100 trees)"] = (
        ProbabilisticRandomForestClassifier(100, min_samples_leaf=5, random_state=args.seed, n_jobs=-1)
        .fit(X[train], stars["state_obs"][train]).predict(X[test]))
    for name, cols in (("plain classifier, latent", slice(0, k)), ("plain classifier, latent + Teff + [Fe/H]",
                                                                  slice(None))):
        model = RandomForestClassifier(300, random_state=args.seed, n_jobs=-1).fit(X[train, cols],
                                                                                   stars["state_obs"][train])
        state[name] = model.predict(X[test, cols])
    misclassified = {name: float(np.mean(pred != stars["state"][test])) for name, pred in state.items()}

    print(f"{train.sum()} training, {cal.sum()} calibration, {test.sum()} test stars ({rc.sum()} RC); "
          "fractional age scores against the true ages")
    print("| forest | 10**LogAge robust | RC | RGB | bias | Age robust | RC | RGB | bias | pull width |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        cells = [f"{r[k][m]:.0%}" if m != "bias" else f"{r[k][m]:+.0%}" for k in ("LogAge", "Age")
                 for m in ("robust", "robust_rc", "robust_rgb", "bias")]
        print(f"| {name} | " + " | ".join(cells) + f" | {r.get('pull_width', float('nan')):.2f} |")
    print("\n| RC/RGB classifier | misclassified |\n|---|---|")
    for name, rate in misclassified.items():
        print(f"| {name} | {rate:.1%} |")
    print(f"\n{args.workspace}: {time.perf_counter() - start:.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"ages": results, "evolstate": misclassified}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
