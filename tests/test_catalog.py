"""The age catalog: Table 1 columns, row-matched to allStar, the paper's cuts and flags, atomic files."""

import numpy as np
import pytest
from astropy.table import Table
from synthetic_workspace import make_workspace

from latentexplorer.steps.ages import train_age_model
from latentexplorer.steps.catalog import build_catalog
from latentexplorer.cli import main
from latentexplorer.io.allstar import read_allstar, write_allstar
from latentexplorer.io.catalog import read_catalog
from latentexplorer.selection import OOD_FLAGS, AgeFlag
from latentexplorer.widgets.star_view import StarView
from latentexplorer.workspace import Workspace

TABLE1 = ["APOGEE_ID", "telescope", "field", "STARFLAG", "ASPCAPFLAG", "z0", "z1", "z2", "z3", "z4",
          "LogAge", "LogAge_Error", "Age", "Age_Error"]
# rows edited to fall foul of one cut each (none of them seismic, so training is unaffected)
EDITS = {1000: ("LOGG", 2.0), 1001: ("LOGG", 1.2), 1002: ("SNREV", 25.0), 1003: ("TEFF", np.nan),
         1004: ("FE_H", np.nan), 1005: ("LOGG", np.nan)}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    ws, truth = make_workspace(tmp_path_factory.mktemp("ws"), n_stars=1200, n_seismic=800)
    allstar = read_allstar(ws.paths.allstar)
    for row, (column, value) in EDITS.items():
        allstar[column][row] = value
    write_allstar(ws.paths.allstar, allstar)
    train_age_model(ws, n_train=400, n_trees=30, progress=False)
    summary = build_catalog(ws, progress=False)
    return ws, truth, summary, read_catalog(ws.paths.catalog)


def test_catalog_is_row_matched_with_table1_columns(workspace):
    ws, truth, summary, cat = workspace
    assert len(cat) == len(truth) == summary.n_rows
    assert list(cat["APOGEE_ID"]) == list(truth["APOGEE_ID"])
    assert cat.colnames[:10] == TABLE1[:10]
    assert set(TABLE1) | {f"z{i}_err" for i in range(5)} | {"EVOLSTATE_PRED", "P_RC", "AGE_FLAG"} == set(cat.colnames)
    assert set(cat["telescope"]) == {"apo25m"}


def test_every_column_has_a_unit_or_none_and_a_description(workspace):
    *_, cat = workspace
    assert str(cat["Age"].unit) == "Gyr" and str(cat["Age_Error"].unit) == "Gyr"
    assert all(cat[name].description for name in cat.colnames)
    assert "10**" in cat["Age"].description


def test_cuts_give_nan_and_say_why(workspace):
    _, _, summary, cat = workspace
    flag = np.asarray(cat["AGE_FLAG"])
    age = np.ma.filled(cat["LogAge"], np.nan)
    z0 = np.ma.filled(cat["z0"], np.nan)
    F = AgeFlag
    expected = {1000: F.AGE_LOGG, 1001: F.LATENT_LOGG | F.AGE_LOGG, 1002: F.LOW_SNR, 1003: F.NO_TEFF,
                1004: F.NO_FE_H, 1005: F.LATENT_LOGG | F.AGE_LOGG, len(cat) - 1: F.NO_LATENT}
    for row, bits in expected.items():
        assert flag[row] == bits and np.isnan(age[row])
    assert np.isfinite(z0[[1000, 1003, 1004]]).all()  # latent kept: only the age cuts fail
    assert np.isnan(z0[[1001, 1002, 1005, len(cat) - 1]]).all()
    others = np.setdiff1d(np.arange(len(cat)), list(expected))
    assert (flag[others] & ~int(OOD_FLAGS) == 0).all() and np.isfinite(age[others]).all()
    assert np.mean(flag[others] != 0) < 0.03  # the survey's own giants lie inside the training support
    assert summary.n_ages == others.size and summary.n_latent == others.size + 3
    assert summary.flag_counts["NO_TEFF"] == 1
    state = np.asarray(cat["EVOLSTATE_PRED"]).astype(str)
    assert state[1000] == ("RC" if cat["P_RC"][1000] >= 0.5 else "RGB") and state[1001] == ""


