"""The workspace report: PNG figures in the spirit of the paper's Figs. 3, 5, 7, 8, 9, 10 and 16 and a
one-page summary (Markdown and HTML) with every number of the audits.

:func:`write_report` runs :func:`latentexplorer.audits.workspace.audit_workspace` (or takes its result) and writes,
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
- ``disk_truth.png`` (mock surveys) the disk map at the Fig. 12 cuts beside the same stars' true ages and
  the residual, with the numbers and the R–z cells that miss their true median by more than 1.5 Gyr;
- ``summary.md``, ``summary.html`` and ``audits.json`` (the numbers, machine-readable), with the information
  ladder (:mod:`latentexplorer.audits.ladder`) on a mock workspace.

Figures are drawn on :class:`matplotlib.figure.Figure` objects (Agg canvas), never through pyplot, so the
report neither needs nor changes an interactive backend. Every file is written atomically.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audits.workspace import WorkspaceAudits, audit_workspace, envelope_audit_workspace
from ..io.atomic import atomic_output
from .runtime.outputs import locks_output
from .runtime.provenance import records_provenance
from ..selection import LATENT_FLAGS, AgeFlag
from ..workspace import Workspace
from ..report.figures import (LABEL_NAMES, figure_ablation, figure_ages, figure_confusion, figure_disk_truth,
    figure_latent_space, figure_leakage, figure_psd_reconstruction, regression_figure, save_figure)
from ..report.summary import ACCEPTANCE, acceptance_checks, html_page, markdown, reference_numbers, summary_blocks

__all__ = ["ACCEPTANCE", "ReportSummary", "acceptance_checks", "reference_numbers", "write_report"]

logger = logging.getLogger(__name__)


def _fig12_mask(ws: Workspace, max_rel_age_err: float = 0.5) -> np.ndarray:
    """The catalog rows at the paper's Fig. 12 cuts (S/N > 30, 2.5 < log g < 3.3, no flags, AGE_FLAG 0 and
    σ_age/age < ``max_rel_age_err`` of the map's ages, :func:`~latentexplorer.galaxy.map_ages`)."""
    from ..galaxy.maps import map_ages, quality_mask

    cat = ws.catalog
    age, age_err = map_ages(cat["LogAge"], cat["LogAge_Error"])
    return quality_mask(age, age_err, cat["STARFLAG"], cat["ASPCAPFLAG"], np.asarray(ws.allstar["SNREV"], float),
                        np.asarray(ws.allstar["LOGG"], float), max_rel_age_err=max_rel_age_err,
                        logg_range=(2.5, 3.3), age_flag=np.asarray(cat["AGE_FLAG"]))


def _disk_truth(ws: Workspace):
    """The disk map against truth on a mock workspace with a catalog and orbits: (TruthComparison of the
    Fig. 12 stars, numbers), or None."""
    from ..galaxy.maps import map_ages, rz_truth_comparison
    from ..match import match_ids

    if not ws.is_mock or ws.paths.missing("catalog", "orbits"):
        return None
    cat, orbits = ws.catalog, ws.orbits
    where = match_ids(cat["APOGEE_ID"], orbits["APOGEE_ID"])
    R = np.where(where >= 0, np.asarray(orbits["R"], float)[where], np.nan)
    z = np.where(where >= 0, np.asarray(orbits["z"], float)[where], np.nan)
    true_age = np.asarray(ws.truth["AGE"], float)
    age, _ = map_ages(cat["LogAge"], cat["LogAge_Error"])
    on_map = _fig12_mask(ws) & np.isfinite(R) & np.isfinite(z)
    no_precision_cut = _fig12_mask(ws, np.inf) & np.isfinite(R) & np.isfinite(z)
    comparison = rz_truth_comparison(R[on_map], z[on_map], age[on_map], true_age[on_map], min_count=20)
    cells = comparison.cells(min_count=100, tolerance_gyr=1.5)
    numbers = {
        "n_map": int(on_map.sum()), "n_without_precision_cut": int(no_precision_cut.sum()),
        "median_age": float(np.median(age[on_map])) if on_map.any() else float("nan"),
        "median_true_age": float(np.median(true_age[on_map])) if on_map.any() else float("nan"),
        "median_true_age_without_precision_cut": float(np.median(true_age[no_precision_cut])),
        "young_fraction": float(np.mean(age[on_map] < 4.0)) if on_map.any() else float("nan"),
        "young_fraction_true": float(np.mean(true_age[on_map] < 4.0)) if on_map.any() else float("nan"),
        "cells": cells, "cells_within": int(sum(c["within"] for c in cells)),
    }
    return comparison, numbers


