"""The workspace report: PNG figures in the spirit of the paper's Figs. 3, 5, 7, 8, 9, 10 and 16 and a
one-page summary (Markdown and HTML) with every number of the audits.

:func:`write_report` runs :func:`latentexplorer.ages.audit_workspace` (or takes its result) and writes,
under ``WORKSPACE/report/``:

- ``fig03_psd_reconstruction.png`` observed vs decoded PSDs of pairs spanning ν_max (needs ``model/``
  and ``pairs.h5``; skipped otherwise);
- ``fig05_latent_space.png`` the seismic stars in consecutive latent pairs, coloured by state, ν_max,
  [Fe/H] and excess Δν;
- ``fig07_labels.png`` / ``fig08_seismic.png`` held-out label and seismic predictions from the latent;
- ``fig09_evolstate.png`` the RC/RGB confusion matrix;
- ``fig10_ages.png`` held-out ages of the fiducial model (latent + Teff + [Fe/H]) and the pull
  distribution after calibration;
- ``fig16_ablation.png`` the feature ablations (Figs. 16–17);
- ``leakage.png`` age residual against [α/M], latent model beside the spectrum baseline;
- ``summary.md``, ``summary.html`` and ``audits.json`` (the numbers, machine-readable).

Figures are drawn on :class:`matplotlib.figure.Figure` objects (Agg canvas), never through pyplot, so the
report neither needs nor changes an interactive backend. Every file is written atomically.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from astropy.table import Table
from matplotlib.figure import Figure

from .ages import FIDUCIAL, LATENT_FLAGS, AgeFlag, AgeModel, WorkspaceAudits, audit_workspace
from .io.allstar import read_allstar
from .io.atomic import atomic_output
from .seismo import excess_deltanu
from .workspace import Workspace

__all__ = ["ACCEPTANCE", "ReportSummary", "acceptance_checks", "reference_numbers", "write_report"]

logger = logging.getLogger(__name__)

#: Issue-5 acceptance targets: (description, how to read the number from audits.to_dict(), test).
ACCEPTANCE = (
    ("age scatter overall ≤ 22 %", lambda d: d["ages"][FIDUCIAL]["overall"]["scatter"], lambda v: v <= 0.22),
    ("age scatter RC ≤ 11 %", lambda d: d["ages"][FIDUCIAL]["by_state"]["RC"]["scatter"], lambda v: v <= 0.11),
    ("|age bias| ≤ 3 %", lambda d: abs(d["ages"][FIDUCIAL]["overall"]["bias"]), lambda v: v <= 0.03),
    ("pull width (1.4826 MAD) in [0.9, 1.1]", lambda d: d["ages"][FIDUCIAL]["pull_width_mad"],
     lambda v: 0.9 <= v <= 1.1),
    ("[α/M] R² from latent ≤ 0.05", lambda d: d["labels"]["alpha_m"]["r2"], lambda v: v <= 0.05),
    ("no [α/M] leakage (p ≥ 0.01)", lambda d: d["ages"][FIDUCIAL]["leakage"]["p_value"], lambda v: v >= 0.01),
    ("RC/RGB misclassification ≤ 10 %", lambda d: d["evolstate"]["misclassification_rate"], lambda v: v <= 0.10),
)


def reference_numbers(reference: dict) -> dict:
    """A reference audit (``audits.to_dict()["references"][name]``) laid out like ``audits.to_dict()``,
    so that :func:`acceptance_checks` reads the same targets from it."""
    return {"ages": {FIDUCIAL: reference["age"]}, "labels": {"alpha_m": reference["alpha_m"]},
            "evolstate": reference["evolstate"], "seismic": reference["seismic"]}


def acceptance_checks(numbers: dict) -> list[tuple[str, float, bool]]:
    """(target, measured value, met) for each of :data:`ACCEPTANCE`; NaN and False where not measurable."""
    out = []
    for text, get, ok in ACCEPTANCE:
        try:
            value = float(get(numbers))
        except (KeyError, TypeError):
            value = float("nan")
        out.append((text, value, bool(np.isfinite(value) and ok(value))))
    return out


# --- figures -------------------------------------------------------------------------------------
def _density(ax, truth, prediction, label, unit="", log=False):
    """Hexbin density of prediction vs truth with the one-to-one line."""
    ok = np.isfinite(truth) & np.isfinite(prediction)
    if log:
        ok &= (np.asarray(truth) > 0) & (np.asarray(prediction) > 0)
    x, y = np.asarray(truth)[ok], np.asarray(prediction)[ok]
    if x.size:
        lo, hi = np.percentile(np.concatenate([x, y]), [0.5, 99.5])
        if hi <= lo:  # a constant label: give the axes some width
            lo, hi = (lo / 2, hi * 2) if log else (lo - 0.5 * max(abs(lo), 1.0), hi + 0.5 * max(abs(hi), 1.0))
        # hexbin takes a log axis' extent as powers of ten
        extent = np.log10([lo, hi, lo, hi]) if log else (lo, hi, lo, hi)
        ax.hexbin(x, y, gridsize=40, extent=extent, bins="log", mincnt=1, cmap="viridis",
                  xscale="log" if log else "linear", yscale="log" if log else "linear")
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8, ls="--")
    ax.set_xlabel(f"{label} (truth){unit}")
    ax.set_ylabel(f"{label} (latent){unit}")


def _regression_figure(audits: dict, names: dict) -> Figure:
    fig = Figure(figsize=(3.4 * len(audits), 3.4), layout="constrained")
    for ax, (key, audit) in zip(fig.subplots(1, len(audits), squeeze=False)[0], audits.items()):
        label, unit = names.get(key, (key, ""))
        _density(ax, audit.truth, audit.prediction, label, unit, log=audit.fractional and key == "numax")
        stat = f"scatter {audit.scatter:.1%}" if audit.fractional else f"scatter {audit.scatter:.3g}"
        ax.set_title(f"{stat}, R² {audit.r2:.2f}", fontsize=9)
    return fig


LABEL_NAMES = {"fe_h": ("[Fe/H]", " [dex]"), "alpha_m": ("[α/M]", " [dex]"), "n_h": ("[N/H]", " [dex]"),
               "c_n": ("[C/N]", " [dex]"), "teff": ("Teff", " [K]"), "numax": ("ν_max", " [μHz]"),
               "deltanu": ("Δν", " [μHz]"), "excess_deltanu": ("excess Δν", "")}


def figure_latent_space(audits: WorkspaceAudits) -> Figure:
    """Fig. 5: consecutive latent pairs of the seismic stars, coloured by state, ν_max, [Fe/H], excess Δν."""
    s = audits.sample
    z = audits.latent
    ok = np.isfinite(z).all(axis=1)
    colourings = (
        ("state (RC red)", (s.evolstate == "RC").astype(float), "coolwarm"),
        ("log10 ν_max [μHz]", np.log10(s.numax), "viridis"),
        ("[Fe/H] [dex]", audits.fe_h, "plasma"),
        ("excess Δν", excess_deltanu(s.deltanu, s.numax), "magma"),
    )
    k = z.shape[1]
    fig = Figure(figsize=(2.6 * (k - 1) + 1, 2.4 * len(colourings)), layout="constrained")
    axes = fig.subplots(len(colourings), k - 1, squeeze=False)
    for row, (name, colour, cmap) in zip(axes, colourings):
        lo, hi = np.nanpercentile(colour[ok], [2, 98]) if ok.any() else (0, 1)
        for i, ax in enumerate(row):
            points = ax.scatter(z[ok, i], z[ok, i + 1], c=colour[ok], s=3, cmap=cmap, vmin=lo, vmax=hi,
                                rasterized=True)
            ax.set_xlabel(f"z{i}")
            ax.set_ylabel(f"z{i + 1}")
        fig.colorbar(points, ax=row.tolist(), label=name)
    return fig


def figure_confusion(audit) -> Figure:
    """Fig. 9: the RC/RGB confusion matrix of held-out stars."""
    cm = np.asarray(audit.confusion)
    fig = Figure(figsize=(4.2, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.imshow(cm, cmap="Blues")
    for (i, j), count in np.ndenumerate(cm):
        ax.text(j, i, f"{count}", ha="center", va="center", color="k")
    ax.set_xticks(range(len(audit.labels)), audit.labels)
    ax.set_yticks(range(len(audit.labels)), audit.labels)
    ax.set_xlabel("latent-space prediction")
    ax.set_ylabel("seismic state")
    ax.set_title(f"misclassified {audit.misclassification_rate:.1%}", fontsize=9)
    return fig


def _age_panel(ax, audit, state, title):
    age_true, age_pred = 10**audit.log_age_true, 10**audit.log_age_pred
    err = np.log(10) * audit.log_age_err
    top = max(np.nanmax(age_true), np.nanmax(age_pred)) * 1.05 if age_true.size else 1.0
    for name, marker in (("RGB", "o"), ("RC", "^")):
        sel = state == name
        points = ax.scatter(age_true[sel], age_pred[sel], c=err[sel], s=8, marker=marker, cmap="viridis",
                            vmin=0.0, vmax=0.3, label=name, rasterized=True)
    ax.plot([0, top], [0, top], color="k", lw=0.8, ls="--")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("seismic age [Gyr]")
    ax.set_ylabel("latent-space age [Gyr]")
    per_state = ", ".join(f"{k} {v.scatter:.1%}" for k, v in audit.by_state.items())
    ax.set_title(f"{title}\nscatter {audit.overall.scatter:.1%} ({per_state})", fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    return points


def figure_ages(audits: WorkspaceAudits) -> Figure:
    """Fig. 10: held-out ages of the fiducial model, coloured by seismic age error; pull histogram."""
    audit = audits.fiducial
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax, hist = fig.subplots(1, 2)
    points = _age_panel(ax, audit, audits.sample.evolstate[audit.test_index], "latent + Teff + [Fe/H]")
    fig.colorbar(points, ax=ax, label="fractional seismic age error")
    pull = (audit.log_age_pred - audit.log_age_true) / np.hypot(audit.log_age_err, audit.log_age_pred_err)
    grid = np.linspace(-4, 4, 200)
    hist.hist(pull[np.isfinite(pull)], bins=np.linspace(-4, 4, 41), density=True, color="C0", alpha=0.7)
    hist.plot(grid, np.exp(-0.5 * grid**2) / np.sqrt(2 * np.pi), color="k", label="N(0, 1)")
    hist.set_xlabel("(ŷ − y) / √(σ_y² + σ_ŷ²)")
    hist.set_title(f"pull width {audit.pull_width_mad:.2f} (uncalibrated {audit.pull_width_mad_uncalibrated:.2f})",
                   fontsize=9)
    hist.legend(fontsize=8)
    return fig


def figure_ablation(audits: WorkspaceAudits) -> Figure:
    """Figs. 16–17: held-out ages of every feature set."""
    items = list(audits.ages.items())
    fig = Figure(figsize=(3.6 * len(items), 3.8), layout="constrained")
    for ax, (key, audit) in zip(fig.subplots(1, len(items), squeeze=False)[0], items):
        _age_panel(ax, audit, audits.sample.evolstate[audit.test_index], key)
    return fig


def figure_leakage(audits: WorkspaceAudits) -> Figure:
    """Age residual against [α/M] for the fiducial latent model and the spectrum baseline."""
    models = [("latent + Teff + [Fe/H]", audits.fiducial)]
    if audits.baseline is not None:
        models.append(("spectra (PCA + forest)", audits.baseline))
    reference = audits.sample.reference_log_age
    fig = Figure(figsize=(4.2 * len(models), 3.6), layout="constrained")
    for ax, (name, audit) in zip(fig.subplots(1, len(models), squeeze=False)[0], models):
        ref = audit.log_age_true if reference is None else reference[audit.test_index]
        ax.scatter(audits.alpha_m[audit.test_index], audit.log_age_pred - ref, s=4, alpha=0.5, rasterized=True)
        ax.axhline(0.0, color="k", lw=0.8)
        leak = audit.leakage
        ax.set_title(f"{name}\nslope {leak.slope:+.2f} ± {leak.slope_err:.2f} dex/dex (p = {leak.p_value:.2g})",
                     fontsize=9)
        ax.set_xlabel("[α/M] [dex]")
        ax.set_ylabel("log10 age residual [dex]")
    return fig


def figure_psd_reconstruction(ws: Workspace, n_stars: int = 4) -> Figure:
    """Fig. 3: observed and decoded PSDs of pairs.h5 stars at ν_max quantiles (needs model/ and pairs.h5).

    The stars are drawn from the encoder-decoder's validation pairs (never in a gradient step) when the
    model records its split, else from all pairs.
    """
    from .ved import VariationalEncoderDecoder

    ved = VariationalEncoderDecoder.load(ws.model)
    with h5py.File(ws.pairs, "r") as f:
        numax = f["numax"][()]
        config = ved.training_.get("config", {})
        pool = (ved.validation_split(numax.size, config["validation_fraction"], config["seed"])[1]
                if {"validation_fraction", "seed"} <= set(config) else np.arange(numax.size))
        quantiles = (np.linspace(0.05, 0.95, n_stars) * (pool.size - 1)).astype(int)
        picks = np.sort(pool[np.argsort(numax[pool])[quantiles]])
        spectra, log_psd = f["spectra"][picks].astype(np.float32), f["log_psd"][picks]
        frequency = f["frequency"][()]
        ids = f["APOGEE_ID"].asstr()[picks] if "APOGEE_ID" in f else [str(i) for i in picks]
    decoded = ved.reconstruct(spectra)
    fig = Figure(figsize=(9, 2.2 * n_stars), layout="constrained")
    for ax, obs, rec, nm, star in zip(fig.subplots(n_stars, 1, squeeze=False)[:, 0], log_psd, decoded,
                                      numax[picks], ids):
        ax.plot(frequency, obs, lw=0.6, color="C0", label="observed (Kepler)")
        ax.plot(frequency, rec, lw=1.0, color="C1", label="decoded from APOGEE spectrum")
        ax.set_xscale("log")
        ax.set_ylabel("ln PSD")
        ax.set_title(f"{star}: ν_max = {nm:.1f} μHz", fontsize=9)
    ax.set_xlabel("frequency [μHz]")
    ax.legend(fontsize=8)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    with atomic_output(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


# --- summary -------------------------------------------------------------------------------------
def _fmt(value, percent=False) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if not np.isfinite(value):
            return "–"
        return f"{value:.1%}" if percent else f"{value:.4g}"
    return str(value)


def _age_rows(ages: dict) -> list[list[str]]:
    rows = []
    for key, a in ages.items():
        leak = a["leakage"] or {}
        rows.append([key, _fmt(a["n_train"]), _fmt(a["n_calibration"]), _fmt(a["n_test"]),
                     _fmt(a["overall"]["bias"], True), _fmt(a["overall"]["scatter"], True),
                     _fmt(a["overall"]["robust_scatter"], True),
                     *(_fmt(a["by_state"].get(s, {}).get("scatter"), True) for s in ("RC", "RGB")),
                     _fmt(a["pull_width_mad"]), _fmt(a["pull_width_std"]), _fmt(a["pull_width_mad_uncalibrated"]),
                     _fmt(a["calibration_scale"]),
                     f"{_fmt(leak.get('slope'))} ± {_fmt(leak.get('slope_err'))}", _fmt(leak.get("p_value")),
                     _fmt(leak.get("partial_correlation"))])
    return rows


def _blocks(numbers: dict, model_meta: dict | None, catalog: dict | None, figures: dict, skipped: dict) -> list:
    """The summary as a list of (kind, ...) blocks rendered to Markdown and HTML alike."""
    info = numbers["info"]
    blocks = [("h1", "latentexplorer report"),
              ("p", f"Workspace {info['workspace']} ({'mock survey' if info['mock'] else 'survey'}): "
                    f"{info['n_allstar']} allStar rows, {info['n_latent']} with a latent representation, "
                    f"{info['n_age_inputs']} with age inputs; {info['n_seismic']} seismic stars, "
                    f"{info['n_age_eligible']} eligible for the age audits. Forests of {info['n_trees']} trees, "
                    f"seed {info['seed']}. All scores are on held-out test stars. {info['holdout']}")]
    references = numbers.get("references") or {}
    reached = {name: acceptance_checks(reference_numbers(r)) for name, r in references.items()}
    blocks += [("h2", "Acceptance (issue 5)"),
               ("p", "Beside each number: the same audit with reference features in place of the latent space "
                     "(same stars, split and forests) — 'seismic': the catalog's ν_max and Δν themselves, what a "
                     "latent space holding them exactly would give (ages with Teff and [Fe/H] added); 'aspcap': "
                     "Teff, log g, [Fe/H], [C/N] from the allStar file. A target the seismic reference misses "
                     "cannot be reached from the latent space on this survey."),
               ("table", ["target", "measured", "met", *(f"{name} reference" for name in reached)],
                [[t, _fmt(v, percent="%" in t), "yes" if ok else "no",
                  *(_fmt(checks[i][1], percent="%" in t) for checks in reached.values())]
                 for i, (t, v, ok) in enumerate(acceptance_checks(numbers))])]
    ages = dict(numbers["ages"])
    if numbers["baseline"] is not None:
        ages["spectra (baseline)"] = numbers["baseline"]
    ages.update({f"{name} reference ({', '.join(r['age']['features'])})": r["age"]
                 for name, r in references.items() if r["age"] is not None})
    blocks += [("h2", "Ages (Figs. 10, 16, 17) and [α/M] leakage"),
               ("p", "Fractional residuals (predicted / seismic − 1). "
                     "Pull = (ŷ − y)/√(σ_y² + σ_ŷ²) in log10 age; "
                     "widths as 1.4826 MAD and std after calibration, and MAD before. Leakage: slope of the "
                     f"log-age residual on [α/M] at fixed {info['leakage_reference']}, holding "
                     f"{info['leakage_covariates']} fixed, with its p-value and partial correlation."),
               ("table", ["features", "train", "calib.", "test", "bias", "scatter", "robust", "RC", "RGB",
                          "pull MAD", "pull std", "pull MAD raw", "scale", "leak slope", "p", "partial r"],
                _age_rows(ages))]
    if model_meta is not None:
        t = model_meta["test"]
        blocks += [("h2", "Saved age model (forest/)"),
                   ("p", f"{model_meta['n_train']} training, {model_meta['n_calibration']} calibration, "
                         f"{model_meta['n_test']} test stars; features {', '.join(model_meta['features'])}; "
                         f"calibration scale {model_meta['calibration_scale']:.3g}. Held out: bias "
                         f"{_fmt(t['overall']['bias'], True)}, scatter {_fmt(t['overall']['scatter'], True)}, "
                         f"pull width {_fmt(t['pull_width_mad'])}, RC/RGB misclassification "
                         f"{_fmt(t['misclassification_rate'], True)}.")]
    for title, key in (("Latent → labels (Fig. 7)", "labels"), ("Latent → seismic parameters (Fig. 8)", "seismic")):
        blocks += [("h2", title),
                   ("table", ["label", "fractional", "train", "test", "bias", "scatter", "robust scatter", "R²"],
                    [[k, _fmt(a["fractional"]), _fmt(a["n_train"]), _fmt(a["n_test"]),
                      *(_fmt(a[m], a["fractional"]) for m in ("bias", "scatter", "robust_scatter")), _fmt(a["r2"])]
                     for k, a in numbers[key].items()])]
    if references:
        blocks += [("h2", "Reference feature sets"),
                   ("p", "The latent audits repeated with reference features in place of the latent space "
                         "(fractional scatter for ν_max and Δν; R² for [α/M]; misclassified fraction for "
                         "RC/RGB)."),
                   ("table", ["features", "ν_max scatter", "Δν scatter", "[α/M] R²", "RC/RGB misclassified"],
                    [["latent (" + ", ".join(f"z{i}" for i in range(numbers["info"]["latent_dim"])) + ")",
                      _fmt(numbers["seismic"]["numax"]["scatter"], True),
                      _fmt(numbers["seismic"]["deltanu"]["scatter"], True), _fmt(numbers["labels"]["alpha_m"]["r2"]),
                      _fmt(numbers["evolstate"]["misclassification_rate"], True)]]
                    + [[f"{name} ({', '.join(r['features'])})",
                        *(_fmt((r["seismic"] or {}).get(k, {}).get("scatter"), True) for k in ("numax", "deltanu")),
                        _fmt((r["alpha_m"] or {}).get("r2")),
                        _fmt((r["evolstate"] or {}).get("misclassification_rate"), True)]
                       for name, r in references.items()])]
    ev = numbers["evolstate"]
    blocks += [("h2", "RC / RGB from the latent space (Fig. 9)"),
               ("table", ["seismic \\ predicted", *ev["labels"], "error rate"],
                [[lab, *map(str, row), _fmt(ev["error_rates"][lab], True)]
                 for lab, row in zip(ev["labels"], ev["confusion"])]),
               ("p", f"Misclassified: {_fmt(ev['misclassification_rate'], True)} of {ev['n_test']} test stars "
                     f"({ev['n_train']} training stars).")]
    if catalog is not None:
        blocks += [("h2", "Catalog"),
                   ("p", f"{catalog['n_rows']} rows, {catalog['n_latent']} with latent, {catalog['n_ages']} with "
                         f"ages, {catalog['n_science']} passing the paper's science cuts (flags 0, σ_age < 40 %)."),
                   ("table", ["AGE_FLAG bit", "rows"], [[k, str(v)] for k, v in catalog["flags"].items()])]
    blocks.append(("h2", "Figures"))
    blocks += [("img", name, caption) for name, caption in figures.items()]
    if skipped:
        blocks.append(("p", "Not drawn: " + "; ".join(f"{k} ({v})" for k, v in skipped.items())))
    return blocks


def _markdown(blocks) -> str:
    def row(cells):
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    out = []
    for kind, *rest in blocks:
        if kind in ("h1", "h2"):
            out.append(("# " if kind == "h1" else "## ") + rest[0])
        elif kind == "p":
            out.append(rest[0])
        elif kind == "table":
            header, rows = rest
            out += [row(header), "|" + "---|" * len(header), *map(row, rows)]
        elif kind == "img":
            out.append(f"![{rest[1]}]({rest[0]})\n\n*{rest[1]}*")
        out.append("")
    return "\n".join(out)


def _html(blocks) -> str:
    e = html.escape
    body = []
    for kind, *rest in blocks:
        if kind in ("h1", "h2"):
            body.append(f"<{kind}>{e(rest[0])}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{e(rest[0])}</p>")
        elif kind == "table":
            header, rows = rest
            body.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>"
                        + "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows)
                        + "</table>")
        elif kind == "img":
            body.append(f'<figure><img src="{e(rest[0])}" alt="{e(rest[1])}"><figcaption>{e(rest[1])}'
                        "</figcaption></figure>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}table{border-collapse:collapse;"
             "font-size:90%}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}img{max-width:100%}")
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>latentexplorer report</title>'
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def _catalog_numbers(ws: Workspace) -> dict | None:
    from .galaxy.maps import quality_mask

    if not ws.catalog.is_file():
        return None
    cat = Table.read(ws.catalog)
    snr = np.asarray(read_allstar(ws.allstar, ["SNREV"])["SNREV"], float)
    flags = np.asarray(cat["AGE_FLAG"])
    science = quality_mask(np.ma.filled(cat["Age"], np.nan), np.ma.filled(cat["Age_Error"], np.nan), cat["STARFLAG"],
                           cat["ASPCAPFLAG"], snr)
    return {"n_rows": len(cat), "n_latent": int(((flags & int(LATENT_FLAGS)) == 0).sum()),
            "n_ages": int(np.isfinite(np.ma.filled(cat["LogAge"], np.nan)).sum()), "n_science": int(science.sum()),
            "flags": {bit.name: int(((flags & int(bit)) != 0).sum()) for bit in AgeFlag}}


@dataclass
class ReportSummary:
    """Where the report went: the directory, figure files, figures not drawn (name → reason), numbers."""

    directory: Path
    figures: list
    skipped: dict
    numbers: dict = field(repr=False)

    def __str__(self) -> str:
        met = sum(ok for _, _, ok in acceptance_checks(self.numbers))
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        return (f"report: {len(self.figures)} figures{skipped}; {met}/{len(ACCEPTANCE)} acceptance targets met "
                f"→ {self.directory / 'summary.html'}")


def envelope_numbers(ws: Workspace) -> dict | None:
    """:func:`~latentexplorer.diagnostics.envelope_audit` of the decoded PSDs of the encoder-decoder's validation
    pairs (never in a gradient step) against their catalog ν_max, and (``"observed"``) of the same pairs'
    observed PSDs — what the envelope estimator reaches on the data themselves; None without model/ or pairs.h5."""
    from .diagnostics import envelope_audit
    from .pipeline import read_pairs
    from .ved import VariationalEncoderDecoder

    if ws.missing("model", "pairs"):
        return None
    ved = VariationalEncoderDecoder.load(ws.model)
    spectra, log_psd, numax, frequency = read_pairs(ws.pairs)
    config = ved.training_.get("config", {})
    rows = (ved.validation_split(numax.size, config["validation_fraction"], config["seed"])[1]
            if {"validation_fraction", "seed"} <= set(config) else np.arange(numax.size))
    decoded = envelope_audit(ved.reconstruct(spectra[rows]), frequency, numax[rows]).to_dict()
    return {**decoded, "observed": envelope_audit(log_psd[rows], frequency, numax[rows]).to_dict()}


def write_report(workspace, audits: WorkspaceAudits | None = None, n_trees=100, seed=0, baseline=True,
                 progress=True) -> ReportSummary:
    """Run the audits (unless given) and write figures, summary.md, summary.html and audits.json.

    Parameters
    ----------
    workspace : Workspace or path
    audits : WorkspaceAudits, optional
        Result of :func:`~latentexplorer.ages.audit_workspace`; computed here when None (with
        ``n_trees``, ``seed``, ``baseline`` and ``progress``).

    Returns
    -------
    ReportSummary
    """
    ws = Workspace(workspace) if not isinstance(workspace, Workspace) else workspace
    if audits is None:
        audits = audit_workspace(ws, n_trees=n_trees, seed=seed, baseline=baseline, progress=progress)
    ws.report.mkdir(parents=True, exist_ok=True)
    numbers = audits.to_dict()
    drawers = {
        "fig03_psd_reconstruction.png": ("Fig. 3: observed (blue) and decoded (orange) PSDs of held-out "
                                         "pairs at ν_max quantiles", lambda: figure_psd_reconstruction(ws)),
        "fig05_latent_space.png": ("Fig. 5: latent space of the seismic stars", lambda: figure_latent_space(audits)),
        "fig07_labels.png": ("Fig. 7: labels predicted from the latent space (held out)",
                             lambda: _regression_figure(audits.labels, LABEL_NAMES)),
        "fig08_seismic.png": ("Fig. 8: seismic parameters predicted from the latent space (held out)",
                              lambda: _regression_figure(audits.seismic, LABEL_NAMES)),
        "fig09_evolstate.png": ("Fig. 9: RC/RGB confusion matrix", lambda: figure_confusion(audits.evolstate)),
        "fig10_ages.png": ("Fig. 10: latent-space ages vs seismic ages and the calibrated pull distribution",
                           lambda: figure_ages(audits)),
        "fig16_ablation.png": ("Figs. 16–17: age from other feature sets", lambda: figure_ablation(audits)),
        "leakage.png": ("Age residual vs [α/M]: latent model beside the spectrum baseline",
                        lambda: figure_leakage(audits)),
    }
    figures, skipped = {}, {}
    for name, (caption, draw) in drawers.items():
        if name.startswith("fig03") and ws.missing("model", "pairs"):
            skipped[name] = f"needs {' and '.join(ws.missing('model', 'pairs'))}"
            continue
        _save(draw(), ws.report / name)
        figures[name] = caption
    meta_path = ws.forest / AgeModel.METADATA_FILE
    model_meta = json.loads(meta_path.read_text()) if meta_path.is_file() else None
    catalog = _catalog_numbers(ws)
    blocks = _blocks(numbers, model_meta, catalog, figures, skipped)
    envelope = envelope_numbers(ws)
    if envelope is not None:
        blocks += [("h2", "Decoded PSDs (section 6.1)"),
                   ("p", f"Envelope of the decoded PSD within 10 % of the true ν_max for "
                         f"{100 * envelope['within_10pc']:.1f} % of {envelope['n']} validation pairs (median |Δν_max|/ν_max "
                         f"{100 * envelope['median_abs']:.1f} %, bias {100 * envelope['bias']:+.1f} %, "
                         f"{envelope['n_no_envelope']} without a detectable envelope). The same estimator on "
                         f"the observed PSDs of these pairs: {100 * envelope['observed']['within_10pc']:.1f} % "
                         f"within 10 % (median {100 * envelope['observed']['median_abs']:.1f} %).")]
    payload = {"audits": numbers, "age_model": model_meta, "catalog": catalog, "envelope": envelope,
               "acceptance": [{"target": t, "value": v, "met": ok} for t, v, ok in acceptance_checks(numbers)]}
    for name, text in (("summary.md", _markdown(blocks)), ("summary.html", _html(blocks)),
                       ("audits.json", json.dumps(payload, indent=1, allow_nan=True))):
        with atomic_output(ws.report / name, suffix=Path(name).suffix) as tmp:
            tmp.write_text(text, encoding="utf-8")
    summary = ReportSummary(ws.report, list(figures), skipped, numbers)
    logger.info("%s", summary)
    return summary
