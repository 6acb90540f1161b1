"""Choosing the encoder-decoder's hyper-parameters as the paper did (section 5): candidates trained on the same
pairs for the same epochs, scored on the same held-out pairs, and chosen on the held-out value of the paper's
objective (Eq. 1 with the paper's pixel weights + Eq. 2, decoding the latent means; :mod:`.scores`).

The objective is the yardstick for every candidate, whatever loss it trained on (a KL weight β ≠ 1 or heavier
envelope weights change what a candidate minimises, not what it is judged on), so candidates compare fairly
and the choice never looks at a science figure. Each candidate also reports what the science needs, recorded
beside it but not used to choose: the decoded envelope within 10 % of ν_max (:mod:`.scores`), the RC/RGB
misclassification of a random forest on the latent means, the latent dimensions left active, and — when the
pairs come from a mock with a truth table — the R² of log10 mass predicted from latent + Teff + [Fe/H] beside
the same forest on the spectra's first 30 principal components (the ceiling any encoder can reach on these
stars).

:func:`run_search` is resumable: each finished candidate's row is in ``results.json`` and its model in a
directory of its own (checkpointed every epoch), so a rerun continues where it stopped.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_output
from .scores import envelope_placement, objective

__all__ = ["Candidate", "SearchPlan", "REFERENCE_CANDIDATES", "run_search", "best_candidate"]


@dataclass(frozen=True)
class Candidate:
    """One setting of the encoder-decoder: latent dimension, KL weight β, envelope-weight height, Adam's
    initial learning rate and the batch size. The defaults are the paper's (five latent dimensions, Eq. 1
    + Eq. 2) with the reference schedule."""

    name: str
    latent_dim: int = 5
    kl_beta: float = 1.0
    envelope_height: float = 1.0
    learning_rate: float = 5e-4
    batch_size: int = 64

    @property
    def slug(self) -> str:
        """A directory name for the candidate's model."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


@dataclass(frozen=True)
class SearchPlan:
    """How candidates are trained and scored: ``n_train`` pairs for ``epochs`` epochs each, scored on
    ``n_test`` other pairs (both drawn once with ``seed``); ``n_components`` principal components of the
    spectra for the mass ceiling."""

    n_train: int = 4000
    n_test: int = 2000
    epochs: int = 10
    seed: int = 0
    n_components: int = 30


#: The reference search: the paper's latent-dimension scan (from the three parameters it names — ν_max, Δν and
#: the evolutionary state — upwards), then a lighter KL term and a heavier envelope at five dimensions.
REFERENCE_CANDIDATES = (
    Candidate("3-D latent", latent_dim=3),
    Candidate("4-D latent", latent_dim=4),
    Candidate("5-D latent (paper)", latent_dim=5),
    Candidate("6-D latent", latent_dim=6),
    Candidate("8-D latent", latent_dim=8),
    Candidate("5-D latent, KL weight 0.3", kl_beta=0.3),
    Candidate("5-D latent, envelope weight 4", envelope_height=4.0),
)


@dataclass
class _Stars:
    """The pairs a search trains and scores on, with what scoring needs beside them."""

    pairs: object
    train: np.ndarray
    test: np.ndarray
    teff_feh: np.ndarray  # (n_pairs, 2), NaN where the allStar lacks the star
    log_mass: np.ndarray | None  # (n_pairs,) true log10 mass, None without a truth table


def _stars(pairs_file, allstar_file, truth_file, plan: SearchPlan) -> _Stars:
    from ..io.allstar import allstar_columns, read_allstar
    from ..io.pairs import read_pairs
    from ..io.truth import read_truth
    from ..match import match_ids
    from ..selection import table_column

    pairs = read_pairs(pairs_file)
    n = len(pairs)
    if plan.n_train + plan.n_test > n:
        raise ValueError(f"the search needs {plan.n_train} + {plan.n_test} pairs, {pairs_file} holds {n}")
    order = np.random.default_rng(plan.seed).permutation(n)
    train, test = np.sort(order[:plan.n_train]), np.sort(order[plan.n_train:plan.n_train + plan.n_test])
    present = allstar_columns(allstar_file)
    allstar = read_allstar(allstar_file, [c for c in ("APOGEE_ID", "TEFF", "FE_H") if c in present])
    rows = match_ids(pairs.apogee_id, allstar["APOGEE_ID"])
    teff_feh = np.full((n, 2), np.nan)
    found = rows >= 0
    teff_feh[found] = np.column_stack([table_column(allstar, "TEFF"), table_column(allstar, "FE_H")])[rows[found]]
    log_mass = None
    if truth_file is not None:
        truth = read_truth(truth_file)
        truth_rows = match_ids(pairs.apogee_id, truth["APOGEE_ID"])
        log_mass = np.full(n, np.nan)
        log_mass[truth_rows >= 0] = np.log10(table_column(truth, "MASS")[truth_rows[truth_rows >= 0]])
    return _Stars(pairs, train, test, teff_feh, log_mass)