def _catalog_numbers(ws: Workspace) -> dict | None:
    from ..galaxy.maps import map_ages, quality_mask

    if not ws.has("catalog"):
        return None
    cat = ws.catalog
    snr = np.asarray(ws.allstar["SNREV"], float)
    flags = np.asarray(cat["AGE_FLAG"])
    age, age_err = map_ages(cat["LogAge"], cat["LogAge_Error"])
    science = quality_mask(age, age_err, cat["STARFLAG"], cat["ASPCAPFLAG"], snr, age_flag=flags)
    fig12 = _fig12_mask(ws)
    return {"n_rows": len(cat), "n_latent": int(((flags & int(LATENT_FLAGS)) == 0).sum()),
            "n_ages": int(np.isfinite(np.ma.filled(cat["LogAge"], np.nan)).sum()), "n_science": int(science.sum()),
            "n_fig12": int(fig12.sum()),
            "flags": {bit.name: int(((flags & int(bit)) != 0).sum()) for bit in AgeFlag}}


def _ladder(ws: Workspace, n_trees: int):
    """The information ladder (forests of ``n_trees``) of a mock workspace with every product it needs, else None."""
    from ..audits.ladder import information_ladder

    if not ws.is_mock or ws.paths.missing("pairs", "latent", "forest", "catalog"):
        return None
    try:
        return information_ladder(ws, n_trees=n_trees)
    except ValueError as err:  # too few stars for it (a tiny workspace): the report goes on without it
        logger.warning("no information ladder in the report: %s", err)
        return None


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


def _report_directory(workspace) -> Path:
    """``WORKSPACE/report/``, :func:`write_report`'s output, once the workspace holds allStar.fits, which every audit
    reads (:class:`~latentexplorer.workspace.MissingProduct` otherwise, before the report's lock is taken)."""
    ws = Workspace.of(workspace)
    ws.require("allstar")
    return ws.paths.report


@locks_output(lambda a: _report_directory(a["workspace"]))
@records_provenance("report", lambda a: _report_directory(a["workspace"]),
                    lambda a: Workspace.of(a["workspace"]).paths.sources(
                        "allstar", "seismic", "truth", "psd", "pairs", "model", "latent", "forest", "catalog", "orbits"))
