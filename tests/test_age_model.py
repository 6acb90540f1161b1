"""The age model over a workspace: cuts, training, persistence, prediction, and the workspace audits."""

import json
import shutil

import numpy as np
import pytest
from synthetic_workspace import AGE_REL_ERR, make_workspace

from latentexplorer.ages.model import AgeModel
from latentexplorer.steps.ages import train_age_model
from latentexplorer.audits.workspace import REFERENCE_SETS, audit_workspace
from latentexplorer.ved.record import TrainingRecord, write_training_record
from latentexplorer.match import match_ids
from latentexplorer.selection import AgeFlag, selection_flags
from latentexplorer.workspace import Workspace

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


def test_match_ids_finds_first_occurrence_ignores_padding_and_marks_absent():
    assert match_ids(["b", "x", "a "], ["a", "b", "b"]).tolist() == [1, -1, 0]
    assert match_ids([3, 7], [7, 1, 3]).tolist() == [2, 0]


def test_inputs_are_row_matched_and_cut(trained):
    ws, truth, _ = trained
    inputs = Workspace(ws.root).age_inputs
    assert len(inputs) == len(truth)
    assert inputs.features.shape == (len(truth), 7)
    assert inputs.flags[-1] == AgeFlag.NO_LATENT  # the last star is not in latent.h5
    assert np.isnan(inputs.z_mean[-1]).all() and np.isfinite(inputs.z_mean[:-1]).all()
    np.testing.assert_allclose(inputs.features[:-1, 5], truth["TEFF"][:-1], rtol=1e-6)


def test_training_writes_model_and_disjoint_star_lists(trained):
    ws, _, summary = trained
    train_ids = (ws.paths.forest / "training_ids.txt").read_text().split()
    cal_ids = (ws.paths.forest / "calibration_ids.txt").read_text().split()
    assert len(train_ids) == summary.n_train == 400
    # 30 % of the 500 non-training seismic stars calibrate, the rest test
    assert (summary.n_calibration, summary.n_test) == (150, 350)
    assert not set(train_ids) & set(cal_ids)
    meta = json.loads((ws.paths.forest / "metadata.json").read_text())
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


def test_summary_line_quotes_robust_scatter_and_median_bias_overall_and_by_state(trained):
    _, _, summary = trained
    line = str(summary)
    overall = summary.test["true_ages"]["overall"]  # a mock workspace: scored against the true ages
    assert "against the true ages" in line
    assert f"robust scatter {overall['robust_scatter']:.1%}, median bias {overall['median_bias']:+.1%}" in line
    assert "RC robust scatter" in line and "RGB robust scatter" in line
    assert "standard deviation" not in line and " scatter " not in line.replace("robust scatter ", "")


def test_by_default_ages_do_not_depend_on_the_latent_errors(trained):
    """Trained without input noise (the default), a star's age is a function of its latent means, Teff and
    [Fe/H]: a wider z_std changes neither its age nor its RC/RGB vote."""
    ws, _, _ = trained
    w = Workspace(ws.root)
    model, inputs = w.age_model, w.age_inputs.take(np.arange(50))
    assert model.metadata["input_noise"] is False and model.metadata["classifier_features"][-2:] == ["TEFF", "FE_H"]
    wider = inputs.take(np.arange(50))
    wider.z_std[:] = 3.0 * inputs.z_std
    a, b = model.predict(inputs), model.predict(wider)
    np.testing.assert_array_equal(a.log_age, b.log_age)
    np.testing.assert_array_equal(a.p_rc, b.p_rc)


def test_with_input_noise_the_trees_see_each_stars_errors(trained, tmp_path):
    ws, _, _ = trained
    noisy = tmp_path / "noisy"
    shutil.copytree(ws.root, noisy)
    train_age_model(noisy, n_train=400, n_trees=N_TREES, seed=0, progress=False, input_noise=True)
    w = Workspace(noisy)
    model, inputs = w.age_model, w.age_inputs.take(np.arange(50))
    assert model.metadata["input_noise"] is True
    wider = inputs.take(np.arange(50))
    wider.z_std[:] = 3.0 * inputs.z_std
    assert not np.array_equal(model.predict(inputs).log_age, model.predict(wider).log_age)


