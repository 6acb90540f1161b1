"""The age model over a workspace: cuts, training and persistence, and the workspace audits."""

import json
import shutil

import h5py
import numpy as np
import pytest
from astropy.table import Table
from synthetic_workspace import AGE_REL_ERR, make_workspace

from latentexplorer.ages import (
    REFERENCE_SETS,
    AgeFlag,
    AgeModel,
    audit_workspace,
    encoder_training_ids,
    load_inputs,
    match_rows,
    selection_flags,
    train_age_model,
)

N_TREES = 30


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    ws, truth = make_workspace(tmp_path_factory.mktemp("ws"), spectra=True)
    summary = train_age_model(ws, n_train=400, n_trees=N_TREES, seed=0, progress=False)
    return ws, truth, summary


def test_selection_flags_follow_the_paper_cuts():
    nan = np.nan
    #                 good   low logg  mid logg  low S/N  no Teff  no [Fe/H]  no latent  high logg
    logg = np.array([3.0, 1.4, 2.0, 3.0, 3.0, 3.0, 3.0, 3.7])
    snr = np.array([100, 100, 100, 30, 100, 100, 100, 100.0])
    teff = np.array([4800, 4800, 4800, 4800, nan, 4800, 4800, 4800])
    fe_h = np.array([0.0, 0.0, 0.0, 0.0, 0.0, nan, 0.0, 0.0])
    has_latent = np.array([1, 1, 1, 1, 1, 1, 0, 1], bool)
    flags = selection_flags(logg, snr, teff, np.full(8, 50.0), fe_h, np.full(8, 0.01), has_latent)
    F = AgeFlag
    assert flags.tolist() == [0, F.LATENT_LOGG | F.AGE_LOGG, F.AGE_LOGG, F.LOW_SNR, F.NO_TEFF, F.NO_FE_H,
                              F.NO_LATENT, F.LATENT_LOGG | F.AGE_LOGG]
    # a missing error counts as a missing value
    assert selection_flags([3.0], [100], [4800], [nan], [0.0], [0.01], [True]).tolist() == [F.NO_TEFF]


def test_match_rows_finds_first_occurrence_and_marks_absent():
    assert match_rows(["b", "x", "a"], ["a", "b", "b"]).tolist() == [1, -1, 0]


def test_inputs_are_row_matched_and_cut(trained):
    ws, truth, _ = trained
    inputs = load_inputs(ws)
    assert len(inputs) == len(truth)
    assert inputs.features.shape == (len(truth), 7)
    assert inputs.flags[-1] == AgeFlag.NO_LATENT  # the last star is not in latent.h5
    assert np.isnan(inputs.z_mean[-1]).all() and np.isfinite(inputs.z_mean[:-1]).all()
    np.testing.assert_allclose(inputs.features[:-1, 5], truth["TEFF"][:-1], rtol=1e-6)


def test_training_writes_model_and_disjoint_star_lists(trained):
    ws, _, summary = trained
    train_ids = (ws.forest / "training_ids.txt").read_text().split()
    cal_ids = (ws.forest / "calibration_ids.txt").read_text().split()
    assert len(train_ids) == summary.n_train == 400
    # 30 % of the 500 non-training seismic stars calibrate, the rest test
    assert (summary.n_calibration, summary.n_test) == (150, 350)
    assert not set(train_ids) & set(cal_ids)
    meta = json.loads((ws.forest / "metadata.json").read_text())
    assert meta["features"] == ["z0", "z1", "z2", "z3", "z4", "TEFF", "FE_H"]
    assert meta["n_train"] == 400 and meta["n_trees"] == N_TREES


def test_held_out_ages_are_accurate_and_calibrated(trained):
    _, _, summary = trained
    test = summary.test
    # the latent space holds log age exactly at fixed [Fe/H]: what is left is the 15 % label noise
    assert test["overall"]["scatter"] < 1.6 * AGE_REL_ERR
    assert abs(test["overall"]["bias"]) < 0.04
    assert 0.75 < test["pull_width_mad"] < 1.25
    assert summary.calibration_scale < 1.0  # the raw tree spread overestimates the error, as in the paper
    assert test["misclassification_rate"] < 0.05


def test_saved_model_reloads_and_same_seed_gives_same_model(trained, tmp_path):
    ws, _, _ = trained
    model = AgeModel.load(ws.forest)
    X = load_inputs(ws).features[:50]
    again, _ = make_workspace(tmp_path, spectra=False)
    train_age_model(again, n_train=400, n_trees=N_TREES, seed=0, progress=False)
    other = AgeModel.load(again.forest)
    np.testing.assert_array_equal(model.regressor.predict(X), other.regressor.predict(X))
    assert model.regressor.calibration_scale_ == other.regressor.calibration_scale_


