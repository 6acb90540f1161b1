"""The information ladder: what each feature set can predict about a mock survey's seismic giants, against truth.

Every link of the method can only lose information: the spectra hold some of a star's mass (through
[C/N], Teff and log g), the flattened power spectrum holds some (through Δν and the envelope), the latent
space keeps part of what the power spectra reward, and the age forest keeps part of the latent. The
ladder puts numbers on each step, on the *same* held-out stars for every row, so a reader sees where a
step loses information — and every later change to the mock, the encoder-decoder or the age forest can
quote it.

Rows (feature sets), each scored by plain scikit-learn random forests (``n_trees`` trees, default 300)
trained on the age forest's own training stars (``forest/training_ids.txt``) and scored on the seismic
giants (allStar 2.5 < log g < 3.6) it did not train on:

- ``latent + Teff + [Fe/H]`` — the project's age-model features (latent means, allStar Teff and [Fe/H]);
- ``spectra PCA + Teff + [Fe/H]`` — the first ``n_components`` principal components of the normalised
  spectra (fitted on the training stars): what a spectrum holds, the ceiling for any encoder;
- ``PSD PCA + Teff + [Fe/H]`` — the same for the observed, flattened log power spectra: what the
  encoder-decoder's target holds;
- ``ASPCAP-like labels`` — allStar Teff, log g, [Fe/H] and [C/N]: the data-driven spectroscopic ages the
  paper compares with;
- ``seismic ν_max, Δν + Teff + [Fe/H]`` — the seismic catalog's measurements;
- ``scaling mass + [Fe/H] + state`` and ``true mass + [Fe/H] + state`` — ages only: what mass buys;
- ``catalog Age`` and ``catalog 10**LogAge`` — the project's own age forest as it wrote the catalog
  (ages and ``EVOLSTATE_PRED``, no new fit).

Scores per row: R² and robust scatter (1.4826 × MAD) of log10 mass, [C/N], excess Δν (Δν over the paper's
Eq. 6 expectation at ν_max), log10 ν_max and log10 Δν, each predicted from the features by a forest
trained on the true values; the age's fractional robust scatter (predicted / true − 1) overall and by
true evolutionary state and its median bias, from a forest trained on the seismic catalog's ages (what a
survey has) and scored against the true ages; and the RC/RGB misclassification rate of a forest
classifier trained on the seismic catalog's states, scored against the true states.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..ages.forest import robust_width

__all__ = ["LABEL_TARGETS", "LadderRow", "InformationLadder", "LadderStars", "ladder_stars", "information_ladder",
           "age_scores"]

#: Label targets of the ladder: name → description (units).
LABEL_TARGETS = {
    "log_mass": "log10 mass (dex)",
    "c_n": "[C/N] (dex)",
    "excess_deltanu": "excess Δν (Δν / Eq. 6 expectation)",
    "log_numax": "log10 ν_max (dex)",
    "log_deltanu": "log10 Δν (dex)",
}


@dataclass
class LadderRow:
    """One feature set's scores on the held-out stars.

    ``labels`` maps a :data:`LABEL_TARGETS` name to ``{"r2": …, "robust": …}`` (absent where the target is
    an input of the row or the row predicts ages only); ``age`` holds ``robust``, ``robust_rc``,
    ``robust_rgb`` (fractional) and ``bias`` (median of predicted / true − 1); ``misclassified`` is the
    RC/RGB error rate (NaN where the state is an input).
    """

    name: str
    labels: dict = field(default_factory=dict)
    age: dict = field(default_factory=dict)
    misclassified: float = float("nan")


@dataclass
class InformationLadder:
    """The ladder of one workspace: its rows, and how many stars trained and were scored."""

    rows: list
    n_train: int
    n_test: int
    n_test_rc: int
    n_trees: int
    n_components: int

    def row(self, name: str) -> LadderRow:
        """The row whose name starts with ``name``; KeyError if none."""
        for row in self.rows:
            if row.name.startswith(name):
                return row
        raise KeyError(f"no ladder row {name!r}; rows: {', '.join(r.name for r in self.rows)}")

    def to_dict(self) -> dict:
        return {"n_train": self.n_train, "n_test": self.n_test, "n_test_rc": self.n_test_rc,
                "n_trees": self.n_trees, "n_components": self.n_components,
                "rows": [asdict(row) for row in self.rows]}

    def table(self) -> tuple[list, list]:
        """(header, rows) of strings: R² of mass, [C/N] and excess Δν; robust scatter of ν_max and Δν in dex;
        age robust scatter overall / RC / RGB and median bias in per cent; RC/RGB misclassification."""

        def num(value, fmt):
            return "" if value is None or not math.isfinite(value) else format(value, fmt)

        header = ["features", "log mass R²", "[C/N] R²", "excess Δν R²", "ν_max (dex)", "Δν (dex)", "age robust",
                  "RC", "RGB", "age bias", "RC/RGB wrong"]
        rows = []
        for row in self.rows:
            lab = row.labels
            cells = [row.name] + [num(lab.get(k, {}).get("r2"), ".2f") for k in ("log_mass", "c_n", "excess_deltanu")]
            cells += [num(lab.get(k, {}).get("robust"), ".3f") for k in ("log_numax", "log_deltanu")]
            cells += [num(row.age.get(k), ".0%") for k in ("robust", "robust_rc", "robust_rgb")]
            cells += [num(row.age.get("bias"), "+.0%"), num(row.misclassified, ".0%")]
            rows.append(cells)
        return header, rows

    @property
    def caption(self) -> str:
        return (f"{self.n_train} training stars (the age forest's), {self.n_test} held-out seismic giants "
                f"({self.n_test_rc} RC), the same for every row; {self.n_trees}-tree random forests, "
                f"{self.n_components} principal components.")

    def to_markdown(self) -> str:
        """The ladder as a Markdown table and its caption."""
        header, rows = self.table()
        lines = ["| " + " | ".join(cells) + " |" for cells in [header, ["---"] * len(header), *rows]]
        return "\n".join(lines + ["", self.caption])

    def __str__(self) -> str:
        return self.to_markdown()


def age_scores(true_age, pred_age, rc) -> dict:
    """Fractional age scores (predicted / true − 1) of ages in Gyr: robust scatter overall, of the RC
    (``rc`` True) and the RGB, median bias, n."""
    frac = pred_age / true_age - 1.0
    return {"robust": robust_width(frac), "robust_rc": robust_width(frac[rc]) if rc.any() else float("nan"),
            "robust_rgb": robust_width(frac[~rc]) if (~rc).any() else float("nan"),
            "bias": float(np.median(frac)), "n": int(frac.size)}


def _pca(values, train, n_components, seed):
    from sklearn.decomposition import PCA

    pca = PCA(n_components=n_components, random_state=seed).fit(values[train])
    return pca.transform(values)


@dataclass
class LadderStars:
    """The ladder's stars and every column it uses, (n,) or (n, k): ``train`` marks the age forest's
    training stars, the others are held out. Columns: latent (z_mean) and latent_err (z_std), teff, fe_h and
    their errors, labels (Teff, log g, [Fe/H], [C/N]), seismic (log ν_max, log Δν), scaling_mass (log),
    state_obs, log_age_obs and log_age_err_obs (the seismic catalog's), the true log_mass, c_n,
    excess_deltanu, log_numax, log_deltanu, age (Gyr) and state, the catalog's cat_age, cat_logage and
    cat_state, spectra_pca and psd_pca (not with ``n_components=0``)."""

    train: np.ndarray  # bool (n,)
    columns: dict

    def __getitem__(self, name):
        return self.columns[name]


def ladder_stars(workspace, n_components: int = 30, seed: int = 0, model=None) -> LadderStars:
    """Gather, for a mock workspace's seismic giants (allStar 2.5 < log g < 3.6) with every input finite, the
    features and truths of every ladder row (:class:`LadderStars`). With ``model`` (a model directory, e.g. a
    candidate encoder-decoder) the latent column is that model's encoding of the stars' spectra instead of
    the workspace's latent.h5."""
    from ..workspace import Workspace
    from ..constants import AGE_LOGG_RANGE
    from ..match import match_ids
    from ..selection import table_column
    from ..seismo import excess_deltanu, scaling_mass

    ws = Workspace.of(workspace)
    inputs = ws.age_inputs
    seismic = ws.seismic
    rows = match_ids(seismic["APOGEE_ID"], inputs.apogee_id)
    seismic, rows = seismic[rows >= 0], rows[rows >= 0]
    truth, catalog = ws.truth, ws.catalog
    pairs = ws.pairs
    pair_row = match_ids(inputs.apogee_id[rows], pairs.apogee_id)

    logg = inputs.column("LOGG")[rows]
    teff, feh = inputs.column("TEFF")[rows], inputs.column("FE_H")[rows]
    cn_obs = inputs.column("C_FE")[rows] - inputs.column("N_FE")[rows]
    numax_obs, dnu_obs = table_column(seismic, "NUMAX"), table_column(seismic, "DNU")
    state_obs = np.asarray(seismic["EVOLSTATE"]).astype(str)
    t = {k: table_column(truth, k)[rows] for k in ("MASS", "AGE", "NUMAX", "DELTANU", "C_FE", "N_FE")}
    true_state = np.asarray(truth["EVOLSTATE"]).astype(str)[rows]
    cat_state = np.asarray(catalog["EVOLSTATE_PRED"]).astype(str)[rows]
    columns = {
        "latent": inputs.z_mean[rows].astype(float), "teff": teff, "fe_h": feh,
        "labels": np.column_stack([teff, logg, feh, cn_obs]),
        "seismic": np.column_stack([np.log10(numax_obs), np.log10(dnu_obs)]),
        "scaling_mass": np.log10(scaling_mass(numax_obs, dnu_obs, teff)),
        "state_obs": state_obs, "log_age_obs": np.log10(table_column(seismic, "AGE")),
        "log_age_err_obs": table_column(seismic, "AGE_ERR") / (table_column(seismic, "AGE") * np.log(10.0)),
        "latent_err": inputs.z_std[rows].astype(float), "teff_err": inputs.column("TEFF_ERR")[rows],
        "fe_h_err": inputs.column("FE_H_ERR")[rows], "apogee_id": inputs.apogee_id[rows],
        "log_mass": np.log10(t["MASS"]), "c_n": t["C_FE"] - t["N_FE"],
        "excess_deltanu": excess_deltanu(t["DELTANU"], t["NUMAX"]),
        "log_numax": np.log10(t["NUMAX"]), "log_deltanu": np.log10(t["DELTANU"]),
        "age": t["AGE"], "state": true_state,
        "cat_age": table_column(catalog, "Age")[rows], "cat_logage": table_column(catalog, "LogAge")[rows],
        "cat_state": cat_state, "pair_row": pair_row,
    }
    with np.errstate(invalid="ignore"):
        ok = (logg > AGE_LOGG_RANGE[0]) & (logg < AGE_LOGG_RANGE[1]) & (pair_row >= 0)
    ok &= np.isin(state_obs, ("RC", "RGB")) & np.isin(true_state, ("RC", "RGB")) & np.isin(cat_state, ("RC", "RGB"))
    for values in columns.values():
        if np.asarray(values).dtype.kind == "f":
            ok &= np.isfinite(values).reshape(len(ok), -1).all(axis=1)
    train_ids = ws.age_model.training_ids
    is_train = np.isin(inputs.apogee_id[rows], train_ids)
    keep = np.flatnonzero(ok)
    columns = {k: np.asarray(v)[keep] for k, v in columns.items()}
    train = is_train[keep]
    if not n_components and model is None:
        return LadderStars(train, columns)
    # spectra and PSDs of the kept stars, from pairs.h5 (spectra read once, in file order)
    spectra = ws.pair_spectra(columns["pair_row"])
    if model is not None:
        from ..ved import VariationalEncoderDecoder

        columns["latent"] = VariationalEncoderDecoder.load(model).encode(spectra)[0].astype(float)
    if not n_components:
        return LadderStars(train, columns)
    columns["spectra_pca"] = _pca(spectra.astype(np.float64), train, n_components, seed)
    del spectra
    columns["psd_pca"] = _pca(np.asarray(pairs.log_psd)[columns["pair_row"]].astype(np.float64), train,
                              n_components, seed)
    return LadderStars(train, columns)


def information_ladder(workspace, n_trees: int = 300, n_components: int = 30, seed: int = 0,
                       n_jobs: int | None = None, model=None) -> InformationLadder:
    """Score every feature set of the ladder on a mock workspace's held-out seismic giants.

    Parameters
    ----------
    workspace : Workspace or path
        A mock workspace with truth.fits, survey/, pairs.h5, latent.h5, forest/ and catalog.fits.
    n_trees : int
        Trees of every forest (default 300).
    n_components : int
        Principal components of the spectra and of the PSDs (default 30).
    seed : int
        Seeds the forests and the PCA.
    n_jobs : int, optional
        Processes for the forests (scikit-learn's ``n_jobs``; default all CPUs).
    model : path, optional
        A model directory to score in place of the workspace's latents (the latent row only: the catalog
        rows stay the workspace's own forest's).

    Returns
    -------
    InformationLadder

    Raises
    ------
    ValueError
        The workspace has no truth (a real survey: the ladder needs the true values), or too few stars.
    """
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.metrics import r2_score

    from ..workspace import Workspace

    ws = Workspace.of(workspace)
    if not ws.is_mock:
        raise ValueError(f"{ws.root}: the information ladder needs a mock survey's truth.fits; a real survey has none")
    stars = ladder_stars(ws, n_components, seed, model)
    train, test = stars.train, ~stars.train
    if train.sum() < 20 or test.sum() < 20:
        raise ValueError(f"the ladder needs ≥ 20 training and held-out stars with every input; got {train.sum()} "
                         f"and {test.sum()}")
    rc = stars["state"][test] == "RC"
    true_age = stars["age"][test]
    forest = dict(n_estimators=n_trees, random_state=seed, n_jobs=-1 if n_jobs is None else n_jobs,
                  min_samples_leaf=1)

    def regress(X, y):
        return RandomForestRegressor(**forest).fit(X[train], y[train]).predict(X[test])

    def classify(X):
        model = RandomForestClassifier(**forest).fit(X[train], stars["state_obs"][train])
        return float(np.mean(model.predict(X[test]) != stars["state"][test]))

    def feature_row(name, X, skip=()):
        labels = {}
        for target in LABEL_TARGETS:
            if target in skip:
                continue
            y = stars[target]
            pred = regress(X, y)
            labels[target] = {"r2": float(r2_score(y[test], pred)), "robust": robust_width(pred - y[test])}
        age = age_scores(true_age, 10.0 ** regress(X, stars["log_age_obs"]), rc)
        return LadderRow(name, labels, age, classify(X))

    def age_row(name, X):
        return LadderRow(name, {}, age_scores(true_age, 10.0 ** regress(X, stars["log_age_obs"]), rc))

    tf = np.column_stack([stars["teff"], stars["fe_h"]])
    state_obs = (stars["state_obs"] == "RC").astype(float)
    true_rc = (stars["state"] == "RC").astype(float)
    rows = [
        feature_row("latent + Teff + [Fe/H]", np.column_stack([stars["latent"], tf])),
        feature_row(f"spectra PCA{n_components} + Teff + [Fe/H]", np.column_stack([stars["spectra_pca"], tf])),
        feature_row(f"PSD PCA{n_components} + Teff + [Fe/H]", np.column_stack([stars["psd_pca"], tf])),
        feature_row("ASPCAP-like labels Teff, log g, [Fe/H], [C/N]", stars["labels"]),
        feature_row("seismic ν_max, Δν + Teff + [Fe/H]", np.column_stack([stars["seismic"], tf]),
                    skip=("log_numax", "log_deltanu")),
        age_row("scaling mass + [Fe/H] + state", np.column_stack([stars["scaling_mass"], stars["fe_h"], state_obs])),
        age_row("true mass + [Fe/H] + state", np.column_stack([stars["log_mass"], stars["fe_h"], true_rc])),
        LadderRow("catalog Age (project's age forest)", {}, age_scores(true_age, stars["cat_age"][test], rc),
                  float(np.mean(stars["cat_state"][test] != stars["state"][test]))),
        LadderRow("catalog 10**LogAge (project's age forest)", {},
                  age_scores(true_age, 10.0 ** stars["cat_logage"][test], rc),
                  float(np.mean(stars["cat_state"][test] != stars["state"][test]))),
    ]
    return InformationLadder(rows, int(train.sum()), int(test.sum()), int(rc.sum()), n_trees, n_components)
