"""The Jacobian view (paper Fig. 6): which spectral pixels move each latent dimension.

∂z_i/∂pixel (the encoder's latent mean against the continuum-normalised flux,
:meth:`latentexplorer.ved.VariationalEncoderDecoder.jacobian`, computed once for every pair:
:meth:`latentexplorer.workspace.Workspace.pair_jacobians`) averaged over a group of training stars —
a ν_max range and RGB, RC or both — plotted over wavelength with the Brackett lines and the chip gaps
marked, and ASPCAP element windows (astroNN's DR17 masks) to toggle. A group's mean (over at most
``max_stars`` stars, drawn with a fixed seed) is cached; switching the latent dimension only redraws.
"""

from __future__ import annotations

import functools

import ipywidgets as w
import numpy as np
from bokeh.models import BoxAnnotation, ColumnDataSource, DataRange1d, Range1d, Span
from bokeh.plotting import figure

from ..spectra import brackett_wavelengths, chip_gaps, wavelength
from ..workspace import Workspace
from .display import bokeh_widget

__all__ = ["JacobianView", "element_windows", "ELEMENTS"]

#: Elements whose ASPCAP windows can be shown.
ELEMENTS = ("C", "N", "O", "Mg", "Al", "Si", "Ca", "Ti", "Mn", "Fe", "Ni")
STATES = ("all", "RGB", "RC")


@functools.cache
def element_windows(element: str) -> tuple[np.ndarray, np.ndarray]:
    """ASPCAP DR17 window of ``element`` as wavelength intervals (Å): (starts, ends), each (n_windows,)."""
    from ..spectra import import_astronn

    aspcap_mask = import_astronn("astroNN.apogee").aspcap_mask
    mask = np.asarray(aspcap_mask(element if element != "Ti" else "TI", dr=17), bool)
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    lam = wavelength()
    return lam[starts], lam[stops]


