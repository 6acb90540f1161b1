"""A workspace records what each product was made from; products whose inputs changed are called stale."""

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys

import ipywidgets as w
import pytest

from latentexplorer.io.provenance import LEDGER_NAME, read_ledger, record_product, stale_products
from latentexplorer.steps.runtime.provenance import records_provenance
from latentexplorer.widgets.display import build_app
from latentexplorer.workspace import Workspace


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def chain(tmp_path):
    """survey.txt → a.h5 → b.fits, recorded as two steps."""
    source = write(tmp_path / "survey" / "survey.txt", "stars")
    a = write(tmp_path / "a.h5", "made from stars")
    record_product(a, "first", [source])
    b = write(tmp_path / "b.fits", "made from a")
    record_product(b, "second", [a])
    return tmp_path, source, a, b


def test_nothing_is_stale_right_after_the_steps(chain):
    root, *_ = chain
    assert stale_products(root) == []
    assert set(read_ledger(root)) == {"a.h5", "b.fits"}
    assert list(read_ledger(root)["a.h5"]["inputs"]) == ["survey/survey.txt"]  # relative: the workspace can move


def test_a_changed_source_makes_everything_downstream_stale(chain):
    root, source, a, b = chain
    source.write_text("other stars")
    stale = {p.name: p for p in stale_products(root)}
    assert stale["a.h5"].reasons == ("survey/survey.txt changed since it was made",)
    assert stale["b.fits"].reasons == ("a.h5 is stale",)
    assert stale["b.fits"].changed == {"survey/survey.txt"}
    assert str(stale["a.h5"]).startswith("a.h5 is stale: survey/survey.txt changed since it was made")


def test_an_input_rewritten_with_the_same_bytes_is_not_a_change(chain):
    root, source, a, b = chain
    source.write_text("stars")
    os.utime(source, ns=(1, 1))
    assert stale_products(root) == []


def test_a_removed_input_is_named(chain):
    root, source, a, b = chain
    source.unlink()
    assert stale_products(root)[0].reasons == ("survey/survey.txt is gone",)


def test_a_product_replaced_by_hand_has_no_known_provenance_and_is_not_called_stale(chain):
    root, source, a, b = chain
    b.write_text("copied in from elsewhere")
    source.write_text("other stars")
    assert [p.name for p in stale_products(root)] == ["a.h5"]


def test_a_moved_workspace_keeps_its_provenance(chain):
    root, *_ = chain
    moved = root.parent / "moved"
    shutil.move(root, moved)
    assert stale_products(moved) == []
    (moved / "survey" / "survey.txt").write_text("other")
    assert {p.name for p in stale_products(moved)} == {"a.h5", "b.fits"}


def test_a_directory_input_is_fingerprinted_by_its_files(tmp_path):
    model = tmp_path / "model"
    write(model / "weights.bin", "w1")
    out = write(tmp_path / "latent.h5", "z")
    record_product(out, "encode", [model])
    write(model / ".model.lock", "pid 1")  # hidden files (locks, temporaries) do not count
    assert stale_products(tmp_path) == []
    write(model / "weights.bin", "w2")
    assert stale_products(tmp_path)[0].reasons == ("model changed since it was made",)


def test_a_damaged_ledger_loses_provenance_not_products(chain):
    root, *_ = chain
    (root / LEDGER_NAME).write_text("{not json")
    assert read_ledger(root) == {} and stale_products(root) == []
    (root / LEDGER_NAME).write_text(json.dumps(["a list"]))
    assert read_ledger(root) == {}


def test_status_says_a_damaged_ledger_and_exits_1(chain, capsys):
    from latentexplorer.cli import main
    from latentexplorer.io.provenance import ledger_problem

    root, *_ = chain
    assert ledger_problem(root) is None
    (root / LEDGER_NAME).write_text("{not json")
    assert ledger_problem(root) == f"{root / LEDGER_NAME} is not valid JSON"
    assert main(["status", str(root)]) == 1
    assert f"{root / LEDGER_NAME} is not valid JSON: what each product was made from is unknown" in \
        capsys.readouterr().out


def test_a_step_warns_when_its_new_output_makes_products_stale_and_when_its_inputs_are(chain, caplog):
    root, source, a, b = chain

    @records_provenance("first", lambda args: args["output"], lambda args: [args["source"]])
    def first(source, output, text):
        output.write_text(text)

    caplog.set_level(logging.WARNING)
    first(source, a, "made from stars")  # same bytes: nothing downstream changes
    assert not caplog.records
    first(source, a, "made from stars, again but otherwise")
    assert [r.getMessage() for r in caplog.records] == ["b.fits is stale: a.h5 changed since it was made"]

    @records_provenance("second", lambda args: args["output"], lambda args: [args["source"]])
    def second(source, output):
        output.write_text(source.read_text())

    caplog.clear()
    source.write_text("other stars")
    second(a, b)
    assert "second: an input is stale — a.h5 is stale: survey/survey.txt changed" in caplog.records[0].getMessage()


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "latentexplorer", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def digest(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small_workspace(tmp_path_factory):
    """A simulated survey with orbits computed from its allStar (no TensorFlow needed)."""
    root = tmp_path_factory.mktemp("provenance") / "ws"
    assert run_cli("simulate", "--n-stars", 60, "--n-kepler", 10, "--light-curves", 0, "-o", root,
                   "--no-progress").returncode == 0
    result = run_cli("orbits", root / "survey" / "allStar.fits", "-o", root / "orbits.fits", "--no-progress")
    assert result.returncode == 0, result.stderr
    return root


def test_simulate_into_a_built_workspace_is_refused_and_changes_nothing(small_workspace):
    before = digest(small_workspace)
    result = run_cli("simulate", "--n-stars", 60, "--n-kepler", 10, "--seed", 1, "-o", small_workspace)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"latentexplorer simulate: error: {small_workspace} already holds a survey (truth.fits, survey/allStar.fits, "
        "survey/seismic.fits, survey/spectra.h5, survey/kepler); add --overwrite to replace it (what was made from it "
        "becomes stale), or choose another directory"]
    assert digest(small_workspace) == before


def test_a_resimulated_survey_makes_its_products_stale_for_the_cli_and_the_dashboards(small_workspace, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(small_workspace, ws)
    assert run_cli("status", ws).returncode == 0
    result = run_cli("simulate", "--n-stars", 60, "--n-kepler", 10, "--seed", 1, "--light-curves", 0, "-o", ws,
                     "--overwrite", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "now stale (made from the survey this run replaced): orbits.fits" in result.stdout

    status = run_cli("status", ws)
    assert status.returncode == 1
    assert "orbits.fits            STALE: survey/allStar.fits changed since it was made" in status.stdout

    class Component:
        def __init__(self, data):
            self.widget = w.Label("the dashboard")

    app = build_app(Component, Workspace(ws))
    assert isinstance(app, w.VBox) and app.children[1].value == "the dashboard"
    assert "Out of date" in app.children[0].value and "orbits.fits is stale" in app.children[0].value