def _mass_r2(features, stars: _Stars) -> float:
    """R² of true log10 mass on the test pairs, from a 300-tree forest trained on the training pairs."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.metrics import r2_score

    X = np.column_stack([features, stars.teff_feh])
    ok = np.isfinite(X).all(axis=1) & np.isfinite(stars.log_mass)
    train, test = stars.train[ok[stars.train]], stars.test[ok[stars.test]]
    forest = RandomForestRegressor(300, min_samples_leaf=3, random_state=0, n_jobs=-1)
    forest.fit(X[train], stars.log_mass[train])
    return float(r2_score(stars.log_mass[test], forest.predict(X[test])))


def _spectra_ceiling(stars: _Stars, n_components: int, seed: int) -> float:
    from sklearn.decomposition import PCA

    spectra = stars.pairs.spectra
    pca = PCA(n_components, random_state=seed).fit(spectra[stars.train])
    return _mass_r2(pca.transform(spectra), stars)


def _score(ved, stars: _Stars) -> dict:
    from sklearn.ensemble import RandomForestClassifier

    pairs, train, test = stars.pairs, stars.train, stars.test
    rows = np.concatenate([train, test])  # the only pairs scored: encoded once
    z_mean = np.full((len(pairs), ved.latent_dim), np.nan)
    z_std = np.full_like(z_mean, np.nan)
    z_mean[rows], z_std[rows] = (np.asarray(a, float) for a in ved.encode(pairs.spectra[rows]))
    decoded = np.asarray(ved.decode(z_mean[test]), float)
    scores = objective(decoded, z_mean[test], z_std[test], pairs.log_psd[test], pairs.numax[test], pairs.frequency)
    envelope = envelope_placement(decoded, pairs.frequency, pairs.numax[test])
    rc = pairs.evolstate == "RC"
    classifier = RandomForestClassifier(300, min_samples_leaf=3, random_state=0, n_jobs=-1)
    classifier.fit(z_mean[train], rc[train])
    row = {"objective": scores["loss"], "mse": scores["mse"], "kl": scores["kl"],
           "envelope_within_10pc": envelope.within_10pc,
           "rc_rgb_misclassified": float(np.mean(classifier.predict(z_mean[test]) != rc[test])),
           "active_dims": int(np.sum(z_std[test].mean(axis=0) < 0.5))}
    if stars.log_mass is not None:
        row["log_mass_r2"] = _mass_r2(z_mean, stars)
    return row


def _write_json(path: Path, value) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(value, indent=1))


def run_search(directory, *, pairs_file, allstar_file, truth_file=None, candidates=REFERENCE_CANDIDATES,
               plan: SearchPlan = SearchPlan(), progress: bool = True) -> dict:
    """Train and score every candidate on the pairs of ``pairs_file`` (``pairs.h5``), with Teff and [Fe/H]
    from ``allstar_file`` (``allStar.fits``) and, given a mock's ``truth_file`` (``truth.fits``), the mass
    figures. Models go to ``directory/<candidate slug>/``, the record to ``directory/results.json``; a rerun
    skips finished candidates and resumes an interrupted one.

    Returns the record: ``plan``, ``spectra_log_mass_r2`` (the spectra-PCA ceiling; with a truth file only) and
    ``candidates``, one dict per candidate (its settings, ``train_s`` and the scores of the module docstring).
    """
    from . import VariationalEncoderDecoder

    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    results_path = root / "results.json"
    record = json.loads(results_path.read_text()) if results_path.exists() else {}
    if record.get("plan") != asdict(plan):
        record = {"plan": asdict(plan), "candidates": []}
    stars = _stars(pairs_file, allstar_file, truth_file, plan)
    if stars.log_mass is not None and "spectra_log_mass_r2" not in record:
        record["spectra_log_mass_r2"] = _spectra_ceiling(stars, plan.n_components, plan.seed)
        _write_json(results_path, record)
    done = {row["name"]: row for row in record["candidates"]}
    pairs, train = stars.pairs, stars.train
    for candidate in candidates:
        settings = asdict(candidate)
        if done.get(candidate.name, {}).get("settings") == settings:
            continue
        model_dir = root / candidate.slug
        t0 = time.perf_counter()
        ved = VariationalEncoderDecoder(candidate.latent_dim, frequency=pairs.frequency,
                                        learning_rate=candidate.learning_rate).fit(
            pairs.spectra[train], pairs.log_psd[train], pairs.numax[train], ids=pairs.apogee_id[train],
            epochs=plan.epochs, batch_size=candidate.batch_size, seed=plan.seed, kl_beta=candidate.kl_beta,
            envelope_height=candidate.envelope_height, early_stopping_patience=plan.epochs,
            checkpoint_dir=model_dir / "checkpoint", resume=True, progress=progress)
        ved.save(model_dir)
        row = {"name": candidate.name, "settings": settings, "model": candidate.slug,
               "train_s": round(time.perf_counter() - t0, 1), **_score(ved, stars)}
        done[candidate.name] = row
        record["candidates"] = [done[c.name] for c in candidates if c.name in done]
        _write_json(results_path, record)
        if progress:
            print(f"search: {candidate.name}: objective {row['objective']:.2f}, "
                  f"mass R² {row.get('log_mass_r2', float('nan')):.2f}, RC/RGB {row['rc_rgb_misclassified']:.1%}, "
                  f"envelope {row['envelope_within_10pc']:.1%} ({row['train_s']:.0f} s)", flush=True)
    return record


def best_candidate(record: dict, candidates=REFERENCE_CANDIDATES) -> Candidate:
    """The candidate of ``record`` (from :func:`run_search`) with the lowest held-out objective."""
    best = min(record["candidates"], key=lambda row: row["objective"])
    return next(c for c in candidates if c.name == best["name"])
