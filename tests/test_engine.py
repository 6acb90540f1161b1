"""Tests of latentexplorer.ved.engine (the NumPy inference engine) and latentexplorer.ved.keras_file, against the
Keras class on a tiny trained model."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from test_ved import FIT, make_pairs

from latentexplorer.ved.engine import InferenceEngine, UnsupportedModelError
from latentexplorer.ved.keras_file import read_keras_file
from latentexplorer.powerspectrum import PowerSpectrum
from latentexplorer.ved import VariationalEncoderDecoder
from latentexplorer.ved.persistence import METADATA_FILE, MODEL_FILE, SCALER_FILE
from latentexplorer.ved.scaling import check_spectra

TOL = 1e-5


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(Keras model, its directory, spectra not seen in training), trained 2 epochs on toy pairs."""
    spectra, log_psd, numax = make_pairs()
    ids = np.array([f"2M{i:08d}" for i in range(len(spectra))])
    ved = VariationalEncoderDecoder().fit(spectra, log_psd, numax, ids=ids, **FIT)
    directory = ved.save(tmp_path_factory.mktemp("engine") / "model")
    return ved, directory, make_pairs(n=12, seed=5)[0]


@pytest.fixture(scope="module")
def engine(saved):
    return InferenceEngine.load(saved[1])


def copy_model(saved, tmp_path):
    """A copy of the saved directory that a test may damage."""
    target = tmp_path / "model"
    target.mkdir(parents=True)
    for path in saved[1].iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


# --- equality with the Keras class -----------------------------------------------------------------------
@pytest.mark.parametrize("batch_size", [1, 5, 512])
def test_encode_equals_keras_for_any_batch_size(saved, engine, batch_size):
    ved, _, spectra = saved
    z, z_std = engine.encode(spectra, batch_size=batch_size)
    z_k, z_std_k = ved.encode(spectra)
    assert z.dtype == z_std.dtype == np.float32 and z.shape == (12, 5)
    np.testing.assert_allclose(z, z_k, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(z_std, z_std_k, rtol=TOL, atol=TOL)
    assert np.ptp(z, axis=0).min() > 1e-3  # the latents differ between stars: a real comparison


def test_encode_of_one_spectrum_is_its_row_of_a_batch(saved, engine):
    spectra = saved[2]
    np.testing.assert_array_equal(engine.encode(spectra[3])[0][0], engine.encode(spectra)[0][3])


def test_sampled_encoding_draws_around_the_mean_like_keras(saved, engine):
    ved, _, spectra = saved
    a = engine.encode(spectra, sample=True, seed=4)[0]
    b = ved.encode(spectra, sample=True, seed=4)[0]
    np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)
    assert not np.allclose(a, engine.encode(spectra)[0])


def test_decode_equals_keras(saved, engine):
    ved = saved[0]
    z = np.random.default_rng(2).normal(0.0, 3.0, (9, 5)).astype(np.float32)
    ps, ps_k = engine.decode(z), ved.decode(z)
    assert isinstance(ps, PowerSpectrum) and np.asarray(ps).shape == (9, ved.frequency.size)
    assert np.asarray(ps).dtype == np.float32 and ps.meta == ps_k.meta
    np.testing.assert_array_equal(ps.frequency.value, ps_k.frequency.value)
    np.testing.assert_allclose(np.asarray(ps), np.asarray(ps_k), rtol=TOL, atol=TOL)
    assert np.ptp(np.asarray(ps_k), axis=1).min() > 1e-3  # not a flat output: every pixel is compared
    # one latent vector → a stack of one, as the Keras class
    np.testing.assert_allclose(np.asarray(engine.decode(z[4])), np.asarray(ps_k)[4:5], rtol=TOL, atol=TOL)


def test_reconstruct_equals_keras(saved, engine):
    ved, _, spectra = saved
    np.testing.assert_allclose(np.asarray(engine.reconstruct(spectra, batch_size=4)),
                               np.asarray(ved.reconstruct(spectra)), rtol=TOL, atol=TOL)


@pytest.mark.parametrize("batch_size", [1, 32])
def test_jacobian_equals_gradient_tape(saved, engine, batch_size):
    ved, _, spectra = saved
    jac, jac_k = engine.jacobian(spectra[:4], batch_size=batch_size), ved.jacobian(spectra[:4])
    assert jac.dtype == np.float32 and jac.shape == (4, 5, 7514)
    scale = np.abs(jac_k).max()
    assert scale > 0
    assert np.abs(jac - jac_k).max() <= TOL * scale


