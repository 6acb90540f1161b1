"""Dashboard components: ipywidgets apps with bokeh figures (through jupyter_bokeh) over a workspace.

Each works in JupyterLab and in the Voila dashboards of ``latentexplorer/dashboards/``::

    import latentexplorer.widgets as lw
    lw.setup_notebook()                       # BokehJS into the page, once
    lw.latent_explorer_app("workspace/")      # or star_inspector_app, jacobian_view_app, disk_map_app

Every component takes a :class:`latentexplorer.workspace.Workspace` (the library's view of a workspace;
:func:`load_workspace` shares one per kernel). An app function returns the component's widget, or a panel saying which workspace product is missing.
The classes (:class:`LatentExplorer`, :class:`StarInspector`, :class:`JacobianView`, :class:`DiskMap`)
hold the state and the methods a notebook can drive directly.
"""

from functools import partial

from ..workspace import LABELS, MissingProduct, Workspace
from .disk_map import DiskMap
from .display import WORKSPACE_ENV, build_app, load_workspace, message_panel, setup_notebook, workspace_from_env
from .jacobian_view import JacobianView
from .latent_explorer import LatentExplorer
from .star_inspector import StarInspector, StarSummary

__all__ = [
    "DiskMap",
    "JacobianView",
    "LABELS",
    "LatentExplorer",
    "MissingProduct",
    "StarInspector",
    "StarSummary",
    "WORKSPACE_ENV",
    "Workspace",
    "build_app",
    "disk_map_app",
    "jacobian_view_app",
    "latent_explorer_app",
    "load_workspace",
    "message_panel",
    "setup_notebook",
    "star_inspector_app",
    "workspace_from_env",
]

#: ``app(workspace=None, **kwargs)`` → the dashboard's widget (workspace default ``$LATENTEXPLORER_WORKSPACE``).
latent_explorer_app = partial(build_app, LatentExplorer)
star_inspector_app = partial(build_app, StarInspector)
jacobian_view_app = partial(build_app, JacobianView)
disk_map_app = partial(build_app, DiskMap)
