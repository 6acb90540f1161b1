"""The encoder-decoder's two runtimes: the Keras class (:class:`latentexplorer.ved.VariationalEncoderDecoder`) and
the NumPy engine (:class:`latentexplorer.ved.engine.InferenceEngine`), loaded from one saved model.

Both hold one contract, :class:`latentexplorer.ved.runtime.EncoderDecoderRuntime` — shapes, dtypes, units, the
PowerSpectrum of decoded spectra, the refusals and their messages — tested once over both; then the two agree
with each other; then what the engine alone does: read the ``.keras`` file without TensorFlow, and refuse
damaged or foreign model directories with one error naming the file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import astropy.units as u
import numpy as np
import pytest
from test_ved import FIT, make_pairs

from latentexplorer.powerspectrum import PowerSpectrum
from latentexplorer.ved import VariationalEncoderDecoder
from latentexplorer.ved.engine import InferenceEngine
from latentexplorer.ved.keras_file import read_keras_file
from latentexplorer.ved.numpy_network import UnsupportedModelError
from latentexplorer.ved.persistence import METADATA_FILE, MODEL_FILE, SCALER_FILE
from latentexplorer.ved.runtime import EncoderDecoderRuntime
from latentexplorer.ved.scaling import check_spectra

#: How close the NumPy engine stays to Keras (relative and absolute; the Jacobian's relative to its largest entry).
TOL = 1e-5
LOADERS = {"keras": VariationalEncoderDecoder.load, "numpy": InferenceEngine.load}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(Keras model as fitted, its directory, spectra not seen in training), trained 2 epochs on toy pairs."""
    spectra, log_psd, numax = make_pairs()
    ids = np.array([f"2M{i:08d}" for i in range(len(spectra))])
    ved = VariationalEncoderDecoder().fit(spectra, log_psd, numax, ids=ids, **FIT)
    directory = ved.save(tmp_path_factory.mktemp("runtimes") / "model")
    return ved, directory, make_pairs(n=12, seed=5)[0]


@pytest.fixture(scope="module")
def loaded(saved):
    """Both runtimes, each loaded from the saved directory."""
    return {name: load(saved[1]) for name, load in LOADERS.items()}


@pytest.fixture(params=list(LOADERS))
def runtime(request, loaded):
    return loaded[request.param]


@pytest.fixture(scope="module")
def engine(loaded):
    return loaded["numpy"]


@pytest.fixture(scope="module")
def keras_runtime(loaded):
    return loaded["keras"]


def copy_model(saved, tmp_path):
    """A copy of the saved directory that a test may damage."""
    target = tmp_path / "model"
    target.mkdir(parents=True)
    for path in saved[1].iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


# --- the contract, held by both runtimes -----------------------------------------------------------------------
def test_both_runtimes_inherit_the_one_contract_unchanged(runtime):
    assert isinstance(runtime, EncoderDecoderRuntime)
    for method in ("encode", "decode", "reconstruct", "jacobian"):
        assert getattr(type(runtime), method) is getattr(EncoderDecoderRuntime, method)


def test_encode_gives_float32_latent_means_and_widths_per_spectrum(saved, runtime):
    spectra = saved[2]
    z, z_std = runtime.encode(spectra)
    assert z.dtype == z_std.dtype == np.float32 and z.shape == z_std.shape == (12, 5)
    assert np.all(z_std > 0)
    np.testing.assert_array_equal(runtime.encode(spectra[3])[0][0], z[3])  # one spectrum: its row of a batch
    np.testing.assert_array_equal(runtime.encode(spectra, batch_size=5)[0], z)


def test_a_sampled_encoding_is_a_seeded_draw_around_the_mean(saved, runtime):
    spectra = saved[2][:5]
    z, z_std = runtime.encode(spectra)
    draw, draw_std = runtime.encode(spectra, sample=True, seed=3)
    np.testing.assert_array_equal(draw_std, z_std)
    offsets = (draw - z) / z_std  # z_mean + z_std · N(0, 1): standardised offsets are O(1), not zero
    assert draw.dtype == np.float32 and 0 < np.abs(offsets).max() < 6
    np.testing.assert_array_equal(runtime.encode(spectra, sample=True, seed=3)[0], draw)


def test_decode_gives_a_stack_of_power_spectra_on_the_model_grid(runtime):
    z = np.random.default_rng(2).normal(0.0, 3.0, (9, 5)).astype(np.float32)
    ps = runtime.decode(z)
    assert isinstance(ps, PowerSpectrum) and ps.is_stack and ps.shape == (9, runtime.frequency.size)
    assert ps.log_power.dtype == np.float32 and ps.meta == {"source": "decoded"}
    assert ps.frequency.unit == u.uHz
    np.testing.assert_array_equal(ps.frequency.value, runtime.frequency)
    one = runtime.decode(z[4])  # one latent vector → a stack of one
    assert one.shape == (1, runtime.frequency.size)
    np.testing.assert_allclose(one.log_power[0], ps.log_power[4], rtol=TOL, atol=TOL)