def test_nan_pixels_are_handled_as_keras_does(saved, engine):
    ved, _, spectra = saved
    bad = spectra[:3].copy()
    bad[0, 1990:2010] = np.nan  # on the toy spectral line
    bad[2, ::7] = np.nan
    np.testing.assert_allclose(engine.encode(bad)[0], ved.encode(bad)[0], rtol=TOL, atol=TOL)
    filled = np.where(np.isnan(bad), np.float32(1.0), bad)
    np.testing.assert_array_equal(engine.encode(bad)[0], engine.encode(filled)[0])
    np.testing.assert_allclose(engine.jacobian(bad), ved.jacobian(bad), rtol=0,
                               atol=TOL * np.abs(ved.jacobian(bad)).max())
    bad[1] = np.nan
    with pytest.raises(ValueError, match=r"1 spectra are entirely NaN \(rows \[1\]\)"):
        engine.encode(bad)


def test_input_checks_equal_those_of_ved_scaling(saved, engine):
    spectra = saved[2].copy()
    spectra[0, :50] = np.nan
    x = check_spectra(spectra)
    np.testing.assert_array_equal(engine.scaler_.transform(x), saved[0].scaler_.transform(x))
    for wrong in (spectra[:, :100], np.full((2, 7514), np.inf)):
        with pytest.raises(ValueError) as ours:
            engine.encode(wrong)
        with pytest.raises(ValueError) as theirs:
            check_spectra(wrong)
        assert str(ours.value) == str(theirs.value)


def test_decode_rejects_bad_latent_vectors(engine):
    with pytest.raises(ValueError, match=r"shape \(n, 5\)"):
        engine.decode(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="non-finite"):
        engine.decode([0, 0, np.nan, 0, 0])
    with pytest.raises(ValueError, match="batch_size"):
        engine.decode(np.zeros((2, 5)), batch_size=0)


def test_attributes_mirror_the_keras_class(saved, engine):
    ved = saved[0]
    loaded = VariationalEncoderDecoder.load(saved[1])
    np.testing.assert_array_equal(engine.frequency, ved.frequency)
    assert (engine.latent_dim, engine.n_pixels) == (ved.latent_dim, ved.n_pixels) == (5, 7514)
    assert engine.history_ == loaded.history_ and engine.training_ == loaded.training_
    assert engine.training_["epochs_run"] == 2 and len(engine.history_["loss"]) == 2
    np.testing.assert_array_equal(engine.record_.train_ids, ved.record_.train_ids)
    np.testing.assert_array_equal(engine.scaler_.std, ved.scaler_.std)
    assert "trained on" in repr(engine)


def test_threads_change_nothing_and_blas_threads_are_restored(saved, engine, monkeypatch):
    from threadpoolctl import threadpool_info

    import latentexplorer.ved.engine as engine_module

    spectra = saved[2][:6]
    before = [lib["num_threads"] for lib in threadpool_info()]
    parallel = engine.jacobian(spectra, batch_size=1)
    assert [lib["num_threads"] for lib in threadpool_info()] == before
    monkeypatch.setattr(engine_module, "THREADS", 1)
    np.testing.assert_array_equal(engine.jacobian(spectra, batch_size=1), parallel)


