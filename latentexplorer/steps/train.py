"""The train step: a pairs file → a trained encoder-decoder in a model directory."""

from __future__ import annotations

from ..io.pairs import read_pairs
from .runtime.outputs import locks_output
from .runtime.provenance import records_provenance

__all__ = ["CHECKPOINT_SUBDIR", "train_model"]


#: Sub-directory of a model directory holding the per-epoch training checkpoint.
CHECKPOINT_SUBDIR = "checkpoint"


@locks_output(lambda a: a["model_dir"])
@records_provenance("train", lambda a: a["model_dir"], lambda a: a["pairs_path"])
def train_model(pairs_path, model_dir, *, epochs: int = 100, batch_size: int = 128, latent_dim: int = 5,
                validation_fraction: float = 0.1, seed: int = 0, kl_warmup_epochs: int = 0, resume: bool = True,
                progress: bool = True, overwrite: bool = False) -> str:
    """Train the encoder-decoder on a pairs file and save it to ``model_dir`` (checkpoints in
    ``model_dir/checkpoint``; ``resume``, the default, continues an interrupted run; less free space than the
    model and its checkpoint take is refused before training; ``kl_warmup_epochs`` see
    :class:`~latentexplorer.ved.TrainingConfig`); the model records the APOGEE_IDs of its training and
    validation pairs. Returns a one-line summary."""
    from .runtime.outputs import check_free_space, check_output, removes_new_empty_directories
    from ..ved import VariationalEncoderDecoder
    from ..ved.network import model_bytes

    model_dir = check_output(model_dir, "model", (pairs_path,), overwrite)
    pairs = read_pairs(pairs_path)
    # the checkpoint holds the weights four times (weights, best weights, Adam's two moments) and is replaced
    # atomically (old and new side by side for a moment); model.keras holds them once more at the end
    check_free_space(model_dir, 9 * model_bytes(pairs.spectra.shape[1], pairs.frequency.size, latent_dim))
    with removes_new_empty_directories(model_dir / CHECKPOINT_SUBDIR, model_dir):
        ved = VariationalEncoderDecoder(latent_dim, frequency=pairs.frequency).fit(
            pairs.spectra, pairs.log_psd, pairs.numax, ids=pairs.apogee_id, epochs=epochs, batch_size=batch_size,
            validation_fraction=validation_fraction, seed=seed, checkpoint_dir=model_dir / CHECKPOINT_SUBDIR,
            resume=resume, progress=progress, kl_warmup_epochs=kl_warmup_epochs,
        )
        ved.save(model_dir)
    t = ved.training_
    stop = ", early stop" if t["stopped_early"] else ""
    return (f"{t['n_train']} training / {t['n_val']} validation pairs, {t['epochs_run']} epochs{stop}, best "
            f"validation loss {t['best_val_loss']:.5g} (epoch {t['best_epoch']}) on {t['device']}")
