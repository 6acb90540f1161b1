"""The disk map (paper Figs. 12–15): where the ages sit in the Galaxy, and one star's orbit on a click.

Binned images keep it responsive for 300,000 stars: the median age in Galactocentric R–z bins
(:func:`latentexplorer.galaxy.rz_age_map`), the mean age in [Fe/H]–[α/M] bins with the Eq. 8 division
(:func:`~latentexplorer.galaxy.abundance_age_map`) and the age distributions of the inner and outer disk
(:func:`~latentexplorer.galaxy.age_distributions`). The quality cuts (:func:`~latentexplorer.galaxy.quality_mask`;
they open at the paper's Fig. 12 cuts: S/N > 30, σ_age/age < 50 %, 2.5 < log g < 3.3, no flags) and the
[α/M] sequence are filters; ages outside the age model's training support (AGE_FLAG 64, 128) are left out
unless asked for, and counted. Clicking the R–z map picks the selected star nearest to the click,
integrates its orbit in MWPotential2014 (:func:`~latentexplorer.galaxy.integrate_orbit`) and draws it in
R–z and x–y. The maps show 10**LogAge (:func:`~latentexplorer.galaxy.map_ages`).

On a mock survey a truth view follows: the true ages of the same stars in R–z and [Fe/H]–[α/M], the
residual R–z map (median age − median true age, :func:`~latentexplorer.galaxy.rz_truth_comparison`) and the
true age distributions (dashed) — what the method recovers and where it distorts. A real survey has no
truth file and shows none of it.
"""

from __future__ import annotations

import html
import logging

import ipywidgets as w
import numpy as np
from bokeh.events import Tap
from bokeh.layouts import column, row
from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper
from bokeh.palettes import Viridis256
from bokeh.plotting import figure

from .. import galaxy
from ..constants import LATENT_MIN_SNREV
from ..selection import OOD_FLAGS, table_column
from ..workspace import Workspace
from .display import bokeh_widget
from .star_view import StarView

log = logging.getLogger(__name__)

__all__ = ["DiskMap"]

POPULATIONS = ("all", "high-α", "low-α")
ORBIT_GYR, ORBIT_STEPS = 1.0, 2001
OBSERVABLES = ("RA", "DEC", "DIST", "GAIAEDR3_PMRA", "GAIAEDR3_PMDEC", "VHELIO_AVG")


def _image_source(binned) -> dict:
    """A :class:`~latentexplorer.galaxy.BinnedMap` as the columns of a bokeh ``image`` glyph."""
    x, y = binned.x_edges, binned.y_edges
    return {"image": [binned.statistic], "x": [x[0]], "y": [y[0]], "dw": [x[-1] - x[0]], "dh": [y[-1] - y[0]]}


def _image_figure(binned, mapper, title, name):
    source = ColumnDataSource(_image_source(binned), name=f"{name}_image")
    fig = figure(title=title, name=name, width=470, height=360, x_axis_label=binned.x_label,
                 y_axis_label=binned.y_label,
                 x_range=(binned.x_edges[0], binned.x_edges[-1]), y_range=(binned.y_edges[0], binned.y_edges[-1]),
                 tools="pan,wheel_zoom,box_zoom,reset")
    fig.image(image="image", x="x", y="y", dw="dw", dh="dh", source=source, color_mapper=mapper)
    fig.add_layout(ColorBar(color_mapper=mapper, width=10, title=binned.value_label), "right")
    return fig, source