# --- no TensorFlow ------------------------------------------------------------------------------------------
def test_the_engine_runs_without_importing_tensorflow_or_keras(saved):
    code = (
        "import sys, numpy as np\n"
        "from latentexplorer.ved.engine import InferenceEngine\n"
        f"e = InferenceEngine.load({str(saved[1])!r})\n"
        "x = np.ones((2, 7514), np.float32)\n"
        "e.decode(e.encode(x)[0]); e.jacobian(x)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))\n"
        "assert not bad, bad[:5]\n"
        "assert 'latentexplorer.ved.model' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


# --- the .keras reader ------------------------------------------------------------------------------------
def test_keras_file_weights_are_the_networks_by_layer_name(saved):
    network = saved[0].network_
    kf = read_keras_file(saved[1] / MODEL_FILE)
    assert kf.config["config"]["name"] == network.name and kf.metadata["keras_version"]
    expected = {f"{sub}/{layer.name}": layer.get_weights() for sub in ("encoder", "decoder")
                for layer in network.get_layer(sub).layers if layer.get_weights()}
    assert list(kf.weights) == list(expected)
    assert {"encoder/z_mean", "encoder/z_log_var"} <= set(kf.weights)  # Keras numbers the others per process
    for name, arrays in expected.items():
        assert len(kf.weights[name]) == len(arrays)
        for ours, theirs in zip(kf.weights[name], arrays):
            np.testing.assert_array_equal(ours, theirs)
    classes = [kf.layers[name]["class_name"] for name in kf.weights]
    assert classes.count("Conv1D") == 2 and classes.count("Conv1DTranspose") == 3 and classes.count("Dense") == 4


# --- errors ---------------------------------------------------------------------------------------------------
def test_a_corrupt_model_file_gives_one_error_naming_it(saved, tmp_path):
    model = copy_model(saved, tmp_path)
    path = model / MODEL_FILE
    good = path.read_bytes()
    for damage in (b"not a zip file at all", good[: len(good) // 2]):
        path.write_bytes(damage)
        with pytest.raises(ValueError, match=str(path)):
            InferenceEngine.load(model)
    with zipfile.ZipFile(path, "w") as archive:  # a zip, but no weights
        archive.writestr("config.json", "{}")
        archive.writestr("metadata.json", "{}")
    with pytest.raises(ValueError, match=f"{path}.*lacks model.weights.h5"):
        InferenceEngine.load(model)
    with zipfile.ZipFile(path, "w") as archive:  # weights that are not HDF5
        archive.writestr("config.json", json.dumps(read_keras_file(saved[1] / MODEL_FILE).config))
        archive.writestr("metadata.json", "{}")
        archive.writestr("model.weights.h5", b"\x00" * 1000)
    with pytest.raises(ValueError, match=f"{path}.*not HDF5"):
        InferenceEngine.load(model)


def test_a_model_file_of_another_network_is_refused(saved, tmp_path):
    import keras

    model = copy_model(saved, tmp_path)
    x = keras.Input((7514,))
    foreign = keras.Model(x, keras.layers.Dense(3)(keras.layers.Dense(4)(x)))
    foreign.save(model / MODEL_FILE)
    with pytest.raises(ValueError, match=str(model / MODEL_FILE)):
        InferenceEngine.load(model)
    # the right sub-models and outputs, but a layer the engine does not implement
    x_in = keras.Input((7514,))
    h = keras.layers.Dense(16)(keras.layers.LayerNormalization()(x_in))
    encoder = keras.Model(x_in, [keras.layers.Dense(5, name="z_mean")(h), keras.layers.Dense(5, name="z_log_var")(h)],
                          name="encoder")
    z = keras.Input((5,))
    decoder = keras.Model(z, keras.layers.Dense(2092)(z), name="decoder")
    z_mean, z_log_var = encoder(x)
    keras.Model(x, [z_mean, z_log_var, decoder(z_mean)]).save(model / MODEL_FILE)
    with pytest.raises(UnsupportedModelError, match=f"{model / MODEL_FILE}.*LayerNormalization"):
        InferenceEngine.load(model)


def test_a_directory_lacking_files_gives_one_error_naming_them(saved, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        InferenceEngine.load(tmp_path / "nowhere")
    for name in (SCALER_FILE, MODEL_FILE, METADATA_FILE):
        model = copy_model(saved, tmp_path / name)
        (model / name).unlink()
        with pytest.raises(FileNotFoundError, match=f"{model} lacks {name}"):
            InferenceEngine.load(model)


def test_a_pixel_scaler_of_another_model_is_refused_by_both_runtimes(saved, tmp_path):
    model = copy_model(saved, tmp_path)
    with np.load(model / SCALER_FILE) as scaler:
        np.savez(model / SCALER_FILE, mean=scaler["mean"], std=scaler["std"] * np.float32(1.01))
    for load in (InferenceEngine.load, VariationalEncoderDecoder.load):
        with pytest.raises(ValueError, match=f"{model / SCALER_FILE} is not the pixel scaler .* was saved with"):
            load(model)


def test_files_that_disagree_are_refused(saved, tmp_path):
    model = copy_model(saved, tmp_path)
    engine = InferenceEngine.load(model, frequency=saved[0].frequency)
    with pytest.raises(ValueError, match="another frequency grid"):
        InferenceEngine.load(model, frequency=engine.frequency[:-1])
    meta = json.loads((model / METADATA_FILE).read_text())
    (model / METADATA_FILE).write_text(json.dumps({**meta, "latent_dim": 4}))
    with pytest.raises(ValueError, match="latent dimensions"):
        InferenceEngine.load(model)
    (model / METADATA_FILE).write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(ValueError, match="model format 99"):
        InferenceEngine.load(model)
    (model / METADATA_FILE).write_text(json.dumps(meta))
    np.savez(model / SCALER_FILE, mean=np.zeros(100, np.float32), std=np.ones(100, np.float32))
    with pytest.raises(ValueError, match=f"{model / SCALER_FILE}.*100"):
        InferenceEngine.load(model)
    (model / SCALER_FILE).write_bytes(b"garbage")
    with pytest.raises(ValueError, match=str(model / SCALER_FILE)):
        InferenceEngine.load(model)
