"""The reference encoder-decoder shipped as package data (``latentexplorer/data/reference_model/``): where it is,
which files make it and what its ``reference.json`` records. Building it is
:mod:`latentexplorer.steps.reference_model`'s job (``make reference-model``)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

__all__ = ["MODEL_FILES", "REFERENCE_FILE", "reference_model_dir", "reference_metadata"]

#: Files of a model directory that make a shipped model.
MODEL_FILES = ("model.keras", "pixel_scaler.npz", "metadata.json", "training_record.json")
#: The shipped model's provenance: survey seed and size, training configuration, pairs fingerprint, history,
#: the candidate search.
REFERENCE_FILE = "reference.json"


def reference_model_dir(*, complete: bool = True) -> Path:
    """The shipped model directory (``latentexplorer/data/reference_model``).

    With ``complete`` (the default) it must hold every one of :data:`MODEL_FILES`: FileNotFoundError naming
    ``make reference-model`` when the package was installed without them. ``complete=False`` gives the path
    alone (where :func:`latentexplorer.steps.reference_model.build_reference_model` writes).
    """
    path = Path(str(resources.files("latentexplorer") / "data" / "reference_model"))
    missing = [name for name in MODEL_FILES if not (path / name).is_file()] if complete else []
    if missing:
        raise FileNotFoundError(f"the reference model is missing {', '.join(missing)} in {path}; "
                                "run `make reference-model` (or `latentexplorer demo --train`)")
    return path


def reference_metadata() -> dict:
    """``reference.json`` of the shipped model: survey, training configuration, pairs fingerprint, history."""
    return json.loads((reference_model_dir() / REFERENCE_FILE).read_text())