def test_too_few_stars_and_missing_files_raise_clear_errors(trained, tmp_path):
    ws, _, _ = trained
    with pytest.raises(ValueError, match="n_train=900"):
        train_age_model(ws, n_train=900, progress=False)
    with pytest.raises(ValueError, match="n_trees"):
        train_age_model(ws, n_trees=0, progress=False)
    with pytest.raises(FileNotFoundError, match="allStar"):
        train_age_model(tmp_path / "nowhere", progress=False)
    small, _ = make_workspace(tmp_path / "small", n_stars=50, n_seismic=30)
    small.latent.unlink()
    with pytest.raises(FileNotFoundError, match="run `latentexplorer encode`"):
        train_age_model(small, progress=False)
    with pytest.raises(FileNotFoundError, match="run `latentexplorer ages`"):
        AgeModel.load(tmp_path / "forest")


def test_audits_show_no_leakage_for_latent_but_leakage_for_spectra(trained):
    ws, _, _ = trained
    audits = audit_workspace(ws, n_trees=20, progress=False)
    fid = audits.fiducial
    assert fid.n_train == 400  # the saved model's split size
    assert not fid.leakage.leaks and fid.leakage.p_value > 0.01
    # the spectra carry [α/M] in their pixels, and a forest on them uses it
    assert audits.baseline.leakage.leaks and audits.baseline.leakage.slope > 3 * audits.baseline.leakage.slope_err
    assert audits.seismic["numax"].scatter < 0.05
    assert audits.evolstate.misclassification_rate < 0.05
    numbers = audits.to_dict()
    assert json.loads(json.dumps(numbers))["ages"]["latent+teff+fe_h"]["n_test"] == fid.n_test


def test_reference_audits_score_the_seismic_parameters_on_the_latent_split(trained):
    ws, _, _ = trained
    audits = audit_workspace(ws, n_trees=20, baseline=False, progress=False)
    assert set(audits.references) == set(REFERENCE_SETS)
    seismic = audits.references["seismic"]
    assert seismic.features == ("log_numax", "log_deltanu") and seismic.age_features == ("teff", "fe_h")
    assert np.array_equal(seismic.age.test_index, audits.fiducial.test_index)
    assert seismic.seismic["numax"].scatter < 0.02  # ν_max predicted from itself (1 % errors resampled)
    assert audits.references["aspcap"].features == ("teff", "logg", "fe_h", "c_n")
    assert json.loads(json.dumps(audits.to_dict()))["references"]["seismic"]["age"]["n_test"] == audits.fiducial.n_test


def test_audits_never_score_a_star_the_encoder_trained_on(trained, tmp_path):
    ws, _, _ = trained
    seismic = Table.read(ws.seismic)
    ids = np.asarray(seismic["APOGEE_ID"]).astype(str)
    assert not ws.model.exists() and not ws.pairs.exists()  # a synthetic workspace: latents without a model
    ws.model.mkdir()
    n_val = round(0.3 * ids.size)
    (ws.model / "metadata.json").write_text(json.dumps(
        {"training": {"n_train": ids.size - n_val, "n_val": n_val, "config": {"validation_fraction": 0.3, "seed": 4}}}))
    with h5py.File(ws.pairs, "w") as f:
        f["APOGEE_ID"] = ids.astype("S")
    try:
        seen = encoder_training_ids(ws)
        assert seen.size == ids.size - n_val
        audits = audit_workspace(ws, n_trees=20, baseline=False, progress=False)
        tested = audits.sample.apogee_id
        for audit in (audits.fiducial, audits.evolstate, audits.seismic["numax"], audits.references["seismic"].age):
            assert audit.test_index.size > 20 and not np.isin(tested[audit.test_index], seen).any()
        assert np.isin(tested[audits.fiducial.train_index], seen).all()  # the forests train on the others
        assert "never trained on" in audits.info["holdout"]
    finally:
        shutil.rmtree(ws.model)
        ws.pairs.unlink()


def test_the_age_model_calibrates_and_tests_on_stars_new_to_the_encoder(tmp_path):
    ws, _ = make_workspace(tmp_path / "ws")
    ids = np.asarray(Table.read(ws.seismic)["APOGEE_ID"]).astype(str)
    ws.model.mkdir()
    (ws.model / "metadata.json").write_text(json.dumps(
        {"training": {"n_train": ids.size - 300, "n_val": 300, "config": {"validation_fraction": 300 / ids.size,
                                                                          "seed": 1}}}))
    with h5py.File(ws.pairs, "w") as f:
        f["APOGEE_ID"] = ids.astype("S")
    seen = encoder_training_ids(ws)
    train_age_model(ws, n_train=250, n_trees=10, progress=False)
    trained_on = (ws.forest / "training_ids.txt").read_text().split()
    calibrated_on = (ws.forest / "calibration_ids.txt").read_text().split()
    assert np.isin(trained_on, seen).all() and not np.isin(calibrated_on, seen).any()
    assert "never trained on" in json.loads((ws.forest / "metadata.json").read_text())["holdout"]
