"""What every dashboard shares: loading BokehJS, wrapping bokeh layouts as widgets, message panels, the app guard.

The dashboards are ipywidgets containers; their bokeh figures go through :class:`jupyter_bokeh.BokehModel`,
which keeps the Python document and the page in sync both ways (a Python change to a ``ColumnDataSource``
redraws the page; a tap in the page runs the Python callback). BokehJS itself must be in the page before
the first figure is shown: :func:`setup_notebook` loads it from the installed bokeh (no CDN, so it works
offline).
"""

from __future__ import annotations

import functools
import html
import logging
import os
from pathlib import Path

import ipywidgets as w

from ..workspace import Workspace

log = logging.getLogger(__name__)

__all__ = ["WORKSPACE_ENV", "load_workspace", "setup_notebook", "bokeh_widget", "message_panel", "build_app", "workspace_from_env"]

#: Environment variable naming the workspace the dashboards and workshop notebooks open.
WORKSPACE_ENV = "LATENTEXPLORER_WORKSPACE"


@functools.lru_cache(maxsize=4)
def load_workspace(path) -> Workspace:
    """:class:`~latentexplorer.workspace.Workspace` for ``path``, shared by every dashboard of the same
    process (cached), so each product is read once per kernel."""
    return Workspace(Path(path).expanduser().resolve())


def setup_notebook() -> None:
    """Load BokehJS into the notebook page from the installed bokeh (inline, offline-safe), once per kernel."""
    import bokeh.io
    import bokeh.resources

    bokeh.io.output_notebook(bokeh.resources.INLINE, hide_banner=True)


def bokeh_widget(layout) -> w.DOMWidget:
    """A bokeh layout as an ipywidget kept in sync with Python (:class:`jupyter_bokeh.BokehModel`)."""
    from jupyter_bokeh import BokehModel

    return BokehModel(layout)


def message_panel(text: str, title: str = "Not available") -> w.HTML:
    """An HTML panel saying why a dashboard (or part of it) cannot be shown; ``text`` is escaped."""
    return w.HTML(
        f'<div class="lx-message" style="border:1px solid #c9a227;background:#fff8e1;padding:0.8em;'
        f'border-radius:4px"><b>{html.escape(title)}</b><br>{html.escape(text)}</div>'
    )


def workspace_from_env() -> str:
    """The workspace path in ``$LATENTEXPLORER_WORKSPACE``; ValueError saying how to set it if unset."""
    path = os.environ.get(WORKSPACE_ENV, "").strip()
    if not path:
        raise ValueError(f"set {WORKSPACE_ENV} to a workspace directory (e.g. the one `latentexplorer demo` built)")
    return path


def build_app(component, workspace=None, **kwargs) -> w.Widget:
    """``component(data, **kwargs).widget`` for a workspace, or a :func:`message_panel` saying what is missing;
    above the widget, a panel naming the workspace's stale products when there are any
    (:meth:`~latentexplorer.workspace.Workspace.stale_products`).

    Parameters
    ----------
    component : class taking a :class:`~latentexplorer.workspace.Workspace` first, with a ``widget`` attribute
    workspace : str, Path or Workspace, optional
        Default: ``$LATENTEXPLORER_WORKSPACE``.
    """
    try:
        data = workspace if isinstance(workspace, Workspace) else load_workspace(
            workspace if workspace is not None else workspace_from_env())
        widget = component(data, **kwargs).widget
    except (FileNotFoundError, ValueError) as err:  # MissingProduct, or a product to rebuild
        log.warning("%s: %s", component.__name__, err)
        return message_panel(str(err), f"{component.__name__} cannot start")
    stale = data.stale_products()
    if not stale:
        return widget
    log.warning("%s: %d stale product(s) in %s", component.__name__, len(stale), data.root)
    return w.VBox([message_panel(" • ".join(map(str, stale)), "Out of date: this workspace mixes old and new products"),
                   widget])
