"""The latent explorer (paper Fig. 4): slide through the latent space and watch the decoded PSD change.

Five sliders span the range of the stars' latent means; every move decodes the slider position into a
natural-log PSD, redraws it on a log-frequency axis and marks the ν_max estimated from it
(:func:`latentexplorer.seismo.estimate_global_parameters`). Beside it, the population in two chosen
latent dimensions, coloured by a chosen label (stars whose age is out of distribution in grey; at most
:data:`~latentexplorer.widgets.star_view.DISPLAY_LIMIT` stars drawn), with the slider position marked. "Snap to nearest
star"
moves the sliders onto the closest encoded star; "Random draw from the prior" onto z ~ N(0, I).
"""

from __future__ import annotations

import html

import ipywidgets as w
import numpy as np
from bokeh.layouts import row
from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper, Span
from bokeh.palettes import Viridis256
from bokeh.plotting import figure

from ..seismo import estimate_global_parameters
from ..workspace import MissingProduct, Workspace
from .display import bokeh_widget
from .star_view import LABELS, StarView

__all__ = ["LatentExplorer", "available_labels", "scatter_figure"]

SLIDER_STEPS = 200  # steps across each slider's range


def available_labels(view: StarView) -> dict[str, np.ndarray]:
    """The :data:`~latentexplorer.widgets.star_view.LABELS` the view's workspace can provide (some finite value),
    name → (N,) float (computed now: a component that keeps only the names holds none of them)."""
    out = {}
    for name in LABELS:
        try:
            values = view.label(name)
        except MissingProduct:
            continue
        if np.isfinite(values).any():
            out[name] = values
    return out


def population_colours(view: StarView, values, rows) -> np.ndarray:
    """(len(rows),) float32 colour values of the encoded stars ``rows``: ``values`` there, NaN (drawn grey by
    the mappers' ``nan_color``) where a star's age is out of distribution."""
    c = np.asarray(values, dtype=np.float32)[rows]
    return np.where(view.out_of_distribution()[rows], np.float32(np.nan), c)


def scatter_figure(source: ColumnDataSource, mapper: LinearColorMapper, title: str, **kwargs):
    """A WebGL scatter of ``source`` ('x', 'y', 'c' columns) coloured through ``mapper``, with a colour bar."""
    fig = figure(title=title, width=430, height=380, output_backend="webgl",
                 tools="pan,wheel_zoom,box_zoom,reset,tap", **kwargs)
    fig.scatter("x", "y", source=source, size=4, alpha=0.7, line_color=None,
                fill_color={"field": "c", "transform": mapper}, nonselection_alpha=0.3)
    fig.add_layout(ColorBar(color_mapper=mapper, width=10), "right")
    return fig