def test_reconstruct_decodes_the_latent_means(saved, runtime):
    spectra = saved[2][:5]
    rec = runtime.reconstruct(spectra, batch_size=4)
    assert isinstance(rec, PowerSpectrum) and rec.shape == (5, 2092) and rec.meta == {"source": "decoded"}
    np.testing.assert_allclose(np.asarray(rec), np.asarray(runtime.decode(runtime.encode(spectra)[0])),
                               rtol=1e-5, atol=1e-6)


def test_the_jacobian_is_per_spectrum_and_independent_of_the_batch(saved, runtime):
    spectra = saved[2][:3]
    jac = runtime.jacobian(spectra, batch_size=2)
    assert jac.dtype == np.float32 and jac.shape == (3, 5, 7514) and np.abs(jac).max() > 0
    np.testing.assert_allclose(jac[2], runtime.jacobian(spectra[2])[0], rtol=1e-5, atol=1e-8)


def test_no_spectra_give_empty_results_of_the_same_shapes(runtime):
    none = np.zeros((0, 7514), np.float32)
    z, z_std = runtime.encode(none)
    assert z.shape == z_std.shape == (0, 5) and z.dtype == z_std.dtype == np.float32
    assert runtime.decode(np.zeros((0, 5))).shape == runtime.reconstruct(none).shape == (0, runtime.frequency.size)
    jac = runtime.jacobian(none)
    assert jac.shape == (0, 5, 7514) and jac.dtype == np.float32


def test_nan_pixels_are_bad_pixels_set_to_the_continuum(saved, runtime):
    bad = saved[2][:3].copy()
    bad[0, 1990:2010] = np.nan  # on the toy spectral line
    bad[2, ::7] = np.nan
    filled = np.where(np.isnan(bad), np.float32(1.0), bad)
    np.testing.assert_array_equal(runtime.encode(bad)[0], runtime.encode(filled)[0])
    np.testing.assert_array_equal(runtime.jacobian(bad), runtime.jacobian(filled))


def test_bad_spectra_are_refused_with_the_input_checks_message(saved, runtime):
    spectra = saved[2]
    all_nan = spectra[:3].copy()
    all_nan[1] = np.nan
    for method in (runtime.encode, runtime.jacobian, runtime.reconstruct):
        for wrong in (spectra[:, :100], np.full((2, 7514), np.inf), all_nan):
            with pytest.raises(ValueError) as ours:
                method(wrong)
            with pytest.raises(ValueError) as theirs:
                check_spectra(wrong)
            assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match=r"shape \(n, 7514\)"):
        runtime.encode(spectra[:, :8575 - 2000])
    with pytest.raises(ValueError, match=r"1 spectra are entirely NaN \(rows \[1\]\)"):
        runtime.encode(all_nan)


def test_bad_latent_vectors_and_batch_sizes_are_refused(saved, runtime):
    with pytest.raises(ValueError, match=r"z must have shape \(n, 5\)"):
        runtime.decode(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="non-finite"):
        runtime.decode([0, 0, np.nan, 0, 0])
    for call in (lambda: runtime.decode(np.zeros((2, 5)), batch_size=0),
                 lambda: runtime.encode(saved[2], batch_size=0), lambda: runtime.jacobian(saved[2], batch_size=0)):
        with pytest.raises(ValueError, match="batch_size must be ≥ 1, got 0"):
            call()


def test_an_untrained_model_refuses_every_inference_call(saved):
    untrained = VariationalEncoderDecoder()
    for call in (lambda: untrained.encode(saved[2]), lambda: untrained.decode(np.zeros((1, 5))),
                 lambda: untrained.reconstruct(saved[2]), lambda: untrained.jacobian(saved[2])):
        with pytest.raises(ValueError, match="not trained: call fit"):
            call()


def test_the_attributes_are_those_saved_with_the_model(saved, runtime):
    ved = saved[0]
    assert runtime.frequency.dtype == np.float64
    np.testing.assert_array_equal(runtime.frequency, ved.frequency)
    assert (runtime.latent_dim, runtime.n_pixels) == (ved.latent_dim, ved.n_pixels) == (5, 7514)
    metadata = json.loads((saved[1] / METADATA_FILE).read_text())
    assert runtime.history_ == metadata["history"] and runtime.training_ == metadata["training"]
    assert runtime.training_["epochs_run"] == 2 and len(runtime.history_["loss"]) == 2
    assert runtime.training_["fingerprint"] == ved.training_["fingerprint"]
    np.testing.assert_array_equal(runtime.record_.train_ids, ved.record_.train_ids)
    np.testing.assert_array_equal(runtime.scaler_.mean, ved.scaler_.mean)
    np.testing.assert_array_equal(runtime.scaler_.std, ved.scaler_.std)
    assert "trained on" in repr(runtime)


