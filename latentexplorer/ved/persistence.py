"""Saving and loading a trained encoder-decoder: a directory with three files, no pickle.

``model.keras``
    The Keras 3 native file of :func:`.network.build_network` (plain layers only, loads in safe mode).
``pixel_scaler.npz``
    ``mean`` and ``std`` (n_pixels,) float32 of the pixel standardisation (read with ``allow_pickle=False``).
``metadata.json``
    ``format_version``, package/Keras/TensorFlow versions, ``latent_dim``, ``n_pixels``, the ``frequency``
    grid (μHz), hyper-parameters, training configuration and summary, ``history`` and the SHA-256
    ``fingerprint`` of the training data.
``training_record.json``
    The APOGEE_IDs of the training and validation pairs (:mod:`latentexplorer.io.training_record`),
    when the model was fitted with them.

Each file is written atomically; ``metadata.json`` last, so a directory with metadata is complete.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import keras
import numpy as np

from ..io.atomic import atomic_output
from ..io.training_record import RECORD_FILE, read_training_record, write_training_record

__all__ = ["FORMAT_VERSION", "MODEL_FILE", "SCALER_FILE", "METADATA_FILE", "data_fingerprint",
           "write_model", "read_model"]

FORMAT_VERSION = 1  # bump when a saved directory can no longer be read by older code
MODEL_FILE = "model.keras"
SCALER_FILE = "pixel_scaler.npz"
METADATA_FILE = "metadata.json"


def data_fingerprint(*arrays) -> str:
    """SHA-256 hex digest over the shapes, dtypes and bytes of ``arrays`` (order matters)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()


def write_model(directory, network: keras.Model, mean, std, metadata: dict, record=None) -> Path:
    """Write the files into ``directory`` (created if needed); returns the directory. ``record``: the
    :class:`~latentexplorer.io.training_record.TrainingRecord`, or None (then any old record is removed)."""
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
        tmp.write_text(json.dumps({"format_version": FORMAT_VERSION, **metadata}, indent=1))
    return directory


def read_model(directory, frequency=None):
    """Read and cross-check a saved model directory.

    Parameters
    ----------
    directory : path
    frequency : (k,) array, μHz, optional
        If given, the stored grid must equal it (relative tolerance 1e-6).

    Returns
    -------
    network : keras.Model, mean, std : (n_pixels,) float32, metadata : dict, record : TrainingRecord or None

    Raises
    ------
    FileNotFoundError
        The directory or one of its files is missing.
    ValueError
        Unreadable or inconsistent content: a newer format, another pixel count or frequency grid
        than the network's, or a grid other than ``frequency``.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"model directory {directory} does not exist")
    missing = [name for name in (MODEL_FILE, SCALER_FILE, METADATA_FILE) if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(f"model directory {directory} lacks {', '.join(missing)}")
    try:
        metadata = json.loads((directory / METADATA_FILE).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{directory / METADATA_FILE} is not valid JSON: {err}") from None
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(f"{directory} holds model format {version!r} (written by latentexplorer "
                         f"{metadata.get('package_version', '?')}); this version reads format ≤ {FORMAT_VERSION}")
    for key in ("latent_dim", "n_pixels", "frequency"):
        if key not in metadata:
            raise ValueError(f"{directory / METADATA_FILE} lacks '{key}'")
    with np.load(directory / SCALER_FILE, allow_pickle=False) as npz:
        mean, std = npz["mean"], npz["std"]
    network = keras.saving.load_model(directory / MODEL_FILE, compile=False, safe_mode=True)
    grid = np.asarray(metadata["frequency"], dtype=float)
    n_pixels = metadata["n_pixels"]
    encoder, decoder = network.get_layer("encoder"), network.get_layer("decoder")
    checks = {
        "pixel mean length": (mean.shape[0], n_pixels),
        "pixel std length": (std.shape[0], n_pixels),
        "encoder input pixels": (encoder.inputs[0].shape[-1], n_pixels),
        "decoder output pixels": (decoder.outputs[0].shape[-1], grid.size),
        "latent dimensions": (encoder.outputs[0].shape[-1], metadata["latent_dim"]),
    }
    for what, (found, expected) in checks.items():
        if found != expected:
            raise ValueError(f"{directory}: {what} is {found} but the metadata says {expected}")
    if frequency is not None:
        frequency = np.asarray(frequency, dtype=float)
        if frequency.shape != grid.shape or not np.allclose(frequency, grid, rtol=1e-6, atol=0):
            raise ValueError(f"{directory} was trained on another frequency grid ({grid.size} pixels, "
                             f"{grid[0]:.4g}–{grid[-1]:.4g} μHz) than the one given ({frequency.size} pixels)")
    record = read_training_record(directory) if (directory / RECORD_FILE).exists() else None
    if record is not None and record.fingerprint != metadata.get("training", {}).get("fingerprint", record.fingerprint):
        raise ValueError(f"{directory / RECORD_FILE} belongs to another training run than {directory / MODEL_FILE}")
    return network, mean, std, metadata, record
