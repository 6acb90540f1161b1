"""Tests of latentexplorer.ved: loss terms (Eqs. 1, 2), training, persistence, the compiled encoder, the Jacobian
against finite differences, CLI. The inference contract of both runtimes is tests/test_ved_runtimes.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from latentexplorer import cli
from latentexplorer.io.latent import read_latent
from latentexplorer.io.pairs import PairsSet, write_pairs
from latentexplorer.psd import envelope_weights, frequency_grid
from latentexplorer.ved.reference import reference_metadata, reference_model_dir
from latentexplorer.ved import TrainingConfig, VariationalEncoderDecoder, kl_divergence, weighted_mse
from latentexplorer.ved.network import build_encoder, build_network
from latentexplorer.ved.persistence import METADATA_FILE, SCALER_FILE
from latentexplorer.ved.training import CHECKPOINT_NAME

N_PIX = 7514
FIT = dict(epochs=2, batch_size=8, validation_fraction=0.25, seed=0, progress=False)


def make_pairs(n=24, seed=1):
    """Learnable toy pairs: ν_max sets both a spectral feature and the PSD's Gaussian envelope."""
    rng = np.random.default_rng(seed)
    numax = rng.uniform(20.0, 150.0, n)
    s = (np.log(numax) - np.log(55.0))[:, None]
    pixels = np.arange(N_PIX)
    line = np.exp(-0.5 * ((pixels - 2000) / 30.0) ** 2) + np.exp(-0.5 * ((pixels - 5500) / 30.0) ** 2)
    spectra = (1.0 - 0.3 * line * (1 + 0.5 * s) + 0.005 * rng.standard_normal((n, N_PIX))).astype(np.float32)
    freq = frequency_grid()
    log_psd = (np.log(envelope_weights(numax, freq)) * 4.0 + 0.05 * rng.standard_normal((n, freq.size)))
    return spectra, log_psd.astype(np.float32), numax


def write_pairs_file(path, n=24, seed=1, unusable=()):
    """A pairs file of :func:`make_pairs`; the spectra of the rows ``unusable`` all NaN."""
    spectra, log_psd, numax = make_pairs(n, seed)
    spectra[list(unusable)] = np.nan
    ids = np.array([f"2M{i:08d}" for i in range(n)])
    write_pairs(path, PairsSet(ids, np.arange(n), spectra, log_psd, numax, np.full(n, "RGB"), frequency_grid()))
    return path


@pytest.fixture(scope="module")
def pairs():
    return make_pairs()


@pytest.fixture(scope="module")
def trained(pairs, tmp_path_factory):
    ckpt = tmp_path_factory.mktemp("ckpt_full")
    return VariationalEncoderDecoder().fit(*pairs, checkpoint_dir=ckpt, **FIT), ckpt


# --- loss terms ------------------------------------------------------------------------------------
def test_weighted_mse_equals_eq1_by_hand():
    y_true = np.array([[0.0, 1.0, 2.0, 3.0], [1.0, 1.0, 1.0, 1.0]])
    y_pred = np.array([[1.0, 1.0, 0.0, 3.0], [0.0, 1.0, 1.0, 3.0]])
    w = np.array([[1.0, 2.0, 0.5, 1.0], [1.0, 1.0, 1.0, 2.0]])
    # per star, summed over pixels (the batch mean is Eq. 1's 1/N): row 0: 1·1 + 2·0 + 0.5·4 + 1·0 = 3;
    # row 1: 1 + 0 + 0 + 2·4 = 9
    np.testing.assert_allclose(np.asarray(weighted_mse(y_true, y_pred, w)), [3.0, 9.0], rtol=1e-12)


def test_kl_divergence_equals_eq2_by_hand():
    z_mean = np.array([[1.0, 0.0], [0.0, 0.0]])
    z_log_var = np.array([[0.0, np.log(2.0)], [0.0, 0.0]])
    # ½[−(0+1) − (ln2+1) + (1+2) + (1+0)] = 1 − ln2/2; a standard normal has KL 0
    np.testing.assert_allclose(np.asarray(kl_divergence(z_mean, z_log_var)), [1 - np.log(2) / 2, 0.0], atol=1e-12)


