"""Dashboard components: ipywidgets apps with bokeh figures (through jupyter_bokeh) over a workspace.

Each works in JupyterLab and in the Voila dashboards of ``latentexplorer/dashboards/``::

    import latentexplorer.widgets as lw
    lw.setup_notebook()                       # BokehJS into the page, once
    lw.latent_explorer_app("workspace/")      # or star_inspector_app, jacobian_view_app, disk_map_app

Every component takes a :class:`latentexplorer.workspace.Workspace` (the library's view of a workspace;
:func:`load_workspace` shares one per kernel). An app function returns the component's widget, or a
panel saying which workspace product is missing. The classes (:class:`LatentExplorer`,
:class:`StarInspector`, :class:`JacobianView`, :class:`DiskMap`) hold the state and the methods a notebook
can drive directly.
Their per-star data come from :class:`StarView` (``star_view.py``): the encoded stars, each product aligned to
them, the labels to colour by (:data:`LABELS`), and one star's spectrum, observed PSD and age posterior.

Components are imported on first use, so a dashboard's kernel imports its own page's code only.
"""

import importlib

from .display import WORKSPACE_ENV, build_app, load_workspace, message_panel, setup_notebook, workspace_from_env

#: Public name → (module, attribute), imported on first use.
_LAZY = {
    "DiskMap": ("latentexplorer.widgets.disk_map", "DiskMap"),
    "JacobianView": ("latentexplorer.widgets.jacobian_view", "JacobianView"),
    "LatentExplorer": ("latentexplorer.widgets.latent_explorer", "LatentExplorer"),
    "StarInspector": ("latentexplorer.widgets.star_inspector", "StarInspector"),
    "StarSummary": ("latentexplorer.widgets.star_inspector", "StarSummary"),
    "LABELS": ("latentexplorer.widgets.star_view", "LABELS"),
    "StarView": ("latentexplorer.widgets.star_view", "StarView"),
    "MissingProduct": ("latentexplorer.workspace", "MissingProduct"),
    "Workspace": ("latentexplorer.workspace", "Workspace"),
}
#: The dashboards' app functions: name → component class name.
_APPS = {"latent_explorer_app": "LatentExplorer", "star_inspector_app": "StarInspector",
         "jacobian_view_app": "JacobianView", "disk_map_app": "DiskMap"}

__all__ = ["WORKSPACE_ENV", "build_app", "load_workspace", "message_panel", "setup_notebook", "workspace_from_env",
           *_LAZY, *_APPS]


def __getattr__(name):
    if name in _LAZY:
        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    if name in ("disk_map", "jacobian_view", "latent_explorer", "star_inspector", "star_view"):
        return importlib.import_module(f"{__name__}.{name}")
    if name in _APPS:
        component = __getattr__(_APPS[name])

        def app(workspace=None, **kwargs):
            """The dashboard's widget for ``workspace`` (default ``$LATENTEXPLORER_WORKSPACE``), or a panel
            saying what is missing (see :func:`~latentexplorer.widgets.display.build_app`)."""
            return build_app(component, workspace, **kwargs)

        app.__name__ = name
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
