"""The age forest as plain arrays: the same per-tree posterior as the sklearn forest, bit for bit, without
importing scikit-learn; tree_arrays.npz written with the forest, and a clear error when it is damaged."""

import subprocess
import sys

import numpy as np
import pytest

from latentexplorer.ages.forest import ProbabilisticRandomForestClassifier, ProbabilisticRandomForestRegressor
from latentexplorer.ages.noise import star_keys
from latentexplorer.ages.files import TREE_ARRAYS_FILE, read_tree_arrays, write_forest
from latentexplorer.ages.support import TrainingSupport
from latentexplorer.ages.trees import TreeArrays, forest_arrays


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4)) * [1.0, 10.0, 0.1, 3.0]
    y = X[:, 0] + 0.1 * X[:, 1] - 5 * X[:, 2] + 0.1 * rng.standard_normal(300)
    X_err = np.abs(rng.normal(0.05, 0.02, X.shape)) * [1.0, 10.0, 0.1, 3.0]
    y_err = np.full(300, 0.1)
    forest = ProbabilisticRandomForestRegressor(12, max_depth=9, random_state=1, missing="propagate")
    forest.fit(X[:200], y[:200], X_err=X_err[:200], y_err=y_err[:200])
    forest.calibrate(X[200:], y[200:], y_err=y_err[200:], X_err=X_err[200:])
    assert forest.calibration_scale_ != 1.0
    X_new = rng.normal(size=(40, 4)) * [1.0, 10.0, 0.1, 3.0]
    X_new_err = np.abs(rng.normal(0.05, 0.02, X_new.shape)) * [1.0, 10.0, 0.1, 3.0]
    keys = star_keys([f"2M{i:08d}" for i in range(40)], seed=7)
    return forest, X_new, X_new_err, keys


def _trees(forest):
    return TreeArrays.from_arrays(forest_arrays(forest))


@pytest.mark.parametrize("noise", ["keys", "batch", "none"])
def test_posterior_equals_predict_posterior_exactly(problem, noise):
    forest, X, X_err, keys = problem
    trees = _trees(forest)
    kwargs = {"keys": {"X_err": X_err, "noise_keys": keys}, "batch": {"X_err": X_err}, "none": {}}[noise]
    for calibrated in (True, False):
        expected = forest.predict_posterior(X, calibrated=calibrated, **kwargs)
        got = trees.posterior(X, calibrated=calibrated, **kwargs)
        assert got.shape == (40, 12)
        np.testing.assert_array_equal(got, expected)
    for row in (0, 17, 39):  # one star at a time, as the star inspector asks
        single = {k: v[row:row + 1] for k, v in kwargs.items()}
        np.testing.assert_array_equal(trees.posterior(X[row:row + 1], **single),
                                      forest.predict_posterior(X[row:row + 1], **single))


def test_non_finite_rows_propagate_as_nan_like_the_forest(problem):
    forest, X, X_err, keys = problem
    X = X.copy()
    X[3, 1] = np.nan
    X_err = X_err.copy()
    X_err[5, 0] = np.inf
    got = _trees(forest).posterior(X, X_err=X_err, noise_keys=keys)
    np.testing.assert_array_equal(got, forest.predict_posterior(X, X_err=X_err, noise_keys=keys))
    assert np.isnan(got[[3, 5]]).all() and np.isfinite(np.delete(got, [3, 5], axis=0)).all()


def test_feature_count_is_checked(problem):
    with pytest.raises(ValueError, match=r"expected \(n_samples, 4\)"):
        _trees(problem[0]).posterior(np.zeros((2, 3)))


