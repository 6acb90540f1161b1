"""Probabilistic random forest: scikit-learn conformance, recovery of a known function, uncertainties,
calibration, persistence, input validation and per-star (keyed) input noise."""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import skops.io
from scipy.special import ndtri
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from latentexplorer.ages.forest import (ProbabilisticRandomForestClassifier, ProbabilisticRandomForestRegressor,
    log_age_to_gyr, robust_width)
from latentexplorer.ages.noise import keyed_standard_normal, star_keys

NOISE = 0.1  # label noise (units of y) of the synthetic problem

# Bootstrapping (as in sklearn's RandomForestRegressor, which xfails the same check) makes integer
# sample weights differ from repeated rows: a repeated row can be drawn more often than its weight says.
_BOOTSTRAP_REASON = "sample_weight is not equivalent to removing/repeating samples under bootstrapping"


def _expected_failed_checks(estimator):
    return {"check_sample_weight_equivalence_on_dense_data": _BOOTSTRAP_REASON}


@parametrize_with_checks(
    [
        ProbabilisticRandomForestRegressor(n_estimators=5, random_state=0),
        ProbabilisticRandomForestClassifier(n_estimators=5, random_state=0),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def truth(X):
    return np.sin(2.0 * X[:, 0]) + X[:, 1] ** 2


def problem(n, seed):
    """Inputs in [-1, 1]^4 (two irrelevant), noiseless truth, labels with N(0, NOISE) noise."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, (n, 4))
    f = truth(X)
    return X, f, f + NOISE * rng.standard_normal(n)


@pytest.fixture(scope="module")
def fitted():
    X, _, y = problem(1200, seed=1)
    return ProbabilisticRandomForestRegressor(60, min_samples_leaf=3, random_state=0).fit(
        X, y, y_err=np.full(y.size, NOISE)
    )


def test_recovers_known_function(fitted):
    X, f, _ = problem(2000, seed=2)
    rms = np.sqrt(np.mean((fitted.predict(X) - f) ** 2))
    assert rms < 0.08  # well under the label noise of 0.1 it was trained on
    assert rms < 0.15 * np.std(f)


def test_posterior_mean_and_spread_are_predict_and_predict_std(fitted):
    X, _, _ = problem(50, seed=3)
    post = fitted.predict_posterior(X)
    assert post.shape == (50, 60)
    mean, std = fitted.predict(X, return_std=True)
    np.testing.assert_allclose(post.mean(axis=1), mean, rtol=1e-12)
    np.testing.assert_allclose(post.std(axis=1), std, rtol=1e-12)
    np.testing.assert_allclose(fitted.predict_std(X), std, rtol=1e-12)


def test_calibration_brings_pull_width_to_one():
    X, _, y = problem(1200, seed=4)
    forest = ProbabilisticRandomForestRegressor(60, random_state=0).fit(X, y, y_err=np.full(y.size, NOISE))
    X_cal, _, y_cal = problem(800, seed=5)
    X_test, _, y_test = problem(2000, seed=6)
    err = np.full(2000, NOISE)

    def pull_width():
        mean, std = forest.predict(X_test, return_std=True)
        return robust_width((mean - y_test) / np.sqrt(err**2 + std**2))

    raw = pull_width()
    forest.calibrate(X_cal, y_cal, y_err=err[:800])
    assert raw < 0.85  # the tree spread overestimates, as the paper found (0.75)
    assert forest.calibration_scale_ < 1.0
    assert pull_width() == pytest.approx(1.0, abs=0.08)


def test_calibration_stretches_posterior_about_its_mean(fitted):
    X, _, _ = problem(30, seed=7)
    forest = copy.deepcopy(fitted)
    forest.calibration_scale_ = 0.5
    np.testing.assert_allclose(forest.predict_std(X), 0.5 * fitted.predict_std(X), rtol=1e-12)
    np.testing.assert_allclose(forest.predict_posterior(X).mean(axis=1), fitted.predict(X), rtol=1e-12)
    np.testing.assert_allclose(forest.predict_std(X, calibrated=False), fitted.predict_std(X), rtol=1e-12)


def test_input_noise_at_prediction_widens_spread(fitted):
    X, _, _ = problem(500, seed=8)
    quiet = fitted.predict_std(X)
    noisy = fitted.predict_std(X, X_err=np.array([0.3, 0.3, 0.0, 0.0]))
    assert np.median(noisy / quiet) > 1.3


def test_input_noise_in_training_widens_spread():
    X, _, y = problem(1200, seed=9)
    X_test, _, _ = problem(500, seed=10)
    plain = ProbabilisticRandomForestRegressor(40, random_state=0).fit(X, y)
    noisy = ProbabilisticRandomForestRegressor(40, random_state=0).fit(X, y, X_err=np.full(X.shape, 0.3))
    assert np.median(noisy.predict_std(X_test) / plain.predict_std(X_test)) > 1.2


@pytest.mark.parametrize(
    ("label_weighting", "expected"),
    [("inverse_error", 10 / 110), ("inverse_variance", 100 / 10100), (None, 0.5)],
)
def test_label_weighting(label_weighting, expected):
    # One input value, so every tree is a single leaf: the weighted mean of its bootstrap's labels.
    # Half the stars have y = 0 ± 0.01, half y = 1 ± 0.1.
    n = 2000
    y = np.repeat([0.0, 1.0], n // 2)
    y_err = np.repeat([0.01, 0.1], n // 2)
    forest = ProbabilisticRandomForestRegressor(30, label_weighting=label_weighting, random_state=0)
    forest.fit(np.zeros((n, 1)), y, y_err=y_err)
    assert forest.predict(np.zeros((1, 1)))[0] == pytest.approx(expected, abs=0.03)


def test_same_seed_same_forest_and_threads_do_not_change_it():
    X, _, y = problem(400, seed=11)
    X_err = np.full(X.shape, 0.05)
    one = ProbabilisticRandomForestRegressor(20, random_state=3).fit(X, y, X_err=X_err)
    two = ProbabilisticRandomForestRegressor(20, random_state=3, n_jobs=2).fit(X, y, X_err=X_err)
    np.testing.assert_array_equal(one.predict_posterior(X, X_err=X_err), two.predict_posterior(X, X_err=X_err))
    other = ProbabilisticRandomForestRegressor(20, random_state=4).fit(X, y, X_err=X_err)
    assert not np.array_equal(one.predict(X), other.predict(X))


def test_save_load_round_trip(fitted, tmp_path):
    X, _, _ = problem(100, seed=12)
    forest = copy.deepcopy(fitted)
    forest.calibration_scale_ = 0.7
    loaded = ProbabilisticRandomForestRegressor.load(forest.save(tmp_path / "forest.skops"))
    np.testing.assert_array_equal(loaded.predict_posterior(X), forest.predict_posterior(X))
    np.testing.assert_array_equal(loaded.predict_std(X), forest.predict_std(X))


class NotAForest:
    """Stands for any object a file might smuggle in."""


def test_load_refuses_untrusted_types_and_wrong_class(tmp_path):
    path = tmp_path / "other.skops"
    skops.io.dump(NotAForest(), path)
    with pytest.raises(ValueError, match=r"not trusted: .*NotAForest"):
        ProbabilisticRandomForestRegressor.load(path)
    skops.io.dump(make_pipeline(StandardScaler()), path)  # types skops trusts by default, wrong class
    with pytest.raises(ValueError, match="holds a Pipeline, not a ProbabilisticRandomForestRegressor"):
        ProbabilisticRandomForestRegressor.load(path)
    clf = ProbabilisticRandomForestClassifier(3, random_state=0).fit(np.arange(10.0)[:, None], np.arange(10) % 2)
    clf.save(tmp_path / "clf.skops")
    with pytest.raises(ValueError, match="not a ProbabilisticRandomForestRegressor"):
        ProbabilisticRandomForestRegressor.load(tmp_path / "clf.skops")
    with pytest.raises(FileNotFoundError):
        ProbabilisticRandomForestRegressor.load(tmp_path / "missing.skops")


def test_nan_input_raises_naming_the_column(fitted):
    X = pd.DataFrame(problem(20, seed=13)[0], columns=["z0", "z1", "teff", "fe_h"])
    forest = ProbabilisticRandomForestRegressor(5, random_state=0).fit(X, truth(X.to_numpy()))
    X.loc[3, "teff"] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or inf in teff \(1 rows\)"):
        forest.predict(X)
    with pytest.raises(ValueError, match="y contains NaN"):
        forest.fit(X.fillna(0.0), np.where(np.arange(20) == 2, np.nan, 1.0))


def test_missing_propagate_gives_nan_rows_and_predicts_the_rest(fitted):
    X, _, _ = problem(10, seed=14)
    X_err = np.full(X.shape, 0.01)
    bad = X.copy()
    bad[2, 1] = np.nan
    bad_err = X_err.copy()
    bad_err[5, 0] = np.nan
    forest = copy.deepcopy(fitted).set_params(missing="propagate")
    mean, std = forest.predict(bad, X_err=bad_err, return_std=True)
    assert np.isnan(mean[[2, 5]]).all() and np.isnan(std[[2, 5]]).all()
    keep = np.setdiff1d(np.arange(10), [2, 5])
    np.testing.assert_allclose(mean[keep], forest.predict(X[keep], X_err=X_err[keep]), rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"X_err": np.ones((5, 4))}, r"X_err has shape \(5, 4\), which does not match \(50, 4\)"),
        ({"y_err": np.ones(49)}, r"y_err has shape \(49,\), which does not match \(50,\)"),
        ({"y_err": np.zeros(50)}, "y_err must be positive"),
        ({"X_err": -np.ones((50, 4))}, "X_err must be non-negative"),
        ({"sample_weight": np.ones(3)}, r"sample_weight has shape \(3,\)"),
    ],
)
def test_bad_fit_arguments_raise(kwargs, message):
    X, _, y = problem(50, seed=15)
    with pytest.raises(ValueError, match=message):
        ProbabilisticRandomForestRegressor(3).fit(X, y, **kwargs)


def test_wrong_feature_count_at_prediction_raises(fitted):
    with pytest.raises(ValueError, match="4 features"):
        fitted.predict(np.zeros((3, 5)))


def test_works_in_pipeline_and_cross_val_score():
    X, _, y = problem(300, seed=16)
    pipe = make_pipeline(StandardScaler(), ProbabilisticRandomForestRegressor(20, random_state=0))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.7


def test_classifier_votes_and_input_noise_softens_them():
    rng = np.random.default_rng(17)
    X = rng.uniform(-1.0, 1.0, (800, 2))
    state = np.where(X[:, 0] > 0, "RC", "RGB")
    clf = ProbabilisticRandomForestClassifier(40, random_state=0).fit(X, state)
    X_test = rng.uniform(-1.0, 1.0, (400, 2))
    proba = clf.predict_proba(X_test)
    assert list(clf.classes_) == ["RC", "RGB"]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba * 40, np.round(proba * 40), atol=1e-9)  # vote fractions
    assert np.mean(clf.predict(X_test) == np.where(X_test[:, 0] > 0, "RC", "RGB")) > 0.97
    near = np.abs(X_test[:, 0]) < 0.1
    noisy = clf.predict_proba(X_test, X_err=np.array([0.3, 0.0]))
    assert np.mean(noisy[near].max(axis=1)) < np.mean(proba[near].max(axis=1)) - 0.1


def test_log_age_to_gyr():
    age, err = log_age_to_gyr(np.array([0.0, 1.0]), np.array([0.1, 0.05]))
    np.testing.assert_allclose(age, [1.0, 10.0])
    np.testing.assert_allclose(err, [np.log(10) * 0.1, np.log(10) * 10 * 0.05])
    np.testing.assert_allclose(log_age_to_gyr(np.log10(4.0)), 4.0)


# Keyed input noise: a row's noise is a function of its key and the tree, never of the batch.

N_DEVIATES = 100_000  # rows in the statistical checks of the keyed deviates
FIVE_SIGMA = 5.0 / np.sqrt(N_DEVIATES)  # 5σ of a sample mean or correlation of N_DEVIATES unit normals


GAMMA = 0x9E3779B97F4A7C15  # splitmix64's increment


def _mix(z):
    """splitmix64's output function in plain Python integers."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
    return z ^ (z >> 31)


def test_keyed_deviates_follow_their_splitmix64_definition():
    assert _mix(GAMMA) == 0xE220A8397B1DCDAF  # published first output of splitmix64 seeded with 0
    keys = [0, 1, 2**64 - 1, 12345678901234567890]
    for stream in (0, 7, 2**64 - 1):
        states = [_mix(key ^ _mix((stream + GAMMA) % 2**64)) for key in keys]
        u = np.array([[((_mix((state + f * GAMMA) % 2**64) >> 11) + 0.5) * 2.0**-53 for f in (1, 2, 3)]
                      for state in states])
        expected = ndtri(u).astype(np.float32)
        np.testing.assert_array_equal(keyed_standard_normal(np.array(keys, dtype=np.uint64), stream, 3), expected)


def test_keyed_deviates_are_standard_normal():
    z = keyed_standard_normal(np.arange(N_DEVIATES), stream=12345, n_features=4)
    assert z.shape == (N_DEVIATES, 4) and z.dtype == np.float32
    flat = z.ravel().astype(float)  # 4 × N_DEVIATES deviates: 5σ is FIVE_SIGMA / 2 for the mean
    assert abs(flat.mean()) < FIVE_SIGMA / 2
    assert abs(flat.std() - 1.0) < FIVE_SIGMA / 2 / np.sqrt(2.0)  # σ of a sample std is 1 / sqrt(2n)
    assert scipy.stats.kstest(flat, "norm").pvalue > 1e-3


@pytest.mark.parametrize("keys", [np.arange(N_DEVIATES), star_keys(np.arange(N_DEVIATES), seed=0)],
                         ids=["consecutive", "hashed"])
def test_keyed_deviates_are_uncorrelated_between_features_streams_and_neighbouring_keys(keys):
    z = keyed_standard_normal(keys, stream=3, n_features=4).astype(float)
    between_features = np.corrcoef(z.T)[np.triu_indices(4, k=1)]
    assert np.abs(between_features).max() < FIVE_SIGMA
    next_stream = keyed_standard_normal(keys, stream=4, n_features=4).astype(float)
    between_streams = [np.corrcoef(z[:, f], next_stream[:, f])[0, 1] for f in range(4)]
    assert np.abs(between_streams).max() < FIVE_SIGMA
    between_rows = [np.corrcoef(z[:-1, f], z[1:, f])[0, 1] for f in range(4)]
    assert np.abs(between_rows).max() < FIVE_SIGMA


def test_keyed_deviates_are_a_function_of_key_stream_and_feature_only():
    keys = star_keys([f"2M{j:08d}" for j in range(1000)], seed=0)
    z = keyed_standard_normal(keys, stream=11, n_features=5)
    assert len(np.unique(z[:, 0])) == keys.size  # different keys, different deviates
    order = np.random.default_rng(0).permutation(keys.size)
    np.testing.assert_array_equal(keyed_standard_normal(keys[order], 11, 5), z[order])
    np.testing.assert_array_equal(keyed_standard_normal(keys[:1], 11, 5), z[:1])
    np.testing.assert_array_equal(keyed_standard_normal(keys, 11, 2), z[:, :2])
    np.testing.assert_array_equal(keyed_standard_normal(keys.astype(np.int64), 11, 5), z)
    assert not np.array_equal(keyed_standard_normal(keys, 12, 5), z)


def test_keyed_deviates_emit_no_overflow_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        keyed_standard_normal(np.array([2**64 - 1, 0], dtype=np.uint64), 2**64 - 1, 3)


def test_star_keys():
    ids = ["2M00000002+7417074", "2M00000019-1924498", "VESTA"]
    keys = star_keys(ids, seed=0)
    assert keys.dtype == np.uint64 and keys.shape == (3,)
    assert keys[0] == 16389930566456858886  # the 8-byte BLAKE2b of "0:2M00000002+7417074", little-endian
    np.testing.assert_array_equal(star_keys(np.array(ids), seed=0), keys)
    np.testing.assert_array_equal(star_keys(["  2M00000002+7417074 ", "2M00000019-1924498\t", "VESTA   "], 0), keys)
    np.testing.assert_array_equal(star_keys(np.array([b"2M00000002+7417074  ", b"VESTA"]), 0), keys[[0, 2]])
    assert len(set(keys.tolist())) == 3
    other_seed = star_keys(ids, seed=1)
    assert not set(other_seed.tolist()) & set(keys.tolist())
    np.testing.assert_array_equal(star_keys([5, 17], seed=2), star_keys(["5", "17"], seed=2))


@pytest.fixture(scope="module")
def keyed_batch():
    """60 stars with input errors on the relevant features and their keys."""
    X, _, _ = problem(60, seed=20)
    X_err = np.broadcast_to([0.2, 0.2, 0.0, 0.0], X.shape)
    return X, X_err, star_keys([f"star{j}" for j in range(60)], seed=7)


REGRESSOR_OUTPUTS = {
    "mean_and_std": lambda f, X, e, k: np.stack(f.predict(X, X_err=e, return_std=True, noise_keys=k), axis=1),
    "std": lambda f, X, e, k: f.predict_std(X, X_err=e, noise_keys=k),
    "posterior": lambda f, X, e, k: f.predict_posterior(X, X_err=e, noise_keys=k),
}


def _in_chunks(output, forest, X, X_err, keys, size):
    return np.concatenate([output(forest, X[i:i + size], X_err[i:i + size], keys[i:i + size])
                           for i in range(0, len(X), size)])


@pytest.mark.parametrize("name", REGRESSOR_OUTPUTS)
def test_keyed_regressor_outputs_do_not_depend_on_the_batch(fitted, keyed_batch, name):
    X, X_err, keys = keyed_batch
    output = REGRESSOR_OUTPUTS[name]
    forest = copy.deepcopy(fitted)
    forest.calibration_scale_ = 0.7  # the calibrated outputs too
    whole = output(forest, X, X_err, keys)
    order = np.random.default_rng(21).permutation(len(X))
    np.testing.assert_array_equal(output(forest, X[order], X_err[order], keys[order]), whole[order])
    for size in (1, 7, 25):
        np.testing.assert_array_equal(_in_chunks(output, forest, X, X_err, keys, size), whole)
    np.testing.assert_array_equal(output(forest.set_params(n_jobs=2), X, X_err, keys), whole)


def test_keyed_classifier_proba_does_not_depend_on_the_batch(keyed_batch):
    X, X_err, keys = keyed_batch
    rng = np.random.default_rng(22)
    X_train = rng.uniform(-1.0, 1.0, (400, 4))
    clf = ProbabilisticRandomForestClassifier(30, random_state=0).fit(X_train, np.where(X_train[:, 0] > 0, "RC", "RGB"))

    def output(forest, X, X_err, keys):
        return forest.predict_proba(X, X_err=X_err, noise_keys=keys)

    whole = output(clf, X, X_err, keys)
    assert ((whole > 0) & (whole < 1)).any()  # the input noise splits some votes
    order = rng.permutation(len(X))
    np.testing.assert_array_equal(output(clf, X[order], X_err[order], keys[order]), whole[order])
    for size in (1, 7, 25):
        np.testing.assert_array_equal(_in_chunks(output, clf, X, X_err, keys, size), whole)
    np.testing.assert_array_equal(output(clf.set_params(n_jobs=2), X, X_err, keys), whole)
    np.testing.assert_array_equal(clf.predict(X, X_err=X_err, noise_keys=keys), clf.classes_[np.argmax(whole, axis=1)])


def test_noise_keys_stay_with_their_rows_when_missing_rows_are_dropped(fitted, keyed_batch):
    X, X_err, keys = keyed_batch
    bad = X.copy()
    bad[[3, 40], 1] = np.nan
    forest = copy.deepcopy(fitted).set_params(missing="propagate")
    post = forest.predict_posterior(bad, X_err=X_err, noise_keys=keys)
    assert np.isnan(post[[3, 40]]).all()
    keep = np.setdiff1d(np.arange(len(X)), [3, 40])[::-1]  # reversed: only the keys can match the noise
    np.testing.assert_array_equal(post[keep], forest.predict_posterior(X[keep], X_err=X_err[keep], noise_keys=keys[keep]))


def test_keyed_noise_gives_the_same_calibrated_spread_as_batch_noise():
    err = np.array([0.1, 0.1, 0.0, 0.0])  # the relevant inputs are observed with errors
    X, _, y = problem(1200, seed=23)
    forest = ProbabilisticRandomForestRegressor(60, min_samples_leaf=3, random_state=0).fit(
        X, y, X_err=np.broadcast_to(err, X.shape), y_err=np.full(y.size, NOISE))
    rng = np.random.default_rng(24)
    X_cal, _, y_cal = problem(1500, seed=25)
    X_test, _, y_test = problem(3000, seed=26)
    X_cal = X_cal + err * rng.standard_normal(X_cal.shape)
    X_test = X_test + err * rng.standard_normal(X_test.shape)
    forest.calibrate(X_cal, y_cal, y_err=np.full(1500, NOISE), X_err=err,
                     noise_keys=star_keys(np.arange(1500), seed=1))
    keyed_mean, keyed_std = forest.predict(X_test, X_err=err, return_std=True,
                                           noise_keys=star_keys(np.arange(1500, 4500), seed=1))
    batch_mean, batch_std = forest.predict(X_test, X_err=err, return_std=True)
    assert np.median(keyed_std / forest.predict_std(X_test)) > 1.1  # the keyed noise does widen the spread
    # The two differ only by the noise draws: each star's spread over 60 trees scatters by ~9 %, so
    # their means over 3000 stars agree to ~0.2 %; 2 % leaves a wide margin.
    assert keyed_std.mean() == pytest.approx(batch_std.mean(), rel=0.02)

    def pull_width(mean, std):
        return robust_width((mean - y_test) / np.sqrt(NOISE**2 + std**2))

    # The robust width of 3000 pulls scatters by ~1.6 %.
    assert pull_width(keyed_mean, keyed_std) == pytest.approx(1.0, abs=0.08)
    assert pull_width(keyed_mean, keyed_std) == pytest.approx(pull_width(batch_mean, batch_std), abs=0.05)


@pytest.mark.parametrize(
    "noise_keys", [np.arange(59), np.arange(60.0), np.arange(120).reshape(60, 2)], ids=["short", "float", "2-D"]
)
def test_bad_noise_keys_raise(fitted, keyed_batch, noise_keys):
    X, X_err, _ = keyed_batch
    message = r"noise_keys must be an integer array of shape \(60,\)"
    with pytest.raises(ValueError, match=message):
        fitted.predict(X, X_err=X_err, noise_keys=noise_keys)
    clf = ProbabilisticRandomForestClassifier(3, random_state=0).fit(X, X[:, 0] > 0)
    with pytest.raises(ValueError, match=message):
        clf.predict_proba(X, X_err=X_err, noise_keys=noise_keys)