def test_ages_are_consistent_and_accurate(workspace):
    _, truth, _, cat = workspace
    log_age, log_err = np.ma.filled(cat["LogAge"], np.nan), np.ma.filled(cat["LogAge_Error"], np.nan)
    age, age_err = np.asarray(cat["Age"], float), np.asarray(cat["Age_Error"], float)
    ok = np.isfinite(log_age)
    assert (np.isfinite(age) == ok).all() and (log_err[ok] > 0).all()
    # mean of 10**(tree log age) ≥ 10**(mean log age); equal to first order in the spread
    assert (age[ok] >= 10 ** log_age[ok]).all()
    np.testing.assert_allclose(age[ok], 10 ** log_age[ok], rtol=0.1)
    np.testing.assert_allclose(age_err[ok], np.log(10) * age[ok] * log_err[ok], rtol=0.25)
    # non-seismic stars were never seen in training: their ages follow the true ones
    field = ok & (np.asarray(truth["KIC"]) < 0)
    frac = np.asarray(cat["Age"])[field] / truth["AGE"][field] - 1
    assert np.std(frac) < 0.2 and abs(np.median(frac)) < 0.05
    assert np.mean((np.asarray(cat["P_RC"])[field] >= 0.5) == (truth["EVOLSTATE"][field] == "RC")) > 0.95


def test_csv_matches_fits(workspace):
    ws, _, summary, cat = workspace
    csv = Table.read(summary.csv_output, format="ascii.csv")
    assert summary.csv_output == ws.paths.catalog_csv and csv.colnames == cat.colnames and len(csv) == len(cat)
    np.testing.assert_allclose(np.ma.filled(csv["LogAge"].astype(float), np.nan),
                               np.ma.filled(cat["LogAge"], np.nan), rtol=1e-6, equal_nan=True)


def test_rebuild_is_byte_identical_and_output_option(workspace, tmp_path):
    ws, _, _, _ = workspace
    out = tmp_path / "ages.fits"
    assert main(["catalog", str(ws.root), "-o", str(out), "--no-progress"]) == 0
    assert (tmp_path / "ages.csv.gz").read_bytes() == ws.paths.catalog_csv.read_bytes()


def test_a_stars_catalog_age_does_not_depend_on_the_chunk_size(workspace, tmp_path):
    ws, *_ = workspace
    for size in (100, 1000):
        assert main(["catalog", str(ws.root), "-o", str(tmp_path / f"c{size}.fits"), "--chunk-size", str(size),
                     "--no-progress"]) == 0
    assert (tmp_path / "c100.csv.gz").read_bytes() == (tmp_path / "c1000.csv.gz").read_bytes()
    assert (tmp_path / "c100.csv.gz").read_bytes() == ws.paths.catalog_csv.read_bytes()


def test_the_star_inspectors_posterior_gives_the_catalog_age(workspace):
    ws, _, _, cat = workspace
    workspace_view = StarView(Workspace(ws.root))
    for row in (0, 5, 700):
        trees = workspace_view.age_posterior(cat["APOGEE_ID"][row])
        assert abs(trees.mean() - cat["Age"][row]) <= 1e-9 * cat["Age"][row]
        assert abs(trees.std() - cat["Age_Error"][row]) <= 1e-9 * cat["Age_Error"][row]


def test_missing_model_or_wrong_latent_dim_fail_cleanly(tmp_path, capsys):
    ws, _ = make_workspace(tmp_path / "a", n_stars=300, n_seismic=250)
    assert main(["catalog", str(ws.root)]) == 2
    assert "latentexplorer ages" in capsys.readouterr().err
    assert not ws.paths.catalog.exists()
    train_age_model(ws, n_train=100, n_trees=5, progress=False)
    four, _ = make_workspace(tmp_path / "b", n_stars=300, n_seismic=250, latent_dim=4)
    (four.root / "forest").symlink_to(ws.paths.forest)
    with pytest.raises(ValueError, match="latent dimensions"):
        build_catalog(four, progress=False)
    assert not four.paths.catalog.exists()