class JacobianView:
    """∂z_i/∂pixel averaged over a group of stars, over wavelength (an ipywidgets app).

    Parameters
    ----------
    data : Workspace
        Needs ``model/`` and ``pairs.h5`` (the spectra, ν_max and evolutionary states of the groups).
    max_stars : int
        Stars per group at most (a seeded random subset of larger groups).
    seed : int
        Seed of that subset.

    Attributes
    ----------
    widget : ipywidgets.VBox
    source : ColumnDataSource "jacobian" ('wavelength' Å, 'dzdx' the group mean, 'lower'/'upper' ± its standard
        error)
    group_size : int, stars averaged in the group shown
    """

    def __init__(self, data: Workspace, max_stars: int = 64, seed: int = 0):
        data.require("pairs")
        self.data, self.model, self.pairs = data, data.engine, data.columns("pairs")
        self.max_stars, self.seed = int(max_stars), int(seed)
        self._cache: dict[tuple, tuple[np.ndarray, np.ndarray, int]] = {}
        lo, hi = np.nanmin(self.pairs["numax"]), np.nanmax(self.pairs["numax"])
        self.dimension = w.Dropdown(options=[(f"z{i}", i) for i in range(self.model.latent_dim)], value=0,
                                    description="latent", layout=w.Layout(width="150px"))
        self.state = w.ToggleButtons(options=STATES, value="all", description="state")
        self.numax_range = w.FloatRangeSlider(value=(float(lo), float(hi)), min=float(lo), max=float(hi),
                                              step=float(hi - lo) / 100 or 1.0, description="ν_max (μHz)",
                                              continuous_update=False, readout_format=".0f",
                                              layout=w.Layout(width="480px"))
        self.elements = w.SelectMultiple(options=ELEMENTS, value=(), description="ASPCAP windows", rows=4)
        self.status = w.HTML()

        lam = wavelength()
        zeros = np.zeros_like(lam)
        self.source = ColumnDataSource({"wavelength": lam, "dzdx": zeros, "lower": zeros, "upper": zeros},
                                       name="jacobian")
        fig = figure(width=1100, height=380, x_axis_label="vacuum wavelength (Å)", y_axis_label="∂z/∂flux",
                     tools="xpan,xwheel_zoom,box_zoom,reset", active_scroll="xwheel_zoom",
                     x_range=Range1d(lam[0], lam[-1], bounds=(lam[0] - 20, lam[-1] + 20)))
        band = fig.varea("wavelength", y1="lower", y2="upper", source=self.source, alpha=0.25, color="steelblue")
        line = fig.line("wavelength", "dzdx", source=self.source, line_width=1, color="navy")
        fig.y_range = DataRange1d(renderers=[band, line])  # not the element windows
        for lam_b in brackett_wavelengths():
            fig.add_layout(Span(location=float(lam_b), dimension="height", line_color="crimson", line_alpha=0.6,
                                line_dash="dotted", name="brackett"))
        for lo_gap, hi_gap in chip_gaps():
            fig.add_layout(BoxAnnotation(left=float(lo_gap), right=float(hi_gap), fill_color="grey", fill_alpha=0.3,
                                         name="chip_gap"))
        # the windows are filled on first selection: astroNN (and matplotlib with it) loads only then
        self.window_renderers = {
            element: fig.quad(left="left", right="right", bottom=-1e9, top=1e9, fill_alpha=0.15, line_alpha=0,
                              fill_color="orange", visible=False, name=f"window_{element}",
                              source=ColumnDataSource({"left": [], "right": []}, name=f"window_{element}_source"))
            for element in ELEMENTS}
        self.figure = fig
        self.dimension.observe(lambda _: self.redraw(), names="value")
        self.state.observe(lambda _: self.redraw(), names="value")
        self.numax_range.observe(lambda _: self.redraw(), names="value")
        self.elements.observe(lambda _: self.show_elements(self.elements.value), names="value")
        self.redraw()  # before the figure becomes a widget, so its first render holds the Jacobian
        self.widget = w.VBox([
            w.HBox([self.dimension, self.state]), self.numax_range, w.HBox([self.elements, self.status]),
            bokeh_widget(fig),
        ])

    def group_rows(self, numax_range, state: str) -> np.ndarray:
        """Rows of the training pairs in the group: ν_max (μHz) within ``numax_range`` and state ("all"/"RGB"/"RC")."""
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}, got {state!r}")
        lo, hi = numax_range
        keep = (self.pairs["numax"] >= lo) & (self.pairs["numax"] <= hi)
        if state != "all":
            keep &= self.pairs["evolstate"] == state
        return np.flatnonzero(keep)

    def group_jacobian(self, numax_range, state: str) -> tuple[np.ndarray, np.ndarray, int]:
        """Mean Jacobian (latent_dim, 7514), its standard error (same shape) and the number of stars used.

        At most ``max_stars`` stars (seeded subset); NaN arrays and 0 for an empty group. Cached per group.
        """
        key = (round(float(numax_range[0]), 6), round(float(numax_range[1]), 6), state)
        if key not in self._cache:
            rows = self.group_rows(numax_range, state)
            if rows.size > self.max_stars:
                rows = np.sort(np.random.default_rng(self.seed).choice(rows, self.max_stars, replace=False))
            if rows.size == 0:
                empty = np.full((self.model.latent_dim, wavelength().size), np.nan, np.float32)
                self._cache[key] = (empty, empty, 0)
            else:
                jac = self.data.pair_jacobians(rows)
                error = jac.std(axis=0) / np.sqrt(rows.size) if rows.size > 1 else np.zeros_like(jac[0])
                self._cache[key] = (jac.mean(axis=0), error, int(rows.size))
        return self._cache[key]

    def redraw(self) -> None:
        """Compute (or fetch) the chosen group's Jacobian and draw the chosen latent dimension."""
        mean, error, n = self.group_jacobian(self.numax_range.value, self.state.value)
        i = self.dimension.value
        self.group_size = n
        self.source.data = {"wavelength": wavelength(), "dzdx": mean[i], "lower": mean[i] - error[i],
                            "upper": mean[i] + error[i]}
        lo, hi = self.numax_range.value
        self.status.value = (f"∂z{i}/∂flux averaged over <b>{n}</b> {self.state.value} stars with "
                             f"{lo:.0f} ≤ ν_max ≤ {hi:.0f} μHz" + (" (no stars in this group)" if n == 0 else ""))

    def show_elements(self, elements) -> None:
        """Show the ASPCAP windows of ``elements`` (a subset of :data:`ELEMENTS`), hide the others."""
        unknown = set(elements) - set(ELEMENTS)
        if unknown:
            raise ValueError(f"no ASPCAP windows for {sorted(unknown)}; choose from {ELEMENTS}")
        for element, renderer in self.window_renderers.items():
            if element in elements and not len(renderer.data_source.data["left"]):
                starts, ends = element_windows(element)
                renderer.data_source.data = {"left": starts, "right": ends}
            renderer.visible = element in elements