class DiskMap:
    """Age maps of the disk with quality filters; a click integrates a star's orbit (an ipywidgets app).

    Parameters
    ----------
    data : Workspace
        Needs ``catalog.fits`` (LogAge, LogAge_Error: the maps show 10**LogAge, :func:`galaxy.map_ages`), ``orbits.fits`` (R, z) and the allStar file (flags, S/N,
        log g, [Fe/H], [α/M] and the observables of the orbit integration).
    min_count : int
        Stars a bin needs to be coloured.

    Attributes
    ----------
    widget : ipywidgets.VBox
    view : StarView, the encoded stars and their products aligned to them
    selected : (N,) bool, the stars passing the current filters
    orbit_source : ColumnDataSource "orbit" ('x', 'y', 'z', 'R' kpc) of the last orbit drawn (empty before a click)
    orbit_star : str, APOGEE_ID of that orbit's star
    """

    def __init__(self, data: Workspace, min_count: int = 3):
        self.data, self.min_count = data, int(min_count)
        self.view = view = StarView(data)
        star, cat, orb = view.aligned("allstar"), view.aligned("catalog"), view.aligned("orbits")
        self.age, self.age_err = galaxy.map_ages(table_column(cat, "LogAge"), table_column(cat, "LogAge_Error"))
        self.age_flag = np.nan_to_num(table_column(cat, "AGE_FLAG"), nan=1).astype(np.int64)
        self.R, self.z = table_column(orb, "R"), table_column(orb, "z")
        self.feh, self.alpha_m = table_column(star, "FE_H"), table_column(star, "ALPHA_M")
        self.logg, self.snr = table_column(star, "LOGG"), table_column(star, "SNREV")
        self.starflag = np.asarray(star["STARFLAG"], dtype=np.int64)  # the mapped column itself when int64
        self.aspcapflag = np.asarray(star["ASPCAPFLAG"], dtype=np.int64)
        self.high_alpha = galaxy.is_high_alpha(self.feh, self.alpha_m)
        self.orbit_star = ""
        # a mock survey's true ages of the same stars: the truth view (a real survey has none)
        self.true_age = table_column(view.aligned("truth"), "AGE") if data.is_mock else None

        self.max_rel_err = w.FloatSlider(value=0.5, min=0.05, max=3.0, step=0.05, description="σ_age/age <",
                                         continuous_update=False, style={"description_width": "initial"})
        self.min_snr = w.FloatSlider(value=float(LATENT_MIN_SNREV), min=0.0, max=300.0, step=5.0,
                                     description="S/N >", continuous_update=False)
        self.use_logg = w.Checkbox(value=True, description="restrict log g")
        self.logg_range = w.FloatRangeSlider(value=(2.5, 3.3), min=1.0, max=4.0, step=0.05, description="log g",
                                             continuous_update=False)
        self.population = w.ToggleButtons(options=POPULATIONS, value="all", description="[α/M]")
        self.include_ood = w.Checkbox(value=False, description="include out-of-distribution ages",
                                      style={"description_width": "initial"})
        self.status = w.HTML()

        self.selected = self._filter()
        ages = self.age[self.selected]
        self.mapper = LinearColorMapper(palette=Viridis256, low=0.0, high=float(np.nanpercentile(ages, 99))
                                        if np.isfinite(ages).any() else 14.0, nan_color=(0, 0, 0, 0))
        maps = self._maps()
        self.rz_fig, self.rz_source = _image_figure(maps["rz"], self.mapper, "median age in R–z (click a star)",
                                                    "rz_map")
        self.abund_fig, self.abund_source = _image_figure(maps["abundance"], self.mapper, "mean age, [Fe/H]–[α/M]",
                                                          "abundance_map")
        feh_line = np.linspace(maps["abundance"].x_edges[0], maps["abundance"].x_edges[-1], 50)
        self.abund_fig.line(feh_line, galaxy.high_alpha_boundary(feh_line), color="red", line_dash="dashed",
                            legend_label="Eq. 8")
        self.dist_source = ColumnDataSource(name="age_distributions")
        dist_fig = figure(title="age distributions", width=470, height=360, x_axis_label="age (Gyr)",
                          y_axis_label="density (1/Gyr)", tools="pan,wheel_zoom,reset")
        for region, colour in (("inner", "firebrick"), ("outer", "steelblue")):
            dist_fig.step("age", region, source=self.dist_source, mode="center", color=colour, line_width=2,
                          legend_label=f"{region} disk")
        self.orbit_source = ColumnDataSource({"x": [], "y": [], "z": [], "R": []}, name="orbit")
        self.star_source = ColumnDataSource({"R": [], "z": [], "x": [], "y": []}, name="orbit_star")
        self.rz_fig.line("R", "z", source=self.orbit_source, color="black", line_width=1)
        self.rz_fig.scatter("R", "z", source=self.star_source, marker="star", size=16, fill_color="red",
                            line_color="white")
        self.rz_fig.on_event(Tap, self._on_tap)
        xy_fig = figure(title="orbit (x–y, 1 Gyr)", width=470, height=360, x_axis_label="x (kpc)",
                        y_axis_label="y (kpc)", match_aspect=True, tools="pan,wheel_zoom,reset")
        xy_fig.line("x", "y", source=self.orbit_source, color="black", line_width=1)
        xy_fig.scatter("x", "y", source=self.star_source, marker="star", size=16, fill_color="red")
        xy_fig.scatter([0.0], [0.0], marker="circle_cross", size=12, fill_color=None, line_color="grey")
        truth_row = self._truth_figures(maps, dist_fig) if self.true_age is not None else []
        self._update_distributions(maps)

        for control in (self.max_rel_err, self.min_snr, self.use_logg, self.logg_range, self.population,
                        self.include_ood):
            control.observe(lambda _: self.refilter(), names="value")
        self.widget = w.VBox([
            w.HBox([w.VBox([self.max_rel_err, self.min_snr]), w.VBox([self.use_logg, self.logg_range]),
                    self.include_ood]),
            self.population, self.status,
            bokeh_widget(column(row(self.rz_fig, self.abund_fig), row(dist_fig, xy_fig), *truth_row)),
        ])
        self._update_status()

    def _filter(self) -> np.ndarray:
        """The stars passing the filters; sets :attr:`n_ood_left_out`, the stars passing all of them but
        left out for an out-of-distribution age (0 when those are included)."""
        ood = (self.age_flag & int(OOD_FLAGS)) != 0
        keep = galaxy.quality_mask(self.age, self.age_err, self.starflag, self.aspcapflag, self.snr, self.logg,
                                   max_rel_age_err=self.max_rel_err.value, min_snr=self.min_snr.value,
                                   logg_range=self.logg_range.value if self.use_logg.value else None,
                                   age_flag=self.age_flag & ~int(OOD_FLAGS))
        if self.population.value == "high-α":
            keep &= self.high_alpha
        elif self.population.value == "low-α":
            keep &= ~self.high_alpha & np.isfinite(self.feh) & np.isfinite(self.alpha_m)
        keep &= np.isfinite(self.R) & np.isfinite(self.z)
        self.n_ood_left_out = 0 if self.include_ood.value else int((keep & ood).sum())
        return keep if self.include_ood.value else keep & ~ood

    def _maps(self) -> dict:
        s = self.selected
        maps = {
            "abundance": galaxy.abundance_age_map(self.feh[s], self.alpha_m[s], self.age[s], min_count=self.min_count),
            "distributions": galaxy.age_distributions(self.R[s], self.age[s], self.feh[s], self.alpha_m[s]),
        }
        if self.true_age is None:
            maps["rz"] = galaxy.rz_age_map(self.R[s], self.z[s], self.age[s], min_count=self.min_count)
        else:  # the same stars' true ages; the comparison's catalog map is the R–z map
            true = self.true_age[s]
            maps["truth"] = galaxy.rz_truth_comparison(self.R[s], self.z[s], self.age[s], true, min_count=self.min_count)
            maps["rz"] = maps["truth"].catalog
            maps["true_abundance"] = galaxy.abundance_age_map(self.feh[s], self.alpha_m[s], true,
                                                              min_count=self.min_count)
            maps["true_distributions"] = galaxy.age_distributions(self.R[s], true, self.feh[s], self.alpha_m[s])
        return maps

    def _truth_figures(self, maps, dist_fig) -> list:
        """The truth view of a mock survey: the same stars' true ages in R–z and [Fe/H]–[α/M], the residual
        R–z map (median age − median true age) and the true age distributions (dashed) in ``dist_fig``."""
        from bokeh.palettes import RdBu11

        self.true_rz_fig, self.true_rz_source = _image_figure(maps["truth"].truth, self.mapper,
                                                              "TRUE median age of the same stars, R–z", "true_rz_map")
        self.true_abund_fig, self.true_abund_source = _image_figure(
            maps["true_abundance"], self.mapper, "TRUE mean age, [Fe/H]–[α/M]", "true_abundance_map")
        residual_mapper = LinearColorMapper(palette=RdBu11, low=-4.0, high=4.0,
                                            nan_color=(0, 0, 0, 0))
        self.residual_fig, self.residual_source = _image_figure(
            maps["truth"].residual, residual_mapper, "median age − TRUE median age, R–z (Gyr)", "residual_rz_map")
        for region, colour in (("inner", "firebrick"), ("outer", "steelblue")):
            dist_fig.step("age", f"{region}_true", source=self.dist_source, mode="center", color=colour,
                          line_width=2, line_dash="dashed", legend_label=f"{region} disk, true ages")
        return [row(self.true_rz_fig, self.true_abund_fig), row(self.residual_fig)]

    def _update_distributions(self, maps) -> None:
        dist = maps["distributions"]
        centers = 0.5 * (dist.age_edges[1:] + dist.age_edges[:-1])
        data = {"age": centers, **{r: np.nan_to_num(dist.density(r, "all")) for r in dist.regions}}
        if "true_distributions" in maps:
            true = maps["true_distributions"]
            data.update({f"{r}_true": np.nan_to_num(true.density(r, "all")) for r in true.regions})
        self.dist_source.data = data

    def _update_status(self) -> None:
        orbit = f"; orbit of <b>{html.escape(self.orbit_star)}</b>" if self.orbit_star else ""
        ood = (f'; <span style="color:#777">{self.n_ood_left_out} out-of-distribution ages left out (outside the '
               "age model's training support)</span>") if self.n_ood_left_out else ""
        truth = ""
        if self.true_age is not None and self.selected.any():
            sel = self.selected
            truth = (f"; median age {np.nanmedian(self.age[sel]):.1f} Gyr, TRUE median age of the same stars "
                     f"{np.nanmedian(self.true_age[sel]):.1f} Gyr (mock survey: truth view below)")
        self.status.value = (f"{int(self.selected.sum())} of {self.selected.size} stars pass the filters"
                             f"{ood}{truth}{orbit}")

    def refilter(self) -> None:
        """Apply the filters and redraw the maps and distributions."""
        self.selected = self._filter()
        maps = self._maps()
        self.rz_source.data = _image_source(maps["rz"])
        self.abund_source.data = _image_source(maps["abundance"])
        if "truth" in maps:
            self.true_rz_source.data = _image_source(maps["truth"].truth)
            self.true_abund_source.data = _image_source(maps["true_abundance"])
            self.residual_source.data = _image_source(maps["truth"].residual)
        self._update_distributions(maps)
        self._update_status()

    def nearest_star(self, R_kpc: float, z_kpc: float) -> int:
        """Row of the selected star nearest to (R, z) in kpc; ValueError if no star passes the filters."""
        rows = np.flatnonzero(self.selected)
        if not rows.size:
            raise ValueError("no star passes the filters")
        return int(rows[np.argmin((self.R[rows] - R_kpc) ** 2 + (self.z[rows] - z_kpc) ** 2)])

    def show_orbit(self, row_: int):
        """Integrate the orbit of the star at ``row_`` and draw it; returns the
        :class:`~latentexplorer.galaxy.OrbitTrack` (ValueError if its observables are incomplete)."""
        star = self.view.aligned("allstar")
        values = [float(star[name][row_]) for name in OBSERVABLES]
        track = galaxy.integrate_orbit(*values, t_gyr=ORBIT_GYR, n_steps=ORBIT_STEPS)
        self.orbit_star = str(self.view.apogee_id[row_])
        self.orbit_source.data = {"x": track.x, "y": track.y, "z": track.z, "R": track.R}
        self.star_source.data = {"R": [track.R[0]], "z": [track.z[0]], "x": [track.x[0]], "y": [track.y[0]]}
        self._update_status()
        return track

    def _on_tap(self, event) -> None:
        try:
            self.show_orbit(self.nearest_star(event.x, event.y))
        except ValueError as err:
            log.info("no orbit: %s", err)
            self.status.value = f'<span style="color:#b00">{html.escape(str(err))}</span>'
