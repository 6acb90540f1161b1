"""The workspace report: figures, Markdown/HTML summary with the audit numbers, acceptance checks, CLI."""

import json

import numpy as np
import pytest
from synthetic_workspace import make_workspace

from latentexplorer.steps.ages import train_age_model
from latentexplorer.audits.workspace import audit_workspace
from latentexplorer.steps.catalog import build_catalog
from latentexplorer.cli import main
from latentexplorer.steps.report import ACCEPTANCE, acceptance_checks, reference_numbers, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    ws, _ = make_workspace(tmp_path_factory.mktemp("ws"), n_stars=700, n_seismic=500)
    train_age_model(ws, n_train=200, n_trees=20, progress=False)
    build_catalog(ws, progress=False)
    audits = audit_workspace(ws, n_trees=15, baseline=False, progress=False)
    return ws, audits, write_report(ws, audits=audits)


def test_figures_are_written_as_png(reported):
    ws, _, summary = reported
    expected = {"fig05_latent_space.png", "fig07_labels.png", "fig08_seismic.png", "fig09_evolstate.png",
                "fig10_ages.png", "fig16_ablation.png", "leakage.png"}
    assert set(summary.figures) == expected
    for name in expected:
        data = (ws.paths.report / name).read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 10_000
    # no model/ or pairs.h5 in this workspace: Fig. 3 is skipped, and the summary says why
    assert "model" in summary.skipped["fig03_psd_reconstruction.png"]
    assert "fig03_psd_reconstruction.png (needs model and pairs)" in (ws.paths.report / "summary.md").read_text()


def test_summary_holds_every_audit_number(reported):
    ws, audits, _ = reported
    md = (ws.paths.report / "summary.md").read_text()
    html = (ws.paths.report / "summary.html").read_text()
    fid = audits.fiducial
    for text in (md, html):
        assert f"{fid.overall.scatter:.1%}" in text
        assert f"{fid.pull_width_mad:.4g}" in text
        assert f"{fid.leakage.slope:.4g}" in text
        assert f"{audits.labels['alpha_m'].r2:.4g}" in text
        assert f"{audits.seismic['deltanu'].scatter:.1%}" in text
        assert all(key in text for key in audits.ages)
    assert html.startswith("<!DOCTYPE html>") and html.count("<img") == 7
    assert "| age scatter overall ≤ 22 % |" in md and "\\|age bias\\|" in md  # pipes escaped in tables
    saved = json.loads((ws.paths.report / "audits.json").read_text())
    assert saved["audits"]["ages"]["latent+teff+fe_h"]["n_test"] == fid.n_test
    assert saved["catalog"]["n_rows"] == 700 and saved["catalog"]["flags"]["NO_LATENT"] == 1
    assert saved["age_model"]["n_train"] == 200


def test_acceptance_table_sets_each_target_beside_the_reference_features(reported):
    ws, audits, _ = reported
    md = (ws.paths.report / "summary.md").read_text()
    assert "| target | measured | met | seismic reference | aspcap reference |" in md
    ref = audits.references["seismic"]
    assert f"{ref.age.overall.scatter:.1%}" in md and f"{ref.evolstate.misclassification_rate:.1%}" in md
    assert reference_numbers(audits.to_dict()["references"]["seismic"])["ages"]["latent+teff+fe_h"]["n_test"] == \
        ref.age.n_test


def test_acceptance_checks_read_the_right_numbers(reported):
    _, audits, _ = reported
    numbers = audits.to_dict()
    checks = acceptance_checks(numbers)
    assert len(checks) == len(ACCEPTANCE)
    values = dict((text, value) for text, value, _ in checks)
    assert values["age scatter overall ≤ 22 %"] == audits.fiducial.overall.scatter
    assert values["RC/RGB misclassification ≤ 10 %"] == audits.evolstate.misclassification_rate
    assert dict((t, ok) for t, _, ok in checks)["RC/RGB misclassification ≤ 10 %"]
    del numbers["ages"]["latent+teff+fe_h"]["by_state"]["RC"]
    text, value, met = acceptance_checks(numbers)[1]
    assert text.startswith("age scatter RC") and np.isnan(value) and not met


def test_cli_report_without_latent_fails_cleanly(tmp_path, capsys):
    ws, _ = make_workspace(tmp_path, n_stars=100, n_seismic=60)
    ws.paths.latent.unlink()
    assert main(["report", str(ws.root), "--no-progress"]) == 2
    assert "latentexplorer encode" in capsys.readouterr().err
    assert not (ws.paths.report / "summary.md").exists()


def test_a_mock_workspace_report_sets_the_disk_map_beside_the_truth():
    import json

    from demo_workspace import tiny_workspace

    report = tiny_workspace() / "report"
    assert (report / "disk_truth.png").stat().st_size > 10_000
    assert "## The disk map against truth (mock survey)" in (report / "summary.md").read_text()
    numbers = json.loads((report / "audits.json").read_text())["disk_truth"]
    assert numbers["n_map"] > 0 and numbers["n_map"] <= numbers["n_without_precision_cut"]
    assert 0.0 < numbers["median_true_age"] < 14.0