# --- the NumPy engine equals Keras ------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_size", [1, 5, 512])
def test_encode_equals_keras_for_any_batch_size(saved, engine, keras_runtime, batch_size):
    spectra = saved[2]
    z, z_std = engine.encode(spectra, batch_size=batch_size)
    z_k, z_std_k = keras_runtime.encode(spectra)
    np.testing.assert_allclose(z, z_k, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(z_std, z_std_k, rtol=TOL, atol=TOL)
    assert np.ptp(z, axis=0).min() > 1e-3  # the latents differ between stars: a real comparison


def test_sampled_encoding_draws_as_keras_does(saved, engine, keras_runtime):
    spectra = saved[2]
    a = engine.encode(spectra, sample=True, seed=4)[0]
    np.testing.assert_allclose(a, keras_runtime.encode(spectra, sample=True, seed=4)[0], rtol=TOL, atol=TOL)
    assert not np.allclose(a, engine.encode(spectra)[0])


def test_decode_equals_keras(engine, keras_runtime):
    z = np.random.default_rng(2).normal(0.0, 3.0, (9, 5)).astype(np.float32)
    ps, ps_k = engine.decode(z), keras_runtime.decode(z)
    np.testing.assert_allclose(np.asarray(ps), np.asarray(ps_k), rtol=TOL, atol=TOL)
    assert np.ptp(np.asarray(ps_k), axis=1).min() > 1e-3  # not a flat output: every pixel is compared


def test_reconstruct_equals_keras(saved, engine, keras_runtime):
    spectra = saved[2]
    np.testing.assert_allclose(np.asarray(engine.reconstruct(spectra, batch_size=4)),
                               np.asarray(keras_runtime.reconstruct(spectra)), rtol=TOL, atol=TOL)


@pytest.mark.parametrize("batch_size", [1, 32])
def test_jacobian_equals_gradient_tape(saved, engine, keras_runtime, batch_size):
    spectra = saved[2][:4]
    jac, jac_k = engine.jacobian(spectra, batch_size=batch_size), keras_runtime.jacobian(spectra)
    scale = np.abs(jac_k).max()
    assert scale > 0
    assert np.abs(jac - jac_k).max() <= TOL * scale


def test_spectra_with_nan_pixels_encode_and_differentiate_as_in_keras(saved, engine, keras_runtime):
    bad = saved[2][:3].copy()
    bad[0, 1990:2010] = np.nan
    bad[2, ::7] = np.nan
    np.testing.assert_allclose(engine.encode(bad)[0], keras_runtime.encode(bad)[0], rtol=TOL, atol=TOL)
    jac_k = keras_runtime.jacobian(bad)
    np.testing.assert_allclose(engine.jacobian(bad), jac_k, rtol=0, atol=TOL * np.abs(jac_k).max())


def test_engine_threads_change_nothing_and_blas_threads_are_restored(saved, engine, monkeypatch):
    from threadpoolctl import threadpool_info

    import latentexplorer.ved.engine as engine_module

    spectra = saved[2][:6]
    before = [lib["num_threads"] for lib in threadpool_info()]
    parallel = engine.jacobian(spectra, batch_size=1)
    assert [lib["num_threads"] for lib in threadpool_info()] == before
    monkeypatch.setattr(engine_module, "THREADS", 1)
    np.testing.assert_array_equal(engine.jacobian(spectra, batch_size=1), parallel)


# --- the engine without TensorFlow ---------------------------------------------------------------------------------
def test_the_engine_runs_without_importing_tensorflow_or_keras(saved):
    code = (
        "import sys, numpy as np\n"
        "from latentexplorer.ved.engine import InferenceEngine\n"
        f"e = InferenceEngine.load({str(saved[1])!r})\n"
        "x = np.ones((2, 7514), np.float32)\n"
        "e.reconstruct(x); e.decode(e.encode(x)[0]); e.jacobian(x)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))\n"
        "assert not bad, bad[:5]\n"
        "assert 'latentexplorer.ved.model' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


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


# --- model directories refused, with one error naming the file -----------------------------------------------------
@pytest.mark.parametrize("runtime_name", list(LOADERS))
def test_a_directory_lacking_files_gives_one_error_naming_them(saved, tmp_path, runtime_name):
    load = LOADERS[runtime_name]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load(tmp_path / "nowhere")
    for name in (SCALER_FILE, MODEL_FILE, METADATA_FILE):
        model = copy_model(saved, tmp_path / name)
        (model / name).unlink()
        with pytest.raises(FileNotFoundError, match=f"{model} lacks {name}"):
            load(model)


@pytest.mark.parametrize("runtime_name", list(LOADERS))
def test_a_pixel_scaler_of_another_model_is_refused(saved, tmp_path, runtime_name):
    model = copy_model(saved, tmp_path)
    with np.load(model / SCALER_FILE) as scaler:
        np.savez(model / SCALER_FILE, mean=scaler["mean"], std=scaler["std"] * np.float32(1.01))
    with pytest.raises(ValueError, match=f"{model / SCALER_FILE} is not the pixel scaler .* was saved with"):
        LOADERS[runtime_name](model)


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
