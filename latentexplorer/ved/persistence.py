"""Saving and loading a trained encoder-decoder: a directory with three files, no pickle.

``model.keras``
    The Keras 3 native file of :func:`.network.build_network` (plain layers only, loads in safe mode).
``pixel_scaler.npz``
    ``mean`` and ``std`` (n_pixels,) float32 of the pixel standardisation (read with ``allow_pickle=False``).
``metadata.json``
    ``format_version``, package/Keras/TensorFlow versions, ``latent_dim``, ``n_pixels``, the ``frequency``
    grid (μHz), hyper-parameters, training configuration and summary, ``history``, the SHA-256
    ``fingerprint`` of the training data and ``pixel_scaler_sha256``, the SHA-256 of the scaler's arrays
    (:func:`scaler_fingerprint`): a ``pixel_scaler.npz`` copied from another model is refused on loading.
    Models saved before it existed carry none; their scaler is loaded unchecked.
``training_record.json``
    The APOGEE_IDs of the training and validation pairs (:mod:`latentexplorer.ved.record`),
    when the model was fitted with them.

Each file is written atomically; ``metadata.json`` last, so a directory with metadata is complete.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..constants import APOGEE_N_PIXELS
from ..io.atomic import atomic_output
from .record import RECORD_FILE, TrainingRecord, read_training_record, write_training_record

__all__ = ["FORMAT_VERSION", "MODEL_FILE", "SCALER_FILE", "METADATA_FILE", "SCALER_FINGERPRINT", "ModelFiles",
           "data_fingerprint", "scaler_fingerprint", "write_model", "read_model_files", "read_model"]

FORMAT_VERSION = 1  # bump when a saved directory can no longer be read by older code
MODEL_FILE = "model.keras"
SCALER_FILE = "pixel_scaler.npz"
METADATA_FILE = "metadata.json"
#: The metadata key of :func:`scaler_fingerprint`.
SCALER_FINGERPRINT = "pixel_scaler_sha256"


def data_fingerprint(*arrays) -> str:
    """SHA-256 hex digest over the shapes, dtypes and bytes of ``arrays`` (order matters)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()


def scaler_fingerprint(mean, std) -> str:
    """SHA-256 hex digest of a pixel scaler: :func:`data_fingerprint` of its ``mean`` and ``std`` as float32."""
    return data_fingerprint(np.asarray(mean, np.float32), np.asarray(std, np.float32))