def test_modules_do_not_import_sklearn():
    code = ("import sys, latentexplorer.ages.trees, latentexplorer.ages.files; "
            "print('sklearn' in sys.modules, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_written_with_the_forest_and_damage_is_reported(problem, tmp_path):
    forest, X, X_err, keys = problem
    classifier = ProbabilisticRandomForestClassifier(3, random_state=0).fit(X, (X[:, 0] > 0).astype(int))
    support = TrainingSupport.fit(X[:, :2], X[:, 2], X[:, 3])
    directory = write_forest(tmp_path / "forest", forest, classifier, {"features": ["a", "b", "c", "d"], "seed": 7},
                             support=support)
    assert sorted(p.name for p in directory.iterdir() if p.name.startswith(".")) == []  # no temporaries left
    trees = read_tree_arrays(directory)
    np.testing.assert_array_equal(trees.posterior(X, X_err=X_err, noise_keys=keys),
                                  forest.predict_posterior(X, X_err=X_err, noise_keys=keys))

    path = directory / TREE_ARRAYS_FILE
    path.write_bytes(path.read_bytes()[:200])  # truncated
    with pytest.raises(ValueError, match=r"tree_arrays\.npz is not a readable tree-array file"):
        read_tree_arrays(directory)
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"tree_arrays\.npz"):
        read_tree_arrays(directory)
    arrays = forest_arrays(forest)
    arrays["feature"] = arrays["feature"][:-1]  # inconsistent
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=r"tree_arrays\.npz.*inconsistent"):
        read_tree_arrays(directory)
    np.savez(path, objects=np.array([{"a": 1}], dtype=object))  # a pickle inside
    with pytest.raises(ValueError, match=r"tree_arrays\.npz"):
        read_tree_arrays(directory)
    path.unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks tree_arrays\.npz \(rerun `latentexplorer ages`\)"):
        read_tree_arrays(directory)


def test_a_damaged_training_support_file_is_reported(problem, tmp_path):
    from latentexplorer.ages.files import SUPPORT_FILE, read_support

    forest, X, _, _ = problem
    classifier = ProbabilisticRandomForestClassifier(3, random_state=0).fit(X, (X[:, 0] > 0).astype(int))
    directory = write_forest(tmp_path / "forest", forest, classifier, {"features": ["a", "b", "c", "d"], "seed": 7},
                             support=TrainingSupport.fit(X[:, :2], X[:, 2], X[:, 3]))
    assert read_support(directory).z.shape == (len(X), 2)
    (directory / SUPPORT_FILE).write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"support\.npz is not a readable training-support file"):
        read_support(directory)
    (directory / SUPPORT_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="rerun `latentexplorer ages`"):
        read_support(directory)


def _sklearn_tree_values(forest, X, X_err=None, noise_keys=None):
    """Every tree's scikit-learn ``predict`` on its (noisy) float32 copy of X: the reference the arrays must match."""
    from latentexplorer.ages.noise import tree_noise

    X = np.ascontiguousarray(X, dtype=np.float32)
    rows = []
    for tree, seed in zip(forest.estimators_, map(int, forest.estimator_seeds_)):
        Xt = X if X_err is None else X + np.asarray(X_err, np.float32) * tree_noise(seed, X.shape, noise_keys)
        rows.append(tree.predict(Xt, check_input=False))
    return np.array(rows, dtype=float)


@pytest.mark.parametrize("noise", ["keys", "batch", "none"])
def test_the_one_evaluator_gives_scikit_learns_tree_values_bit_for_bit(problem, noise):
    forest, X, X_err, keys = problem
    kwargs = {"keys": {"X_err": X_err, "noise_keys": keys}, "batch": {"X_err": X_err}, "none": {}}[noise]
    np.testing.assert_array_equal(forest.trees_.tree_values(X, **kwargs), _sklearn_tree_values(forest, X, **kwargs))
    labels = np.digitize(X[:, 0], [-0.5, 0.5])  # three classes; some bootstraps miss one
    classifier = ProbabilisticRandomForestClassifier(15, min_samples_leaf=2, random_state=4).fit(X, labels)
    np.testing.assert_array_equal(classifier.trees_.tree_values(X, **kwargs),
                                  _sklearn_tree_values(classifier, X, **kwargs))


def test_forests_compile_their_trees_again_on_loading_and_do_not_save_them(problem, tmp_path):
    import skops.io

    forest, X, X_err, keys = problem
    path = forest.save(tmp_path / "age.skops")
    assert not any("TreeArrays" in t for t in skops.io.get_untrusted_types(file=path))
    loaded = ProbabilisticRandomForestRegressor.load(path)
    assert loaded.trees_ is not forest.trees_ and loaded.trees_.calibration_scale == forest.calibration_scale_
    np.testing.assert_array_equal(loaded.predict_posterior(X, X_err=X_err, noise_keys=keys),
                                  forest.predict_posterior(X, X_err=X_err, noise_keys=keys))
    assert "trees_" in vars(forest)  # saving left the forest as it was
