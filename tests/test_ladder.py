"""The information ladder (latentexplorer.audits.ladder) on the tiny demo workspace: every row scored against truth
on the same held-out stars."""

import shutil

import numpy as np
import pytest

from demo_workspace import tiny_workspace
from latentexplorer.audits.ladder import LABEL_TARGETS, information_ladder


@pytest.fixture(scope="module")
def ladder():
    return information_ladder(tiny_workspace(), n_trees=60, n_components=10)


def test_every_row_is_scored_on_the_same_held_out_stars(ladder):
    assert ladder.n_train == 60  # the tiny demo's age-forest training stars
    assert {row.age["n"] for row in ladder.rows} == {ladder.n_test}
    assert 0 < ladder.n_test_rc < ladder.n_test


def test_feature_rows_score_every_label_they_do_not_take_as_input(ladder):
    assert set(ladder.row("latent").labels) == set(LABEL_TARGETS)
    assert set(ladder.row("seismic").labels) == {"log_mass", "c_n", "excess_deltanu"}
    assert ladder.row("true mass").labels == {} and np.isnan(ladder.row("true mass").misclassified)
    for row in ladder.rows:
        assert all(-1.0 < v["r2"] <= 1.0 and v["robust"] > 0 for v in row.labels.values())


def test_true_mass_makes_ages_that_no_spectroscopic_feature_set_reaches(ladder):
    # with mass, [Fe/H] and state the mock's age is a function: only the seismic-age labels' noise is left
    true_mass = ladder.row("true mass").age["robust"]
    assert true_mass < 0.25
    for name in ("latent", "spectra PCA", "PSD PCA", "ASPCAP"):
        assert ladder.row(name).age["robust"] > true_mass


def test_the_markdown_table_has_one_line_per_row(ladder):
    table = ladder.to_markdown().splitlines()
    assert table[0].startswith("| features | log mass R²")
    assert sum(line.startswith("| ") for line in table[2:]) == len(ladder.rows)


def test_a_workspace_without_truth_is_refused_in_one_line(tmp_path):
    ws = tmp_path / "real"
    shutil.copytree(tiny_workspace(), ws)
    (ws / "truth.fits").unlink()
    with pytest.raises(ValueError, match="truth.fits"):
        information_ladder(ws, n_trees=10)


def test_the_mock_workspace_report_carries_the_ladder():
    import json

    report = tiny_workspace() / "report"
    assert "## Information ladder" in (report / "summary.md").read_text()
    ladder = json.loads((report / "audits.json").read_text())["ladder"]
    assert ladder["n_train"] == 60 and len(ladder["rows"]) == 9


def test_a_model_directory_scores_its_own_encoding_of_the_same_stars():
    # the tiny workspace's latents are its own model's: encoding the stars again gives the same latent row
    ws = tiny_workspace()
    own = information_ladder(ws, n_trees=20, n_components=5)
    again = information_ladder(ws, n_trees=20, n_components=5, model=ws / "model")
    assert again.row("latent").labels["log_mass"]["r2"] == pytest.approx(own.row("latent").labels["log_mass"]["r2"],
                                                                         abs=1e-6)
    assert again.row("latent").age == pytest.approx(own.row("latent").age, abs=1e-6)
