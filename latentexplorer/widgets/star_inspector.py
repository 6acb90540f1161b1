"""The star inspector (paper Fig. 3): one star's spectrum, observed PSD vs reconstruction, latent position
and age posterior.

Pick a star by typing its APOGEE_ID (the box suggests the stars with observed PSDs) or by tapping it in
the latent-space scatter. The reconstruction is the decoder applied to the star's latent mean; the observed
and the reconstructed PSD are :class:`~latentexplorer.powerspectrum.PowerSpectrum` objects, each measuring
its own ν_max and Δν (:meth:`~latentexplorer.powerspectrum.PowerSpectrum.estimate_global_parameters`). The
age posterior is the age model's per-tree ages for the star
(:meth:`latentexplorer.widgets.star_view.StarView.age_posterior`): the values whose mean and standard deviation
are the catalog's Age and Age_Error, computed by the same path.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import astropy.units as u
import ipywidgets as w
import numpy as np
from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, LinearColorMapper
from bokeh.palettes import Viridis256
from bokeh.plotting import figure

from ..seismo import GlobalSeismicEstimate
from ..selection import OOD_FLAGS, AgeFlag, table_column
from ..spectra import chip_slices, wavelength
from ..workspace import Workspace
from .display import bokeh_widget
from .latent_explorer import available_labels, color_range, population_colours, scatter_figure
from .star_view import LABELS, StarView

__all__ = ["StarInspector", "StarSummary"]

AGE_BINS = 30  # bins of the posterior histogram
MAX_SUGGESTIONS = 5000  # ids offered by the picker's drop-down


@dataclass(frozen=True)
class StarSummary:
    """What the inspector shows for one star (NaN where the workspace cannot say).

    apogee_id; z, z_std (latent_dim,); numax_observed, deltanu_observed, numax_reconstructed,
    deltanu_reconstructed (μHz, from the PSDs); age, age_err (Gyr, catalog); age_samples (n_trees,) Gyr
    from the age model (empty without one; their mean and std are the catalog's age and age_err); flags: name → int (catalog AGE_FLAG, allStar STARFLAG/ASPCAPFLAG).
    """

    apogee_id: str
    z: np.ndarray
    z_std: np.ndarray
    numax_observed: float
    deltanu_observed: float
    numax_reconstructed: float
    deltanu_reconstructed: float
    age: float
    age_err: float
    age_samples: np.ndarray
    flags: dict


def with_chip_breaks(values) -> np.ndarray:
    """A (7514,) per-pixel array with a NaN after each of the first two chips (7516,), so lines break at the gaps."""
    return np.concatenate([np.append(np.asarray(values, float)[s], np.nan) for s in chip_slices()])[:-1]


def _update_columns(source, columns: dict) -> None:
    """Give the ColumnDataSource ``source`` these ``columns``, sending the page only those whose values changed
    (all of them when the names or lengths change): a star's wavelengths and frequencies are not sent again."""
    old = source.data
    if set(old) != set(columns) or any(len(old[name]) != len(values) for name, values in columns.items()):
        source.data = columns
        return
    changed = {name: values for name, values in columns.items()
               if not np.array_equal(np.asarray(old[name]), np.asarray(values), equal_nan=True)}
    if changed:
        source.data.update(changed)


def _psd_columns(ps) -> dict:
    """A PowerSpectrum (or None) as the columns of a PSD line: frequency (μHz) and ln PSD."""
    if ps is None:
        return {"frequency": [], "log_psd": []}
    return {"frequency": ps.frequency.to_value(u.uHz), "log_psd": np.asarray(ps)}


class StarInspector:
    """One star at a time: spectrum, PSD vs reconstruction, latent position, age posterior (an ipywidgets app).

    Parameters
    ----------
    data : Workspace
        Needs ``latent.h5`` and ``model/``; spectra, observed PSDs, catalog and forest are shown when present.
    apogee_id : str, optional
        The first star shown; default the first star with an observed PSD (else the first encoded star).

    Attributes
    ----------
    widget : ipywidgets.VBox
    view : StarView, the encoded stars and the per-star reads
    picker : ipywidgets.Combobox, the APOGEE_ID box
    current : StarSummary of the star shown
    sources : dict of the named ColumnDataSources ("inspector_spectrum", "inspector_observed_psd",
        "inspector_reconstructed_psd", "inspector_age_posterior", "inspector_selected")
    """

    def __init__(self, data: Workspace, apogee_id: str | None = None):
        self.data, self.model = data, data.engine
        self.view = view = StarView(data)
        view.prepare_spectra()  # at page open (the preheated pool), not at the first tap
        suggestions = data.columns("pairs")["APOGEE_ID"] if data.has("pairs") else view.apogee_id
        self.picker = w.Combobox(options=tuple(suggestions[:MAX_SUGGESTIONS]), placeholder="APOGEE_ID",
                                 description="star", ensure_option=False, continuous_update=False)
        self.info = w.HTML()
        names = ("spectrum", "observed_psd", "reconstructed_psd", "age_posterior", "selected")
        self.sources = {f"inspector_{n}": ColumnDataSource(name=f"inspector_{n}") for n in names}
        src = {n: self.sources[f"inspector_{n}"] for n in names}

        spec_fig = figure(title="spectrum", width=1000, height=230, x_axis_label="vacuum wavelength (Å)",
                          y_axis_label="normalised flux", tools="xpan,xwheel_zoom,box_zoom,reset")
        spec_fig.line("wavelength", "flux", source=src["spectrum"], line_width=0.8)
        psd_fig = figure(title="PSD: observed vs reconstruction", x_axis_type="log", width=480, height=330,
                         x_axis_label="frequency (μHz)", y_axis_label="ln PSD", tools="pan,wheel_zoom,box_zoom,reset")
        psd_fig.line("frequency", "log_psd", source=src["observed_psd"], color="grey", legend_label="observed")
        psd_fig.line("frequency", "log_psd", source=src["reconstructed_psd"], color="firebrick", line_width=2,
                     legend_label="reconstruction")
        age_fig = figure(title="age posterior (forest trees)", width=330, height=330, x_axis_label="age (Gyr)",
                         y_axis_label="trees", tools="pan,wheel_zoom,reset")
        age_fig.quad(left="left", right="right", top="count", bottom=0, source=src["age_posterior"],
                     fill_alpha=0.6, line_color="white")

        labels = available_labels(view)
        key = "numax" if "numax" in labels else next(iter(labels), "")
        mapper = LinearColorMapper(palette=Viridis256, nan_color="lightgrey", low=color_range(labels.get(key, []))[0],
                                   high=color_range(labels.get(key, []))[1])
        self.display_rows = view.display_rows()
        z = view.z_mean[self.display_rows]
        self.population = ColumnDataSource({"x": z[:, 0], "y": z[:, 1], "c": population_colours(
            view, labels.get(key, np.full(len(view), np.nan)), self.display_rows)}, name="inspector_population")
        title = f"tap a star (z0–z1, colour {LABELS[key][0] if key else 'none'})"
        scatter = scatter_figure(self.population, mapper, title, x_axis_label="z0", y_axis_label="z1")
        scatter.scatter("x", "y", source=src["selected"], marker="circle", size=14, fill_color=None,
                        line_color="red", line_width=2)
        self.population.selected.on_change("indices", self._on_tap)
        self.picker.observe(self._on_pick, names="value")
        if apogee_id is None:
            apogee_id = suggestions[0] if len(suggestions) else view.apogee_id[0]
        self.select(apogee_id)  # before the figures become a widget, so its first render holds the star
        self.widget = w.VBox([
            w.HBox([self.picker, self.info]),
            bokeh_widget(column(spec_fig, row(psd_fig, age_fig, scatter))),
        ])

    def _on_pick(self, change) -> None:
        try:
            self.select(change["new"])
        except ValueError as err:
            self.info.value = f'<span style="color:#b00">{html.escape(str(err))}</span>'

    def _on_tap(self, attr, old, new) -> None:
        if new:
            self.picker.value = str(self.view.apogee_id[self.display_rows[new[0]]])  # → _on_pick → select

    def select(self, apogee_id: str) -> StarSummary:
        """Show the star ``apogee_id``; returns its :class:`StarSummary`. ValueError if it is not encoded."""
        data, view = self.data, self.view
        row_ = view.index_of(apogee_id)
        apogee_id = str(view.apogee_id[row_])
        recon = self.model.decode(view.z_mean[row_])[0]  # a PowerSpectrum, as the observed one
        observed = view.observed_psd(apogee_id)
        spectrum, spectrum_origin = view.spectrum_with_origin(apogee_id)
        est_recon = recon.estimate_global_parameters()
        est_obs = (observed.estimate_global_parameters() if observed is not None
                   else GlobalSeismicEstimate.from_values(np.nan, np.nan))
        age_samples, age, age_err, flags = np.array([]), np.nan, np.nan, {}
        if data.has("catalog"):
            catalog = view.aligned("catalog")
            age, age_err = float(table_column(catalog, "Age")[row_]), float(table_column(catalog, "Age_Error")[row_])
            flags["AGE_FLAG"] = int(np.nan_to_num(table_column(catalog, "AGE_FLAG")[row_], nan=-1))
        if data.has("allstar"):
            allstar = view.aligned("allstar")
            flags.update({k: int(allstar[k][row_]) for k in ("STARFLAG", "ASPCAPFLAG") if k in allstar.colnames})
        try:
            age_samples = view.age_posterior(apogee_id)
        except (FileNotFoundError, ValueError):  # no forest/ (MissingProduct), or one to rebuild: no posterior
            pass
        seismic = [float(q.to_value(u.uHz)) for est in (est_obs, est_recon) for q in (est.numax, est.deltanu)]
        self.current = StarSummary(apogee_id, view.z_mean[row_], view.z_std[row_], *seismic, age, age_err,
                                   age_samples, flags)

        src = self.sources
        flux = with_chip_breaks(spectrum if spectrum is not None else np.full(wavelength().size, np.nan))
        _update_columns(src["inspector_spectrum"], {"wavelength": with_chip_breaks(wavelength()),
                                                    "flux": flux.astype(np.float32)})  # NaN: no spectrum
        _update_columns(src["inspector_observed_psd"], _psd_columns(observed))
        _update_columns(src["inspector_reconstructed_psd"], _psd_columns(recon))
        finite = age_samples[np.isfinite(age_samples)]
        counts, edges = np.histogram(finite, bins=AGE_BINS) if finite.size else (np.array([]), np.array([0.0]))
        src["inspector_age_posterior"].data = {"left": edges[:-1], "right": edges[1:], "count": counts}
        src["inspector_selected"].data = {"x": [view.z_mean[row_, 0]], "y": [view.z_mean[row_, 1]]}
        if self.picker.value != apogee_id:
            self.picker.value = apogee_id
        self.info.value = self._info_html(spectrum_origin, observed is not None)
        return self.current

    def _info_html(self, spectrum_origin: str, has_psd: bool) -> str:
        s = self.current

        def num(x, fmt=".2f"):
            return format(x, fmt) if np.isfinite(x) else "—"

        z = ", ".join(f"{m:.2f}±{e:.2f}" for m, e in zip(s.z, s.z_std))
        finite = s.age_samples[np.isfinite(s.age_samples)]
        forest = (f"{np.median(finite):.2f} Gyr (16–84 %: {np.percentile(finite, 16):.2f}–"
                  f"{np.percentile(finite, 84):.2f})" if finite.size else "—")
        flags = ", ".join(f"{k}={v}" for k, v in s.flags.items()) or "—"
        age_flag = s.flags.get("AGE_FLAG", 0)
        if age_flag > 0:
            flags += " (" + ", ".join(bit.name for bit in AgeFlag if age_flag & bit) + ")"
        if age_flag > 0 and age_flag & int(OOD_FLAGS):
            flags += ('<br><span style="color:#777">age out of distribution: this star lies outside the age '
                      "model's training sample, where its age (and the decoded PSD) is not to be trusted</span>")
        missing = [name for name, ok in (("spectrum", spectrum_origin), ("observed PSD", has_psd)) if not ok]
        note = f"<br><i>not in this workspace: {', '.join(missing)}</i>" if missing else ""
        if spectrum_origin == "truth":
            note += ("<br><i>spectrum not written to disk by the mock survey: made again from its truth.fits, "
                     "as it was encoded</i>")
        return (f"<b>{html.escape(s.apogee_id)}</b> &nbsp; z = ({z})<br>"
                f"ν_max observed {num(s.numax_observed, '.1f')} / reconstructed "
                f"{num(s.numax_reconstructed, '.1f')} μHz;"
                f" Δν observed {num(s.deltanu_observed)} / reconstructed {num(s.deltanu_reconstructed)} μHz<br>"
                f"catalog age {num(s.age)} ± {num(s.age_err)} Gyr; forest posterior {forest}<br>flags: {flags}{note}")