def write_model(directory, network, mean, std, metadata: dict, record=None) -> Path:
    """Write the files into ``directory`` (created if needed), the metadata stamped with the format version
    and the scaler's :func:`scaler_fingerprint`; returns the directory. ``record``: the
    :class:`~latentexplorer.ved.record.TrainingRecord`, or None (then any old record is removed)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if record is not None:
        write_training_record(directory, record)
    else:
        (directory / RECORD_FILE).unlink(missing_ok=True)
    with atomic_output(directory / MODEL_FILE, suffix=".keras") as tmp:
        network.save(tmp)
    with atomic_output(directory / SCALER_FILE, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, mean=np.asarray(mean, np.float32), std=np.asarray(std, np.float32))
    with atomic_output(directory / METADATA_FILE) as tmp:
        tmp.write_text(json.dumps({"format_version": FORMAT_VERSION, **metadata,
                                   SCALER_FINGERPRINT: scaler_fingerprint(mean, std)}, indent=1))
    return directory


class ModelFiles(NamedTuple):
    """What a saved model directory holds beside its network (read without Keras)."""

    directory: Path
    metadata: dict
    mean: np.ndarray  #: (n_pixels,) float32 pixel means
    std: np.ndarray  #: (n_pixels,) float32 pixel standard deviations
    record: TrainingRecord | None

    @property
    def frequency(self) -> np.ndarray:
        """The PSD grid (k,) μHz the model was trained on."""
        return np.asarray(self.metadata["frequency"], dtype=float)


def read_model_files(directory, frequency=None) -> ModelFiles:
    """Read and cross-check everything of a saved model directory but the network itself — what both
    :func:`read_model` (Keras) and :class:`latentexplorer.ved.engine.InferenceEngine` (numpy) need.

    Raises
    ------
    FileNotFoundError
        The directory or one of its three files is missing.
    ValueError
        Unreadable or inconsistent content (the message names the file): metadata that is not a JSON object,
        of a newer format, with a ``latent_dim`` or ``n_pixels`` that is no positive integer or a
        ``frequency`` that is no list of numbers, spectra of another pixel count than APOGEE's gap-removed
        grid, a pixel scaler of another length or whose arrays are not those the metadata's
        ``pixel_scaler_sha256`` records (copied from another model), a grid other than ``frequency``
        (relative tolerance 1e-6), or a training record of another run.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"model directory {directory} does not exist")
    missing = [name for name in (MODEL_FILE, SCALER_FILE, METADATA_FILE) if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(f"model directory {directory} lacks {', '.join(missing)}")
    meta_path = directory / METADATA_FILE
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{meta_path} is not valid JSON: {err}") from None
    if not isinstance(metadata, dict):
        raise ValueError(f"{meta_path} is not a model metadata file")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(f"{directory} holds model format {version!r} (written by latentexplorer "
                         f"{metadata.get('package_version', '?')}); this version reads format ≤ {FORMAT_VERSION}")
    for key in ("latent_dim", "n_pixels", "frequency"):
        if key not in metadata:
            raise ValueError(f"{meta_path} lacks '{key}'")
    for key in ("latent_dim", "n_pixels"):
        value = metadata[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{meta_path}: {key} must be a positive integer, not {value!r}")
    n_pixels = metadata["n_pixels"]
    if n_pixels != APOGEE_N_PIXELS:
        raise ValueError(f"{directory} expects {n_pixels}-pixel spectra, not the "
                         f"{APOGEE_N_PIXELS}-pixel gap-removed APOGEE grid")
    frequency_ok = isinstance(metadata["frequency"], list) and len(metadata["frequency"]) > 1 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in metadata["frequency"])
    if not frequency_ok:
        raise ValueError(f"{meta_path}: frequency must be a list of numbers (the PSD grid in μHz)")
    grid = np.asarray(metadata["frequency"], dtype=float)
    if frequency is not None:
        frequency = np.asarray(frequency, dtype=float)
        if frequency.shape != grid.shape or not np.allclose(frequency, grid, rtol=1e-6, atol=0):
            raise ValueError(f"{directory} was trained on another frequency grid ({grid.size} pixels, "
                             f"{grid[0]:.4g}–{grid[-1]:.4g} μHz) than the one given ({frequency.size} pixels)")
    scaler_path = directory / SCALER_FILE
    try:
        with np.load(scaler_path, allow_pickle=False) as npz:
            mean, std = np.asarray(npz["mean"], np.float32), np.asarray(npz["std"], np.float32)
    except (OSError, ValueError, KeyError, EOFError) as err:
        # numpy's own message about pickled data advises loading it unsafely: never do that
        reason = "it holds pickled objects, which are never loaded" if "pickle" in str(err) else str(err)
        raise ValueError(f"{scaler_path} is not a pixel scaler file (an .npz of mean and std arrays): "
                         f"{reason}") from None
    if mean.shape != (n_pixels,) or std.shape != (n_pixels,):
        raise ValueError(f"{scaler_path}: pixel mean length is {mean.shape[0] if mean.ndim else 0} (std "
                         f"{std.shape[0] if std.ndim else 0}) but the metadata says {n_pixels} pixels")
    if not (np.all(np.isfinite(mean)) and np.all(std > 0)):
        raise ValueError(f"{scaler_path}: pixel mean must be finite and pixel std positive")
    recorded = metadata.get(SCALER_FINGERPRINT)  # None in a model saved before the fingerprint existed
    if recorded is not None and recorded != scaler_fingerprint(mean, std):
        raise ValueError(f"{scaler_path} is not the pixel scaler {directory / MODEL_FILE} was saved with (its "
                         f"SHA-256 differs from {METADATA_FILE}'s {SCALER_FINGERPRINT}: copied from another model?)")
    record = read_training_record(directory) if (directory / RECORD_FILE).exists() else None
    if record is not None and record.fingerprint != metadata.get("training", {}).get("fingerprint", record.fingerprint):
        raise ValueError(f"{directory / RECORD_FILE} belongs to another training run than {directory / MODEL_FILE}")
    return ModelFiles(directory, metadata, mean, std, record)


def read_model(directory, frequency=None):
    """Read and cross-check a saved model directory (:func:`read_model_files`, then the Keras network).

    Returns
    -------
    network : keras.Model, mean, std : (n_pixels,) float32, metadata : dict, record : TrainingRecord or None

    Raises
    ------
    FileNotFoundError, or ValueError as :func:`read_model_files`, for a ``model.keras`` that is damaged or
    names a layer or class Keras does not know, and for a network whose pixel count, latent dimension or
    PSD length differs from the metadata's.
    """
    import keras

    from .keras_file import read_keras_file

    files = read_model_files(directory, frequency)
    metadata = files.metadata
    path = files.directory / MODEL_FILE
    read_keras_file(path)  # checks the archive and its layers without Keras: one line for a damaged file
    try:
        network = keras.saving.load_model(path, compile=False, safe_mode=True)
    except (ValueError, TypeError, KeyError, AttributeError, OSError) as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"{path} cannot be loaded by Keras: {detail}") from None
    encoder, decoder = network.get_layer("encoder"), network.get_layer("decoder")
    checks = {
        "encoder input pixels": (encoder.inputs[0].shape[-1], metadata["n_pixels"]),
        "decoder output pixels": (decoder.outputs[0].shape[-1], files.frequency.size),
        "latent dimensions": (encoder.outputs[0].shape[-1], metadata["latent_dim"]),
    }
    for what, (found, expected) in checks.items():
        if found != expected:
            raise ValueError(f"{files.directory}: {what} is {found} but the metadata says {expected}")
    return network, files.mean, files.std, metadata, files.record