def write_report(workspace, audits: WorkspaceAudits | None = None, *, n_trees: int = 100, seed: int = 0,
                 baseline: bool = True, progress: bool = True) -> ReportSummary:
    """Run the audits (unless given) and write figures, summary.md, summary.html and audits.json.

    Parameters
    ----------
    workspace : Workspace or path
    audits : WorkspaceAudits, optional
        Result of :func:`~latentexplorer.audits.workspace.audit_workspace`; computed here when None (with
        ``n_trees``, ``seed``, ``baseline`` and ``progress``).

    Returns
    -------
    ReportSummary
    """
    ws = Workspace.of(workspace)
    if audits is None:
        audits = audit_workspace(ws, n_trees=n_trees, seed=seed, baseline=baseline, progress=progress)
    ws.paths.report.mkdir(parents=True, exist_ok=True)
    numbers = audits.to_dict()
    drawers = {
        "fig03_psd_reconstruction.png": ("Fig. 3: observed (blue) and decoded (orange) PSDs of held-out "
                                         "pairs at ν_max quantiles", lambda: figure_psd_reconstruction(ws)),
        "fig05_latent_space.png": ("Fig. 5: latent space of the seismic stars", lambda: figure_latent_space(audits)),
        "fig07_labels.png": ("Fig. 7: labels predicted from the latent space (held out)",
                             lambda: regression_figure(audits.labels, LABEL_NAMES)),
        "fig08_seismic.png": ("Fig. 8: seismic parameters predicted from the latent space (held out)",
                              lambda: regression_figure(audits.seismic, LABEL_NAMES)),
        "fig09_evolstate.png": ("Fig. 9: RC/RGB confusion matrix", lambda: figure_confusion(audits.evolstate)),
        "fig10_ages.png": ("Fig. 10: latent-space ages vs seismic ages and the calibrated pull distribution",
                           lambda: figure_ages(audits)),
        "fig16_ablation.png": ("Figs. 16–17: age from other feature sets", lambda: figure_ablation(audits)),
        "leakage.png": ("Age residual vs [α/M]: latent model beside the spectrum baseline",
                        lambda: figure_leakage(audits)),
    }
    disk_truth = _disk_truth(ws)
    if disk_truth is not None:
        drawers["disk_truth.png"] = ("The disk at the Fig. 12 cuts against the mock's truth: median age, the same "
                                     "stars' true median age, their difference (R–z)",
                                     lambda: figure_disk_truth(disk_truth[0]))
    figures, skipped = {}, {}
    for name, (caption, draw) in drawers.items():
        if name.startswith("fig03") and ws.paths.missing("model", "pairs"):
            skipped[name] = f"needs {' and '.join(ws.paths.missing('model', 'pairs'))}"
            continue
        save_figure(draw(), ws.paths.report / name)
        figures[name] = caption
    model_meta = ws.age_model.metadata if ws.has("forest") else None
    catalog = _catalog_numbers(ws)
    blocks = summary_blocks(numbers, model_meta, catalog, figures, skipped)
    envelope = envelope_audit_workspace(ws)
    if envelope is not None:
        blocks += [("h2", "Decoded PSDs (section 6.1)"),
                   ("p", f"Envelope of the decoded PSD within 10 % of the true ν_max for "
                         f"{100 * envelope['within_10pc']:.1f} % of {envelope['n']} pairs the encoder-decoder never trained on (median |Δν_max|/ν_max "
                         f"{100 * envelope['median_abs']:.1f} %, bias {100 * envelope['bias']:+.1f} %, "
                         f"{envelope['n_no_envelope']} without a detectable envelope). The same estimator on "
                         f"the observed PSDs of these pairs: {100 * envelope['observed']['within_10pc']:.1f} % "
                         f"within 10 % (median {100 * envelope['observed']['median_abs']:.1f} %).")]
    if disk_truth is not None:
        t = disk_truth[1]
        missed = [c for c in t["cells"] if not c["within"]]
        blocks += [("h2", "The disk map against truth (mock survey)"),
                   ("p", f"{t['n_map']} stars at the paper's Fig. 12 cuts ({t['n_without_precision_cut']} without "
                         f"the σ_age/age < 50 % cut). Their median age {t['median_age']:.1f} Gyr; their TRUE median "
                         f"age {t['median_true_age']:.1f} Gyr, against {t['median_true_age_without_precision_cut']:.1f} "
                         f"Gyr without the precision cut. Ages under 4 Gyr: {t['young_fraction']:.1%} of the map, "
                         f"{t['young_fraction_true']:.1%} truly. R–z cells of ≥ 100 stars within 1.5 Gyr of their "
                         f"true median: {t['cells_within']} of {len(t['cells'])}."),
                   ("table", ["R (kpc)", "z (kpc)", "stars", "median age", "true median", "difference"],
                    [[f"{c['R'][0]:.1f}–{c['R'][1]:.1f}", f"{c['z'][0]:.1f}–{c['z'][1]:.1f}", str(c["n"]),
                      f"{c['catalog']:.1f}", f"{c['truth']:.1f}", f"{c['difference']:+.1f}"] for c in missed]
                    or [["—", "—", "", "", "", "every cell within 1.5 Gyr" if t["cells"]
                         else "no cell of ≥ 100 stars"]])]
    ladder = _ladder(ws, n_trees)
    if ladder is not None:
        blocks += [("h2", "Information ladder"),
                   ("p", "What each feature set predicts of the mock's truth on the same held-out seismic giants "
                         "(latentexplorer.audits.ladder): where a row falls below the one it is made from, that step loses "
                         "information. Labels from forests trained on the true values; ages from forests trained on "
                         "the seismic catalog's ages and scored against the true ages."),
                   ("table", *ladder.table()), ("p", ladder.caption)]
    payload = {"audits": numbers, "age_model": model_meta, "catalog": catalog, "envelope": envelope,
               "ladder": None if ladder is None else ladder.to_dict(),
               "disk_truth": None if disk_truth is None else disk_truth[1],
               "acceptance": [{"target": t, "value": v, "met": ok} for t, v, ok in acceptance_checks(numbers)]}
    for name, text in (("summary.md", markdown(blocks)), ("summary.html", html_page(blocks)),
                       ("audits.json", json.dumps(payload, indent=1, allow_nan=True))):
        with atomic_output(ws.paths.report / name, suffix=Path(name).suffix) as tmp:
            tmp.write_text(text, encoding="utf-8")
    summary = ReportSummary(ws.paths.report, list(figures), skipped, numbers)
    logger.info("%s", summary)
    return summary