# --- training ----------------------------------------------------------------------------------------
def test_tiny_run_lowers_the_loss(trained):
    ved, _ = trained
    h = ved.history_
    assert len(h["loss"]) == 2 and ved.training_["epochs_run"] == 2
    assert h["val_loss"][1] < h["val_loss"][0]
    assert h["loss"][1] < h["loss"][0]
    # total = Eq. 1 + Eq. 2 + the small L2 penalty on kernels
    assert 0 < h["loss"][0] - h["mse"][0] - h["kl"][0] < 0.05


def test_kl_warmup_ramps_the_training_kl_weight_and_defaults_to_the_paper():
    assert [TrainingConfig(epochs=5).kl_weight(e) for e in range(3)] == [1.0, 1.0, 1.0]
    assert [TrainingConfig(epochs=5, kl_warmup_epochs=3).kl_weight(e) for e in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    with pytest.raises(ValueError, match="kl_warmup_epochs"):
        TrainingConfig(epochs=5, kl_warmup_epochs=-1)


def test_kl_warmup_weights_the_training_loss_but_not_the_validation_loss(pairs):
    ved = VariationalEncoderDecoder().fit(*pairs, kl_warmup_epochs=3, **{**FIT, "epochs": 1})
    h = ved.history_
    # epoch 0: β = 1/4 in the training loss; validation always carries the whole KL term
    assert 0 < h["loss"][0] - h["mse"][0] - 0.25 * h["kl"][0] < 0.05
    assert 0 < h["val_loss"][0] - h["val_mse"][0] - h["val_kl"][0] < 0.05
    assert ved.training_["config"]["kl_warmup_epochs"] == 3


def test_kl_beta_weighs_the_kl_term_of_training_and_validation(pairs):
    ved = VariationalEncoderDecoder().fit(*pairs, kl_beta=0.3, **{**FIT, "epochs": 1})
    h = ved.history_
    assert 0 < h["loss"][0] - h["mse"][0] - 0.3 * h["kl"][0] < 0.05
    assert 0 < h["val_loss"][0] - h["val_mse"][0] - 0.3 * h["val_kl"][0] < 0.05
    assert TrainingConfig(epochs=5, kl_beta=0.3, kl_warmup_epochs=1).kl_weight(0) == pytest.approx(0.15)
    with pytest.raises(ValueError, match="kl_beta"):
        TrainingConfig(epochs=5, kl_beta=0.0)


def test_envelope_height_scales_the_gaussian_of_the_pixel_weights():
    freq = frequency_grid()
    peak = np.argmin(np.abs(freq - 100.0))
    assert envelope_weights(freq[peak], freq, height=4.0)[peak] == pytest.approx(5.0)
    assert envelope_weights(freq[peak], freq)[peak] == pytest.approx(2.0)  # the paper's Eq. 1 weights
    np.testing.assert_array_equal(envelope_weights(100.0, freq, height=0.0), 1.0)


def test_paper_objective_is_the_validation_loss_of_the_best_epoch(pairs, trained):
    """Eq. 1 + Eq. 2 on the validation pairs, decoding latent means, is what training monitored (less L2)."""
    from latentexplorer.ved.scores import paper_objective

    ved, _ = trained
    _, val = ved.validation_split(len(pairs[0]), FIT["validation_fraction"], FIT["seed"])
    objective = paper_objective(ved, pairs[0][val], pairs[1][val], pairs[2][val])
    best = int(np.argmin(ved.history_["val_loss"]))
    assert objective["mse"] == pytest.approx(ved.history_["val_mse"][best], rel=1e-4)
    assert objective["kl"] == pytest.approx(ved.history_["val_kl"][best], rel=1e-3)
    assert 0 < ved.history_["val_loss"][best] - objective["loss"] < 0.05


def test_same_seed_builds_the_same_network():
    a, b = (build_network(N_PIX, 2092, 5, seed=7).get_weights() for _ in range(2))
    c = build_network(N_PIX, 2092, 5, seed=8).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_resumed_run_continues_and_matches_an_uninterrupted_run(pairs, trained, tmp_path):
    """Same seed → same weights, also across an interruption: 1 epoch + resume to 2 == 2 epochs."""
    full, _ = trained
    first = VariationalEncoderDecoder().fit(*pairs, checkpoint_dir=tmp_path, **{**FIT, "epochs": 1})
    assert (tmp_path / CHECKPOINT_NAME).is_file() and first.training_["epochs_run"] == 1
    resumed = VariationalEncoderDecoder().fit(*pairs, checkpoint_dir=tmp_path, resume=True, **FIT)
    assert resumed.training_["epochs_run"] == 2
    assert resumed.history_["loss"][0] == first.history_["loss"][0]
    assert resumed.history_["loss"] == full.history_["loss"]
    for a, b in zip(full.network_.get_weights(), resumed.network_.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_resume_refuses_a_checkpoint_of_other_data(pairs, trained):
    _, ckpt = trained
    spectra, log_psd, numax = pairs
    with pytest.raises(ValueError, match="other training data"):
        VariationalEncoderDecoder().fit(spectra, log_psd + 1.0, numax, checkpoint_dir=ckpt, resume=True, **FIT)


# --- inference -----------------------------------------------------------------------------------------
def test_encode_equals_the_keras_encoder_to_float32_precision():
    """The compiled encode (standardisation, convolutions, the fixed-order dense head) against the saved
    Keras encoder's own ``predict`` on standardised spectra: equal to float32 round-off (|Δ| ≤ 2e-6 +
    1e-5 |z|; measured ≈ 7e-7 on latents of size ≈ 2)."""
    ved = VariationalEncoderDecoder.load(reference_model_dir())
    spectra = np.concatenate([make_pairs(n=20, seed=4)[0],
                              1 + 0.02 * np.random.default_rng(3).standard_normal((20, N_PIX))]).astype(np.float32)
    z_mean, z_std = ved.encode(spectra, batch_size=16)
    keras_mean, keras_log_var = ved.network_.get_layer("encoder").predict(ved.scaler_.transform(spectra), verbose=0)
    np.testing.assert_allclose(z_mean, keras_mean, rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(np.log(z_std) * 2, keras_log_var, rtol=1e-5, atol=2e-6)
    assert np.ptp(z_mean, axis=0).min() > 1e-2  # the stars' latents differ: a real comparison


ENCODE_IN_CHILD = """
import sys
import numpy as np
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(int(sys.argv[1]))
tf.config.threading.set_inter_op_parallelism_threads(1)
from latentexplorer.ved import VariationalEncoderDecoder
ved = VariationalEncoderDecoder.load(sys.argv[2])
spectra = np.load(sys.argv[3])
np.savez(sys.argv[4], **{f"{k}{b}": v for b in (1, 16) for k, v in zip(("mean", "std"), ved.encode(spectra, batch_size=b))})
"""


def test_latents_are_bit_identical_on_one_and_two_threads(tmp_path):
    """Two processes with 1 and 2 TensorFlow intra-op (and OpenMP/OpenBLAS) threads encode the same
    spectra, one at a time and in batches of 16: every z_mean and z_std bit is the same — across thread
    counts and across batch sizes (a single float32 matmul over the 60,096 features differs in the
    last bits between 1 and 2 threads for a batch of one)."""
    spectra = np.concatenate([make_pairs(n=20, seed=4)[0],
                              1 + 0.02 * np.random.default_rng(3).standard_normal((20, N_PIX))]).astype(np.float32)
    np.save(tmp_path / "spectra.npy", spectra)
    results = []
    for threads in (1, 2):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
               "TF_CPP_MIN_LOG_LEVEL": "3"}
        out = tmp_path / f"latent{threads}.npz"
        subprocess.run([sys.executable, "-c", ENCODE_IN_CHILD, str(threads), str(reference_model_dir()),
                        str(tmp_path / "spectra.npy"), str(out)], check=True, env=env)
        with np.load(out) as data:
            results.append({k: data[k] for k in data.files})
    one, two = results
    assert one["mean1"].shape == (40, reference_metadata()["latent_dim"]) and np.ptp(one["mean1"], axis=0).min() > 1e-2
    for key in one:
        np.testing.assert_array_equal(one[key], two[key], err_msg=key)
    for key in ("mean", "std"):
        np.testing.assert_array_equal(one[f"{key}1"], one[f"{key}16"], err_msg=key)


def _float64_encoder(ved):
    """z_mean(x) of the trained encoder evaluated in float64 (for finite differences without round-off)."""
    policy, floatx = keras.config.dtype_policy(), keras.config.floatx()
    keras.config.set_floatx("float64")  # Input dtype
    keras.config.set_dtype_policy("float64")  # layer weights and computation
    try:
        encoder = build_encoder(N_PIX, ved.latent_dim)
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)
    encoder.set_weights(ved.network_.get_layer("encoder").get_weights())
    mean, std = ved.scaler_.mean.astype(np.float64), ved.scaler_.std.astype(np.float64)
    return lambda x: np.asarray(encoder(((x - mean) / std)[None])[0])[0]


def test_jacobian_agrees_with_finite_differences(pairs, trained):
    """∂z_mean/∂pixel (float32 graph) against central differences of the same encoder in float64."""
    ved, _ = trained
    x = pairs[0][3].astype(np.float64)
    jac = ved.jacobian(x)[0].astype(np.float64)
    assert jac.shape == (5, N_PIX)
    z = _float64_encoder(ved)
    np.testing.assert_allclose(z(x), ved.encode(x)[0][0], rtol=1e-4, atol=1e-5)
    rng = np.random.default_rng(0)
    v = 1e-6 * ved.scaler_.std * rng.standard_normal(N_PIX)  # a random direction, 1e-6 pixel std
    np.testing.assert_allclose(jac @ v, (z(x + v) - z(x - v)) / 2, rtol=1e-3, atol=1e-3 * np.abs(jac @ v).max())
    for p in np.argsort(np.abs(jac).max(axis=0))[-3:]:  # the most sensitive pixels, one at a time
        h = np.zeros(N_PIX)
        h[p] = 1e-6
        np.testing.assert_allclose(jac[:, p], (z(x + h) - z(x - h)) / 2e-6, rtol=1e-3,
                                   atol=1e-3 * np.abs(jac[:, p]).max())


# --- persistence --------------------------------------------------------------------------------------
def test_save_load_gives_identical_encodings(pairs, trained, tmp_path):
    ved, _ = trained
    ved.save(tmp_path / "model")
    back = VariationalEncoderDecoder.load(tmp_path / "model", frequency=frequency_grid())
    np.testing.assert_array_equal(back.encode(pairs[0])[0], ved.encode(pairs[0])[0])
    np.testing.assert_array_equal(back.decode(np.zeros((1, 5))), ved.decode(np.zeros((1, 5))))
    meta = json.loads((tmp_path / "model" / METADATA_FILE).read_text())
    assert meta["training"]["fingerprint"] == ved.training_["fingerprint"]
    assert len(meta["frequency"]) == 2092
    assert meta["history"]["loss"] == ved.history_["loss"]


def test_load_rejects_mismatched_directories(trained, tmp_path):
    ved, _ = trained
    model = ved.save(tmp_path / "model")
    with pytest.raises(ValueError, match="another frequency grid"):
        VariationalEncoderDecoder.load(model, frequency=frequency_grid()[:-1])
    meta = json.loads((model / METADATA_FILE).read_text())
    (model / METADATA_FILE).write_text(json.dumps({**meta, "frequency": meta["frequency"][:-4]}))
    with pytest.raises(ValueError, match="decoder output pixels"):
        VariationalEncoderDecoder.load(model)
    (model / METADATA_FILE).write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(ValueError, match="format 99"):
        VariationalEncoderDecoder.load(model)
    (model / METADATA_FILE).write_text(json.dumps(meta))
    np.savez(model / SCALER_FILE, mean=np.zeros(8575, np.float32), std=np.ones(8575, np.float32))
    with pytest.raises(ValueError, match="pixel mean length"):
        VariationalEncoderDecoder.load(model)
    (model / SCALER_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=SCALER_FILE):
        VariationalEncoderDecoder.load(model)


# --- bad input --------------------------------------------------------------------------------------------
def test_bad_training_inputs_raise_clear_errors(pairs):
    """Training refuses PSDs on another grid and non-positive ν_max (inference refusals: test_ved_runtimes)."""
    spectra, log_psd, numax = pairs
    with pytest.raises(ValueError, match="another grid"):
        VariationalEncoderDecoder().fit(spectra, log_psd[:, :2000], numax, **FIT)
    with pytest.raises(ValueError, match="numax"):
        VariationalEncoderDecoder().fit(spectra, log_psd, -numax, **FIT)


# --- CLI -------------------------------------------------------------------------------------------------
def test_cli_train_then_encode(tmp_path, capsys):
    pairs_file = write_pairs_file(tmp_path / "pairs.h5", n=20)
    model = tmp_path / "model"
    assert cli.main(["train", str(pairs_file), "-o", str(model), "--epochs", "1", "--batch-size", "8",
                     "--latent-dim", "3", "--validation-fraction", "0.2", "--kl-warmup", "2"]) == 0
    assert "train: 16 training / 4 validation pairs, 1 epochs" in capsys.readouterr().out
    pairs_file = write_pairs_file(tmp_path / "survey.h5", n=20, unusable=[2])  # one unusable spectrum
    out = tmp_path / "latent.h5"
    assert cli.main(["encode", str(model), str(pairs_file), "-o", str(out), "--chunk-size", "7"]) == 0
    assert "encoded 19 of 20 spectra (1 unusable" in capsys.readouterr().out
    ved = VariationalEncoderDecoder.load(model)
    assert ved.training_["config"]["kl_warmup_epochs"] == 2
    latent = read_latent(out)
    ids, z_mean, z_std, flag = latent.apogee_id, latent.z_mean, latent.z_std, latent.flag
    assert ids[5] == "2M00000005" and z_mean.shape == z_std.shape == (20, 3)
    assert np.isnan(z_mean[2]).all() and flag[2] != 0 and np.isfinite(np.delete(z_mean, 2, axis=0)).all()
    spectra = make_pairs(20)[0]
    np.testing.assert_allclose(z_mean[:2], ved.encode(spectra[:2])[0], rtol=1e-5, atol=1e-6)


def test_cli_reports_a_file_that_is_not_a_pairs_file(tmp_path, capsys):
    latent = tmp_path / "latent.h5"
    write_pairs_file(tmp_path / "pairs.h5", n=6)
    assert cli.main(["encode", str(tmp_path / "nomodel"), str(tmp_path / "pairs.h5"), "-o", str(latent)]) == 2
    capsys.readouterr()
    (tmp_path / "notes.h5").write_text("not HDF5")
    assert cli.main(["train", str(tmp_path / "notes.h5"), "-o", str(tmp_path / "m")]) == 2
    assert "notes.h5 is not an HDF5 file" in capsys.readouterr().err


def test_the_saved_model_records_its_training_and_validation_pairs(tmp_path):
    pairs_file = write_pairs_file(tmp_path / "pairs.h5", n=20)
    assert cli.main(["train", str(pairs_file), "-o", str(tmp_path / "model"), "--epochs", "1", "--batch-size", "8",
                     "--validation-fraction", "0.2"]) == 0
    record = VariationalEncoderDecoder.load(tmp_path / "model").record_
    assert record.train_ids.size == 16 and record.validation_ids.size == 4
    assert not set(record.train_ids) & set(record.validation_ids)
    assert set(record.train_ids) | set(record.validation_ids) == {f"2M{i:08d}" for i in range(20)}
    assert record.fingerprint == VariationalEncoderDecoder.load(tmp_path / "model").training_["fingerprint"]


def test_cli_train_rerun_continues_from_the_checkpoint_unless_told_to_restart(tmp_path, capsys):
    """After an interruption `train` says a rerun resumes: by default it does, --restart starts over."""
    pairs_file = write_pairs_file(tmp_path / "pairs.h5", n=20)
    args = ["train", str(pairs_file), "-o", str(tmp_path / "model"), "--batch-size", "8", "--validation-fraction",
            "0.2"]
    assert cli.main(args + ["--epochs", "1"]) == 0
    first = VariationalEncoderDecoder.load(tmp_path / "model").history_["loss"]
    assert cli.main(args + ["--epochs", "2"]) == 0  # continues: epoch 1 is the first run's, one epoch more
    resumed = VariationalEncoderDecoder.load(tmp_path / "model")
    assert resumed.training_["epochs_run"] == 2 and resumed.history_["loss"][0] == first[0]
    assert cli.main(args + ["--epochs", "1", "--restart"]) == 0  # starts over: one epoch again
    assert VariationalEncoderDecoder.load(tmp_path / "model").training_["epochs_run"] == 1
