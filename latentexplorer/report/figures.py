"""The report's figures, in the spirit of the paper's Figs. 3, 5, 7, 8, 9, 10 and 16, drawn on
:class:`matplotlib.figure.Figure` objects (Agg canvas), never through pyplot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..audits.workspace import WorkspaceAudits
from ..io.atomic import atomic_output
from ..match import match_ids
from ..seismo import excess_deltanu
from ..workspace import Workspace

__all__ = ["LABEL_NAMES", "figure_latent_space", "figure_confusion", "figure_ages", "figure_ablation",
           "figure_leakage", "figure_psd_reconstruction", "figure_disk_truth", "regression_figure", "save_figure"]


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


def regression_figure(audits: dict, names: dict) -> Figure:
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
    """Fig. 3: observed and decoded PSDs of pairs at ν_max quantiles, drawn from the pairs the encoder-decoder
    never trained on (:meth:`Workspace.held_out_pair_rows`) — all pairs when the model does not record them.
    Needs model/ and pairs.h5."""
    pairs = ws.pairs
    try:
        pool = ws.held_out_pair_rows()
    except FileNotFoundError:
        pool = np.arange(len(pairs))
    quantiles = (np.linspace(0.05, 0.95, n_stars) * (pool.size - 1)).astype(int)
    rows = np.sort(pool[np.argsort(pairs.numax[pool])[quantiles]])
    picks = pairs.take(rows)
    decoded = np.asarray(ws.model.reconstruct(ws.pair_spectra(rows)))
    fig = Figure(figsize=(9, 2.2 * n_stars), layout="constrained")
    for ax, obs, rec, nm, star in zip(fig.subplots(n_stars, 1, squeeze=False)[:, 0], picks.log_psd, decoded,
                                      picks.numax, picks.apogee_id):
        ax.plot(picks.frequency, obs, lw=0.6, color="C0", label="observed (Kepler)")
        ax.plot(picks.frequency, rec, lw=1.0, color="C1", label="decoded from APOGEE spectrum")
        ax.set_xscale("log")
        ax.set_ylabel("ln PSD")
        ax.set_title(f"{star}: ν_max = {nm:.1f} μHz", fontsize=9)
    ax.set_xlabel("frequency [μHz]")
    ax.legend(fontsize=8)
    return fig


def figure_disk_truth(comparison) -> Figure:
    """The disk map against truth (a mock survey): median age, median true age of the same stars and their
    difference in R–z bins (a :class:`~latentexplorer.galaxy.TruthComparison`)."""
    fig = Figure(figsize=(15, 4.2), layout="constrained")
    axes = fig.subplots(1, 3, sharex=True, sharey=True)
    finite = np.concatenate([m.statistic[np.isfinite(m.statistic)] for m in (comparison.catalog, comparison.truth)])
    vmax = float(np.percentile(finite, 99)) if finite.size else 14.0
    panels = ((comparison.catalog, "median age (10**LogAge)", "viridis", (0.0, vmax)),
              (comparison.truth, "TRUE median age, same stars", "viridis", (0.0, vmax)),
              (comparison.residual, "median age − TRUE median age", "RdBu_r", (-4.0, 4.0)))
    for ax, (binned, title, cmap, (lo, hi)) in zip(axes, panels):
        mesh = ax.pcolormesh(binned.x_edges, binned.y_edges, binned.statistic, cmap=cmap, vmin=lo, vmax=hi)
        fig.colorbar(mesh, ax=ax, label="Gyr")
        ax.set_title(title)
        ax.set_xlabel(binned.x_label)
        ax.set_xlim(0.0, 20.0)
        ax.set_ylim(-3.0, 3.0)
    axes[0].set_ylabel(comparison.catalog.y_label)
    return fig


def save_figure(fig: Figure, path: Path) -> Path:
    with atomic_output(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path