def test_saved_model_reloads_and_same_seed_gives_same_model(trained, tmp_path):
    ws, _, _ = trained
    model = AgeModel.load(ws.paths.forest)
    inputs = Workspace(ws.root).age_inputs.take(slice(0, 50))
    again, _ = make_workspace(tmp_path, spectra=False)
    train_age_model(again, n_train=400, n_trees=N_TREES, seed=0, progress=False)
    other = AgeModel.load(again.paths.forest)
    np.testing.assert_array_equal(model.predict(inputs).log_age, other.predict(inputs).log_age)
    assert model.regressor.calibration_scale_ == other.regressor.calibration_scale_


def test_a_stars_age_does_not_depend_on_the_stars_predicted_with_it(trained):
    ws, _, _ = trained
    model, inputs = AgeModel.load(ws.paths.forest), Workspace(ws.root).age_inputs
    together = model.predict(inputs.take(slice(0, 40)))
    for row in (0, 17, 39):
        alone = model.predict(inputs.take([row]))
        for name, values in together.as_dict().items():
            assert getattr(alone, name)[0] == values[row], name


def test_age_and_its_error_are_the_mean_and_spread_of_the_tree_ages(trained):
    ws, _, _ = trained
    model, inputs = AgeModel.load(ws.paths.forest), Workspace(ws.root).age_inputs.take(slice(0, 20))
    trees = 10.0 ** model.posterior(inputs)
    prediction = model.predict(inputs)
    np.testing.assert_allclose(prediction.age, trees.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(prediction.age_err, trees.std(axis=1), rtol=1e-12)
    np.testing.assert_allclose(prediction.log_age, np.log10(trees).mean(axis=1), rtol=1e-12)
    # the mean of 10**x exceeds 10**mean(x) by ≈ (ln 10 σ)² / 2: a few per cent at σ ≈ 0.1–0.2 dex
    assert (prediction.age > 10 ** prediction.log_age).all()


def test_prediction_refuses_inputs_named_otherwise_than_the_model_was_trained_on(trained):
    ws, _, _ = trained
    model = AgeModel.load(ws.paths.forest)
    model.metadata = {**model.metadata, "features": ["z0", "z1", "z2", "z3", "z4", "TEFF", "M_H"]}
    with pytest.raises(ValueError, match="M_H"):
        model.predict(Workspace(ws.root).age_inputs.take(slice(0, 5)))


def test_too_few_stars_and_missing_files_raise_clear_errors(trained, tmp_path):
    ws, _, _ = trained
    with pytest.raises(ValueError, match="n_train=900"):
        train_age_model(ws, n_train=900, progress=False)
    with pytest.raises(ValueError, match="n_trees"):
        train_age_model(ws, n_trees=0, progress=False)
    with pytest.raises(FileNotFoundError, match="nowhere does not exist"):  # its forest/'s lock cannot be taken
        train_age_model(tmp_path / "nowhere", progress=False)
    small, _ = make_workspace(tmp_path / "small", n_stars=50, n_seismic=30)
    small.paths.latent.unlink()
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


def _record_encoder_training(ws, n_validation, seed) -> np.ndarray:
    """Write a training record saying the encoder trained on all seismic stars but ``n_validation``
    random ones; returns the IDs it trained on."""
    ids = np.asarray(Workspace(ws.root).seismic["APOGEE_ID"]).astype(str)
    validation = np.random.default_rng(seed).permutation(ids.size)[:n_validation]
    seen = np.delete(ids, validation)
    ws.paths.model.mkdir()
    write_training_record(ws.paths.model, TrainingRecord(seen, ids[validation], "synthetic"))
    return seen


def test_audits_never_score_a_star_the_encoder_trained_on(trained):
    ws, _, _ = trained
    assert not ws.paths.model.exists()  # a synthetic workspace: latents without a model
    seen = _record_encoder_training(ws, 270, seed=4)
    try:
        audits = audit_workspace(ws, n_trees=20, baseline=False, progress=False)
        tested = audits.sample.apogee_id
        for audit in (audits.fiducial, audits.evolstate, audits.seismic["numax"], audits.references["seismic"].age):
            assert audit.test_index.size > 20 and not np.isin(tested[audit.test_index], seen).any()
        assert np.isin(tested[audits.fiducial.train_index], seen).all()  # the forests train on the others
        assert "never trained on" in audits.info["holdout"]
    finally:
        shutil.rmtree(ws.paths.model)


def test_the_age_model_calibrates_and_tests_on_stars_new_to_the_encoder(tmp_path):
    ws, _ = make_workspace(tmp_path / "ws")
    seen = _record_encoder_training(ws, 300, seed=1)
    train_age_model(ws, n_train=250, n_trees=10, progress=False)
    trained_on = (ws.paths.forest / "training_ids.txt").read_text().split()
    calibrated_on = (ws.paths.forest / "calibration_ids.txt").read_text().split()
    assert np.isin(trained_on, seen).all() and not np.isin(calibrated_on, seen).any()
    assert "never trained on" in json.loads((ws.paths.forest / "metadata.json").read_text())["holdout"]


def test_stars_outside_the_training_sample_get_an_out_of_distribution_flag(trained):
    """Stars drawn outside the training ranges keep an age but carry AGE_FLAG 64 (latent) or 128 (labels)."""
    ws, _, _ = trained
    model = AgeModel.load(ws.paths.forest)
    inputs = ws.age_inputs
    aged = np.flatnonzero(inputs.has_age_inputs)
    assert np.mean(model.ood_flags(inputs.take(aged)) != 0) < 0.03  # the survey's own stars: inside
    star = inputs.take(aged[:4])
    star.z_mean[1] += 4.0 * np.nanstd(inputs.z_mean[aged], axis=0)  # far from every training star
    star.allstar["TEFF"][2] = 3500.0  # cooler than any training star
    star.allstar["FE_H"][3] = -2.0  # more metal-poor than any
    flags = model.ood_flags(star)
    F = AgeFlag
    assert flags.tolist()[1:] == [F.OUT_OF_SUPPORT, F.OUTSIDE_LABEL_RANGE, F.OUTSIDE_LABEL_RANGE]
    prediction = model.predict(star)
    assert np.isfinite(prediction.age).all()  # the age is kept; the flag says not to trust it
    np.testing.assert_array_equal(prediction.ood_flags, flags)


def test_a_model_trained_on_another_survey_treats_every_star_as_new(trained, tmp_path):
    ws, _, _ = trained
    root = tmp_path / "ws"
    shutil.copytree(ws.paths.root, root)
    other = np.array([f"2M9{i:07d}+1111111" for i in range(500)])
    (root / "model").mkdir()
    write_training_record(root / "model", TrainingRecord(other[:450], other[450:], "f" * 64))
    train_age_model(root, n_train=400, n_trees=5, seed=0, progress=False)
    metadata = json.loads((root / "forest" / "metadata.json").read_text())
    assert metadata["holdout"].startswith("Every seismic star is new to the encoder")


def test_a_forest_of_an_older_format_is_one_line_asking_to_rerun_ages(trained, tmp_path):
    """Format 3 forests name their classes by the module before ages/ (skops stores class paths): refused."""
    from latentexplorer.ages.files import read_forest

    ws, _, _ = trained
    old = tmp_path / "forest"
    shutil.copytree(ws.paths.forest, old)
    metadata = json.loads((old / "metadata.json").read_text())
    (old / "metadata.json").write_text(json.dumps({**metadata, "format": "latentexplorer.forest/3"}))
    line = r"forest/ was written by an older latentexplorer \(format 3\); rerun `latentexplorer ages`$"
    for read in (AgeModel.load, read_forest):
        with pytest.raises(ValueError, match=line):
            read(old)
