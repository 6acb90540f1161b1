"""`latentexplorer demo`: the whole pipeline on the mock survey, cached in a workspace."""

import json

from demo_workspace import tiny_workspace
from latentexplorer.cli import main
from latentexplorer.demo import DEMO_STAGES, _stage_outputs
from latentexplorer.workspace import Workspace


def test_the_tiny_demo_workspace_has_every_product():
    ws = Workspace(tiny_workspace())
    assert all(path.exists() for path in _stage_outputs(ws.paths).values()), DEMO_STAGES
    assert len(ws.catalog) == len(ws.allstar)  # row-matched
    assert ws.training_record.train_ids.size + ws.training_record.validation_ids.size == len(ws.pairs)
    assert json.loads((ws.root / "demo.json").read_text())["size"] == "tiny"


def test_a_built_workspace_is_reused(capsys):
    workspace = tiny_workspace()
    assert main(["demo", "--workspace", str(workspace), "--size", "tiny", "--train", "--build-only"]) == 0
    assert "already built (cached)" in capsys.readouterr().out


def test_refuses_to_build_over_a_directory_that_is_not_a_demo(tmp_path, capsys):
    (tmp_path / "thesis.tex").write_text("precious")
    assert main(["demo", "--workspace", str(tmp_path), "--size", "tiny", "--build-only"]) == 2
    assert "not a demo workspace" in capsys.readouterr().err
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_the_report_sets_the_decoded_envelopes_beside_the_observed_ones():
    ws = Workspace(tiny_workspace())
    envelope = json.loads((ws.paths.report / "audits.json").read_text())["envelope"]
    assert envelope["n"] == envelope["observed"]["n"] > 0  # the same validation pairs
    assert 0.0 <= envelope["within_10pc"] <= 1.0
    assert envelope["observed"]["within_10pc"] > 0.5  # the estimator finds most envelopes in the data
    assert "on the observed PSDs of these pairs" in (ws.paths.report / "summary.md").read_text()
    assert set(json.loads((ws.paths.report / "audits.json").read_text())["audits"]["references"]) == {"seismic", "aspcap"}


def test_a_workspace_built_otherwise_is_rebuilt_only_on_request_and_keeps_the_users_files(tmp_path, capsys,
                                                                                           monkeypatch):
    import latentexplorer.demo as demo

    root = tmp_path / "ws"
    root.mkdir()
    (root / "demo.json").write_text(json.dumps({"size": "tiny", "seed": 1, "files": ["psd.h5"]}))
    (root / "psd.h5").write_text("an old product")
    (root / "my_notebook.ipynb").write_text("precious")
    assert main(["demo", "--workspace", str(root), "--size", "tiny", "--build-only"]) == 2
    assert "--overwrite" in capsys.readouterr().err and (root / "psd.h5").read_text() == "an old product"
    monkeypatch.setattr(demo, "DEMO_STAGES", ())  # check the clean-up, not the build
    demo.build_demo_workspace(root, size="tiny", overwrite=True, progress=False)
    assert not (root / "psd.h5").exists() and (root / "my_notebook.ipynb").read_text() == "precious"
