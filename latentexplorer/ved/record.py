"""The encoder-decoder's training record (``MODEL/training_record.json``): which pairs it learnt from.

Format ``latentexplorer.training_record/1`` (JSON): the APOGEE_IDs of the pairs in the gradient steps
(``train_ids``) and of the validation pairs (``validation_ids``, held out of every step), the SHA-256
``fingerprint`` of the training data (spectra, PSDs, ν_max in the order given to ``fit``) and the
fingerprint of each ID list. Audits, the age model and the report read which stars the encoder has seen
from here — never by redrawing the split from a seed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_output
from ..io.hdf5 import format_string
from ..io.json_product import read_json_product

__all__ = ["RECORD_FILE", "RECORD_VERSION", "TrainingRecord", "ids_fingerprint", "write_training_record",
           "read_training_record"]

RECORD_FILE = "training_record.json"
RECORD_VERSION = 1


def ids_fingerprint(ids) -> str:
    """SHA-256 hex digest of a list of identifiers (order matters; blanks stripped)."""
    text = "\n".join(str(i).strip() for i in np.asarray(ids).astype(str))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TrainingRecord:
    """The pairs an encoder-decoder was trained and validated on.

    train_ids, validation_ids : (n,) str APOGEE_IDs; fingerprint : SHA-256 of the training data.
    """

    train_ids: np.ndarray
    validation_ids: np.ndarray
    fingerprint: str

    def __repr__(self) -> str:
        return (f"TrainingRecord({self.train_ids.size} training / {self.validation_ids.size} validation pairs, "
                f"data {self.fingerprint[:12]}…)")

    def seen(self, apogee_ids) -> np.ndarray:
        """(m,) bool: whether each of ``apogee_ids`` was in a gradient step of the encoder-decoder."""
        return np.isin(np.char.strip(np.asarray(apogee_ids).astype(str)), self.train_ids)


def write_training_record(directory, record: TrainingRecord) -> Path:
    """Write ``record`` as ``directory/training_record.json``, atomically; returns its path."""
    path = Path(directory) / RECORD_FILE
    payload = {
        "format": format_string("training_record", RECORD_VERSION), "fingerprint": record.fingerprint,
        "train_ids_sha256": ids_fingerprint(record.train_ids),
        "validation_ids_sha256": ids_fingerprint(record.validation_ids),
        "train_ids": [str(i) for i in record.train_ids], "validation_ids": [str(i) for i in record.validation_ids],
    }
    with atomic_output(path, suffix=".json") as tmp:
        tmp.write_text(json.dumps(payload, indent=0))
    return path


def read_training_record(directory) -> TrainingRecord:
    """Read ``directory/training_record.json``.

    Raises
    ------
    FileNotFoundError
        No record (a model saved without the IDs of its pairs).
    ValueError
        Not a training record, a newer version, or ID lists that do not match their fingerprints.
    """
    path = Path(directory) / RECORD_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: the model does not record its training pairs "
                                "(retrain it with `latentexplorer train`)")
    payload = read_json_product(path, "training_record", RECORD_VERSION, "retrain with `latentexplorer train`")
    train, val = (np.asarray(payload.get(k, []), dtype=str) for k in ("train_ids", "validation_ids"))
    for ids, key in ((train, "train_ids_sha256"), (val, "validation_ids_sha256")):
        if ids_fingerprint(ids) != payload.get(key):
            raise ValueError(f"{path}: the stored IDs do not match their fingerprint {key}: the file was edited")
    return TrainingRecord(train, val, str(payload.get("fingerprint", "")))
