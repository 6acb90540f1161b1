"""The report's one-page summary: the acceptance targets, and every audit number as Markdown and HTML."""

from __future__ import annotations

import html

import numpy as np

from ..audits.workspace import FIDUCIAL

__all__ = ["ACCEPTANCE", "reference_numbers", "acceptance_checks", "summary_blocks", "markdown", "html_page"]


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


def summary_blocks(numbers: dict, model_meta: dict | None, catalog: dict | None, figures: dict, skipped: dict) -> list:
    """The summary as a list of (kind, ...) blocks rendered to Markdown and HTML alike."""
    info = numbers["info"]
    blocks = [("h1", "latentexplorer report"),
              ("p", f"Workspace {info['workspace']} ({'mock survey' if info['mock'] else 'survey'}): "
                    f"{info['n_allstar']} allStar rows, {info['n_latent']} with a latent representation, "
                    f"{info['n_age_inputs']} with age inputs; {info['n_seismic']} seismic stars, "
                    f"{info['n_age_eligible']} eligible for the age audits. Forests of {info['n_trees']} trees, "
                    f"leaves of ≥ {info.get('min_samples_leaf', 1)} stars, "
                    f"{'inputs perturbed by their errors' if info.get('input_noise', True) else 'no input noise'} "
                    f"(the saved age model's recipe), seed {info['seed']}. All scores are on held-out test stars. {info['holdout']}")]
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
                         f"ages, {catalog['n_science']} passing the paper's science cuts (flags 0, σ_age < 40 %), "
                         f"{catalog['n_fig12']} its Fig. 12 cuts (S/N > 30, σ_age < 50 %, 2.5 < log g < 3.3, flags "
                         "0: the disk map's default)."),
                   ("table", ["AGE_FLAG bit", "rows"], [[k, str(v)] for k, v in catalog["flags"].items()])]
    blocks.append(("h2", "Figures"))
    blocks += [("img", name, caption) for name, caption in figures.items()]
    if skipped:
        blocks.append(("p", "Not drawn: " + "; ".join(f"{k} ({v})" for k, v in skipped.items())))
    return blocks


def markdown(blocks) -> str:
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


def html_page(blocks) -> str:
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