def color_range(values) -> tuple[float, float]:
    """(low, high) for a colour mapper: the 1st and 99th percentiles of the finite values ((0, 1) if none)."""
    finite = np.asarray(values, float)[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    lo, hi = np.percentile(finite, [1, 99])
    return float(lo), float(hi if hi > lo else lo + 1.0)


class LatentExplorer:
    """Sliders over the latent space → decoded PSD, with the population scatter (an ipywidgets app).

    Parameters
    ----------
    data : Workspace
        Needs ``latent.h5`` and ``model/``; labels come from whatever else the workspace holds.
    x_dim, y_dim : int
        Latent dimensions of the scatter.
    color_by : str
        A key of :data:`~latentexplorer.widgets.star_view.LABELS`; the first available one if this is not.
    seed : int or numpy.random.Generator, optional
        For the prior draws.

    Attributes
    ----------
    widget : ipywidgets.VBox, the app
    view : StarView, the encoded stars drawn
    sliders : list of ipywidgets.FloatSlider, one per latent dimension
    psd_source : ColumnDataSource ('frequency' μHz, 'log_psd'), named "decoded_psd"
    numax : float, ν_max (μHz) estimated from the decoded PSD (NaN if none found)
    nearest_id : str, the APOGEE_ID of the last star snapped to ("" before any snap)

    Raises
    ------
    MissingProduct
        If the workspace has no model.
    """

    def __init__(self, data: Workspace, x_dim: int = 0, y_dim: int = 1, color_by: str = "numax", seed=None):
        self.data, self.model = data, data.engine
        self.view = view = StarView(data)
        self.rng = np.random.default_rng(seed)
        self.labels = tuple(available_labels(view))  # the names: a label's values are computed when drawn
        self.numax, self.nearest_id, self._holding = float("nan"), "", False
        z = view.z_mean
        lo, hi = z.min(axis=0).astype(float), z.max(axis=0).astype(float)
        hi = np.where(hi > lo, hi, lo + 1.0)
        start = np.median(z, axis=0)
        self.sliders = [
            w.FloatSlider(value=float(start[i]), min=lo[i], max=hi[i], step=float((hi[i] - lo[i]) / SLIDER_STEPS),
                          description=f"z{i}", continuous_update=True, readout_format=".2f",
                          layout=w.Layout(width="420px"))
            for i in range(view.latent_dim)
        ]
        self.psd_source = ColumnDataSource({"frequency": self.model.frequency, "log_psd": np.zeros_like(
            self.model.frequency)}, name="decoded_psd")
        self.numax_span = Span(location=None, dimension="height", line_color="firebrick", line_dash="dashed",
                               line_width=2, name="numax_marker")
        psd_fig = figure(title="decoded PSD", x_axis_type="log", width=560, height=380,
                         x_axis_label="frequency (μHz)", y_axis_label="ln PSD (flattened)",
                         tools="pan,wheel_zoom,box_zoom,reset")
        psd_fig.line("frequency", "log_psd", source=self.psd_source, line_width=1.5)
        psd_fig.add_layout(self.numax_span)

        dims = [(f"z{i}", i) for i in range(view.latent_dim)]
        self.x_dim = w.Dropdown(options=dims, value=x_dim, description="x", layout=w.Layout(width="140px"))
        self.y_dim = w.Dropdown(options=dims, value=y_dim, description="y", layout=w.Layout(width="140px"))
        options = [(LABELS[k][0], k) for k in self.labels] or [("none", "")]
        self.color_by = w.Dropdown(options=options, value=color_by if color_by in self.labels else options[0][1],
                                   description="colour", layout=w.Layout(width="300px"))
        self.mapper = LinearColorMapper(palette=Viridis256, nan_color="lightgrey")
        self.display_rows = view.display_rows()
        self.scatter_source = ColumnDataSource(name="population")
        self.position_source = ColumnDataSource({"x": [0.0], "y": [0.0]}, name="slider_position")
        self.scatter_fig = scatter_figure(self.scatter_source, self.mapper, "population in the latent space")
        self.scatter_fig.scatter("x", "y", source=self.position_source, marker="star", size=18,
                                 fill_color="red", line_color="black")
        self._redraw_scatter()

        snap = w.Button(description="Snap to nearest star", icon="crosshairs")
        prior = w.Button(description="Random draw from the prior", icon="random", layout=w.Layout(width="220px"))
        snap.on_click(lambda _: self.snap_to_nearest())
        prior.on_click(lambda _: self.draw_prior())
        self.status = w.HTML()
        for slider in self.sliders:
            slider.observe(lambda _: self.update(), names="value")
        for dropdown in (self.x_dim, self.y_dim, self.color_by):
            dropdown.observe(lambda _: self._redraw_scatter(), names="value")
        self.update()  # before the figures become a widget, so its first render holds the decoded PSD
        self.widget = w.VBox([
            w.HBox([w.VBox(self.sliders), w.VBox([snap, prior, self.status])]),
            w.HBox([self.x_dim, self.y_dim, self.color_by]),
            bokeh_widget(row(psd_fig, self.scatter_fig)),
        ])

    @property
    def z(self) -> np.ndarray:
        """The slider position, (latent_dim,) float."""
        return np.array([s.value for s in self.sliders])

    def set_latent(self, z) -> None:
        """Move the sliders to ``z`` (clipped to their ranges) and redraw once."""
        z = np.asarray(z, dtype=float)
        if z.shape != (len(self.sliders),) or not np.isfinite(z).all():
            raise ValueError(f"z must be {len(self.sliders)} finite numbers, got {z}")
        self._holding = True
        try:
            for slider, value in zip(self.sliders, z):
                slider.value = float(np.clip(value, slider.min, slider.max))
        finally:
            self._holding = False
        self.update()

    def update(self) -> None:
        """Decode the slider position, redraw the PSD, the ν_max marker and the position marker."""
        if self._holding:
            return
        z = self.z
        log_psd = np.asarray(self.model.decode(z))[0]  # the bare array: what bokeh draws
        self.numax = estimate_global_parameters(self.model.frequency, log_psd).numax
        self.psd_source.data = {"frequency": self.model.frequency, "log_psd": log_psd}
        self.numax_span.location = self.numax if np.isfinite(self.numax) else None
        self.position_source.data = {"x": [z[self.x_dim.value]], "y": [z[self.y_dim.value]]}
        numax = f"{self.numax:.1f} μHz" if np.isfinite(self.numax) else "no oscillation excess found"
        near = f"<br>nearest star snapped to: {html.escape(self.nearest_id)}" if self.nearest_id else ""
        self.status.value = f"decoded ν_max: <b>{numax}</b>{near}"

    def snap_to_nearest(self) -> str:
        """Move the sliders onto the encoded star nearest (Euclidean, latent space) to them; returns its APOGEE_ID."""
        row_ = int(np.argmin(np.sum((self.view.z_mean - self.z.astype(np.float32)) ** 2, axis=1)))
        self.nearest_id = str(self.view.apogee_id[row_])
        self.set_latent(self.view.z_mean[row_])
        return self.nearest_id

    def draw_prior(self) -> np.ndarray:
        """Move the sliders to a draw from the prior N(0, I), clipped to the sliders' ranges; returns the draw."""
        z = self.rng.standard_normal(len(self.sliders))
        self.nearest_id = ""
        self.set_latent(z)
        return z

    def _redraw_scatter(self) -> None:
        rows, i, j = self.display_rows, self.x_dim.value, self.y_dim.value
        z = self.view.z_mean[rows]
        key = self.color_by.value
        c = population_colours(self.view, self.view.label(key) if key else np.full(len(self.view), np.nan), rows)
        self.mapper.low, self.mapper.high = color_range(c)
        self.scatter_source.data = {"x": z[:, i], "y": z[:, j], "c": c, "APOGEE_ID": self.view.apogee_id[rows]}
        self.scatter_fig.xaxis.axis_label, self.scatter_fig.yaxis.axis_label = f"z{i}", f"z{j}"
        shown = f"{rows.size} of {len(self.view)} stars, " if rows.size < len(self.view) else ""
        self.scatter_fig.title.text = (f"{shown}coloured by {LABELS[key][0] if key else 'nothing'} "
                                       "(grey: none, or age out of distribution)")
        self.position_source.data = {"x": [self.z[i]], "y": [self.z[j]]}
