"""The reference encoder-decoder: trained by the project on its own mock survey and shipped as package data.

The demo encodes a survey drawn with another seed through it, so a first build needs no training and every
demo star is new to the encoder. ``make reference-model`` (``latentexplorer reference-model``) regenerates it:

1. draw the reference mock survey (:data:`REFERENCE_SURVEY`: seed, size) and write its spectra;
2. synthesise its Kepler light curves in memory and compute their PSDs; cross-match into ≥ 10,000 pairs;
3. search the encoder-decoder's latent dimension, KL weight and envelope weighting
   (:mod:`latentexplorer.ved.search`: every candidate on the same 4,000 pairs for 10 epochs, chosen on the
   held-out value of the paper's objective);
4. train the chosen candidate on all pairs with :data:`REFERENCE_TRAINING` (the schedule chosen by the search
   recorded in ``README.md``) to early stopping;
5. copy ``model.keras``, ``pixel_scaler.npz``, ``metadata.json`` and ``training_record.json`` into
   ``latentexplorer/data/reference_model/`` with ``reference.json``: the survey's seed and size, the training
   configuration, the fingerprint of the pairs and the training history.

Reading the shipped model is :mod:`latentexplorer.ved.reference`'s job.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from ..io.atomic import atomic_output
from ..ved.reference import MODEL_FILES, REFERENCE_FILE, reference_model_dir

__all__ = ["ReferenceSurvey", "REFERENCE_SURVEY", "REFERENCE_TRAINING", "prepare_reference_pairs",
           "build_reference_model"]


@dataclass(frozen=True)
class ReferenceSurvey:
    """The mock survey the reference model trains on: ``seed`` (never a demo seed), stars and Kepler giants."""

    seed: int = 2023
    n_stars: int = 12_500
    n_kepler: int = 12_000


REFERENCE_SURVEY = ReferenceSurvey()

#: Training schedule of the shipped model (see README "The reference model" for the search behind it).
REFERENCE_TRAINING = dict(epochs=60, batch_size=64, learning_rate=5e-4, kl_warmup_epochs=0,
                          early_stopping_patience=8, lr_patience=3, validation_fraction=0.1, seed=0)


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prepare_reference_pairs(workdir, survey: ReferenceSurvey = REFERENCE_SURVEY, progress: bool = True) -> Path:
    """Steps 1–2 into ``workdir`` (survey/, psd.h5, pairs.h5; skipped where they exist). Returns pairs.h5."""
    from .. import steps
    from ..mock import simulate_survey
    from ..workspace import WorkspacePaths

    ws = WorkspacePaths(workdir)
    ws.root.mkdir(parents=True, exist_ok=True)
    mock = None
    if not ws.allstar.exists() or not ws.psd.exists():
        mock = simulate_survey(survey.n_stars, survey.n_kepler, survey.seed)
    if not ws.allstar.exists():
        mock.write(ws.root, spectra_format="normalized", progress=progress, light_curves=0)
    if not ws.psd.exists():
        steps.compute_mock_psds(mock, ws.psd, progress=progress)
    if not ws.pairs.exists():
        steps.make_pairs(ws.psd, ws.spectra, ws.seismic, ws.pairs, progress=progress)
    return ws.pairs


def _check_trained_as(model_dir: Path, chosen) -> None:
    """Refuse a finished model in the workdir that was trained as another candidate than the chosen one."""
    metadata = json.loads((model_dir / "metadata.json").read_text())
    config = metadata["training"]["config"]
    trained = (metadata["latent_dim"], config.get("kl_beta", 1.0), config.get("envelope_height", 1.0))
    wanted = (chosen.latent_dim, chosen.kl_beta, chosen.envelope_height)
    if trained != wanted:
        raise ValueError(f"{model_dir} holds a model trained as (latent_dim, kl_beta, envelope_height) = {trained}, "
                         f"but the search chose {chosen.name} {wanted}: move it away and rerun")


def build_reference_model(workdir, output=None, *, survey: ReferenceSurvey = REFERENCE_SURVEY,
                          schedule_search=None, search: bool = True, progress: bool = True, **training) -> Path:
    """Regenerate the reference model: pairs in ``workdir``, the candidate search and the training there
    (both resumable), then the model files and ``reference.json`` copied to ``output`` (default: the
    package's ``data/reference_model``).

    ``search=False`` skips the search and trains the paper's five-dimensional latent. ``training`` overrides
    :data:`REFERENCE_TRAINING` entries; ``schedule_search`` (a JSON file written by
    ``benchmarks/reference_schedule.py``) is recorded in ``reference.json``. Returns the output directory.
    """
    from ..io.pairs import read_pairs
    from ..ved import VariationalEncoderDecoder
    from ..ved.persistence import read_model_files
    from ..ved.search import Candidate, best_candidate, run_search
    from ..workspace import WorkspacePaths

    pairs_path = prepare_reference_pairs(workdir, survey, progress)
    paths = WorkspacePaths(workdir)
    truth = paths.truth if paths.truth.exists() else None
    record = run_search(paths.root / "search", pairs_file=pairs_path, allstar_file=paths.allstar, truth_file=truth,
                        progress=progress) if search else None
    chosen = best_candidate(record) if search else Candidate("5-D latent (paper)")
    config = {**REFERENCE_TRAINING, "learning_rate": chosen.learning_rate, "batch_size": chosen.batch_size,
              "kl_beta": chosen.kl_beta, "envelope_height": chosen.envelope_height, **training}
    model_dir = Path(workdir) / "model"
    if (model_dir / "metadata.json").exists():
        _check_trained_as(model_dir, chosen)
    else:
        pairs = read_pairs(pairs_path)
        fit_options = {k: v for k, v in config.items() if k not in ("epochs", "batch_size", "learning_rate")}
        ved = VariationalEncoderDecoder(chosen.latent_dim, frequency=pairs.frequency,
                                        learning_rate=config["learning_rate"]).fit(
            pairs.spectra, pairs.log_psd, pairs.numax, ids=pairs.apogee_id, epochs=config["epochs"],
            batch_size=config["batch_size"], checkpoint_dir=model_dir / "checkpoint", resume=True,
            progress=progress, **fit_options)
        ved.save(model_dir)
    output = reference_model_dir(complete=False) if output is None else Path(output)
    metadata = read_model_files(model_dir).metadata  # checked against its training record
    trained = metadata["training"]
    reference = {
        "survey": asdict(survey),
        "training": config,
        "latent_dim": chosen.latent_dim,
        "n_pairs": int(trained["n_train"]) + int(trained["n_val"]),
        "pairs_sha256": _sha256(pairs_path),
        "pairs_fingerprint": trained["fingerprint"],
        "epochs_run": trained["epochs_run"], "best_epoch": trained["best_epoch"],
        "train_time_s": trained["train_time_s"], "device": trained["device"],
        "history": metadata["history"],
        "schedule_search": json.loads(Path(schedule_search).read_text()) if schedule_search else None,
        "search": None if record is None else {**record, "chosen": chosen.name},
        "regenerate": "make reference-model",
    }
    output.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        with atomic_output(output / name) as tmp:
            shutil.copyfile(model_dir / name, tmp)
    with atomic_output(output / REFERENCE_FILE) as tmp:
        tmp.write_text(json.dumps(reference, indent=1))
    return output
