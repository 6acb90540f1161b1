"""A workspace whose survey spectra are normalised (``--spectra-format normalized``, as a DR17-sized run
writes them), end to end: every step, and all four dashboards on it."""

import numpy as np
import pytest

import latentexplorer.widgets as lw
from latentexplorer.demo import DEMO_STAGES, _stage_outputs, build_demo_workspace
from latentexplorer.io.apogee_spectra import spectra_file_kind
from latentexplorer.workspace import Workspace

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("normalized") / "workspace"
    build_demo_workspace(root, size="tiny", seed=3, progress=False, spectra_format="normalized", train=True)
    return Workspace(root)


def test_every_step_ran_on_normalised_spectra(workspace):
    assert spectra_file_kind(workspace.paths.spectra) == "normalized"
    assert all(path.exists() for path in _stage_outputs(workspace.paths).values()), DEMO_STAGES
    assert len(workspace.catalog) == len(workspace.allstar)
    assert np.isfinite(np.asarray(workspace.catalog["Age"], float)).sum() > 10


def test_the_inspector_shows_a_star_outside_the_training_pairs(workspace):
    outside = np.setdiff1d(lw.StarView(workspace).apogee_id, workspace.pairs.apogee_id)[0]
    inspector = lw.StarInspector(workspace, outside)
    assert inspector.current.apogee_id == outside and "not in this workspace: spectrum" not in inspector.info.value
    flux = np.asarray(inspector.sources["inspector_spectrum"].data["flux"], float)
    assert np.isfinite(flux).sum() == 7514 and abs(np.nanmedian(flux) - 1) < 0.05


@pytest.mark.parametrize("app", ["latent_explorer_app", "star_inspector_app", "jacobian_view_app", "disk_map_app"])
def test_every_dashboard_starts(workspace, app):
    widget = getattr(lw, app)(workspace)
    assert "lx-message" not in getattr(widget, "value", ""), widget.value
    assert widget.children  # a real dashboard, not a message panel
