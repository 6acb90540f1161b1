"""The encoder-decoder's hyper-parameter search: candidates on the same pairs, chosen on the paper's objective,
resumable, with the science figures recorded beside each."""

import json

import pytest

from latentexplorer.ved.search import Candidate, SearchPlan, best_candidate, run_search

from demo_workspace import tiny_workspace

pytestmark = pytest.mark.slow

CANDIDATES = (Candidate("2-D latent", latent_dim=2), Candidate("3-D latent, KL weight 0.3", latent_dim=3,
                                                               kl_beta=0.3))
PLAN = SearchPlan(n_train=120, n_test=60, epochs=1, n_components=5)


def search_files(root):
    """The workspace files a search reads."""
    return dict(pairs_file=root / "pairs.h5", allstar_file=root / "survey" / "allStar.fits",
                truth_file=root / "truth.fits")


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """A copy of the tiny demo's pairs, allStar and truth, searched once."""
    import shutil

    root = tmp_path_factory.mktemp("search") / "workspace"
    source = tiny_workspace()
    shutil.copytree(source / "survey", root / "survey")
    for name in ("pairs.h5", "truth.fits"):
        shutil.copy(source / name, root / name)
    return root, run_search(root / "search", **search_files(root), candidates=CANDIDATES, plan=PLAN, progress=False)


def test_every_candidate_is_scored_on_the_same_held_out_pairs(searched):
    root, record = searched
    assert [row["name"] for row in record["candidates"]] == [c.name for c in CANDIDATES]
    for row, candidate in zip(record["candidates"], CANDIDATES):
        assert row["objective"] == pytest.approx(row["mse"] + row["kl"])
        assert 0 <= row["rc_rgb_misclassified"] <= 1 and 0 <= row["envelope_within_10pc"] <= 1
        assert 0 <= row["active_dims"] <= candidate.latent_dim
        assert -1 < row["log_mass_r2"] <= 1
        assert (root / "search" / row["model"] / "model.keras").exists()
    assert -1 < record["spectra_log_mass_r2"] <= 1
    assert json.loads((root / "search" / "results.json").read_text()) == record


def test_the_choice_is_the_lowest_held_out_objective(searched):
    _, record = searched
    lowest = min(record["candidates"], key=lambda row: row["objective"])["name"]
    assert best_candidate(record, CANDIDATES).name == lowest


def test_a_rerun_keeps_finished_candidates_and_trains_only_new_ones(searched):
    root, record = searched
    extra = Candidate("2-D latent, envelope weight 4", latent_dim=2, envelope_height=4.0)
    again = run_search(root / "search", **search_files(root), candidates=(*CANDIDATES, extra), plan=PLAN,
                       progress=False)
    assert again["candidates"][:2] == record["candidates"]
    assert again["candidates"][2]["settings"]["envelope_height"] == 4.0
