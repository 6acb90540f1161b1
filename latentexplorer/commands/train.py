"""Train the variational encoder-decoder on a training-pairs file (paper sections 3.1 and 5).

PAIRS is the HDF5 file written by `latentexplorer pairs`: 'spectra' (N, 7514) continuum-normalised,
'log_psd' (N, k) natural-log PSDs, 'numax' (N,) in μHz and 'frequency' (k,) in μHz. A random
--validation-fraction of the pairs (drawn with --seed) is held out for the learning-rate schedule
(halved after 6 epochs without improvement) and early stopping (after 12, best weights restored).

MODELDIR receives model.keras, pixel_scaler.npz and metadata.json. After every epoch the full
training state is written to MODELDIR/checkpoint/checkpoint.h5; --resume continues an interrupted
run from there (same PAIRS and settings; --epochs is the total). Same --seed, same weights on CPU.

Examples:
  latentexplorer train WORKSPACE/pairs.h5 -o WORKSPACE/model --epochs 100
  latentexplorer train WORKSPACE/pairs.h5 -o WORKSPACE/model --epochs 100 --resume
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import h5py
import numpy as np

HELP = "train the spectra → PSD variational encoder-decoder on a pairs file"

CHECKPOINT_SUBDIR = "checkpoint"

log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("pairs", type=Path, help="training pairs HDF5 (from `latentexplorer pairs`)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="model directory to write")
    parser.add_argument("--epochs", type=int, default=100, help="maximum number of epochs (default 100)")
    parser.add_argument("--batch-size", type=int, default=128, help="pairs per step (default 128)")
    parser.add_argument("--latent-dim", type=int, default=5, help="latent-space dimension (default 5)")
    parser.add_argument("--validation-fraction", type=float, default=0.1,
                        help="fraction of pairs held out for validation (default 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--resume", action="store_true", help="continue from MODELDIR/checkpoint if present")


def read_pairs(path: Path):
    """spectra (N, 7514) float32, log_psd (N, k) float32, numax (N,) μHz, frequency (k,) μHz of a pairs file."""
    if not path.is_file():
        raise FileNotFoundError(f"pairs file {path} does not exist")
    if not h5py.is_hdf5(path):
        raise ValueError(f"{path} is not an HDF5 file")
    with h5py.File(path, "r") as f:
        missing = [k for k in ("spectra", "log_psd", "numax", "frequency") if k not in f]
        if missing:
            raise ValueError(f"{path} lacks dataset(s) {', '.join(missing)}: is it a `latentexplorer pairs` file?")
        return (f["spectra"][()].astype(np.float32), f["log_psd"][()].astype(np.float32),
                f["numax"][()].astype(float), f["frequency"][()].astype(float))


def run(args) -> int:
    from ..ved import VariationalEncoderDecoder

    spectra, log_psd, numax, frequency = read_pairs(args.pairs)
    t0 = time.perf_counter()
    ved = VariationalEncoderDecoder(args.latent_dim, frequency=frequency).fit(
        spectra, log_psd, numax, epochs=args.epochs, batch_size=args.batch_size,
        validation_fraction=args.validation_fraction, seed=args.seed,
        checkpoint_dir=args.output / CHECKPOINT_SUBDIR, resume=args.resume, progress=True,
    )
    ved.save(args.output)
    t = ved.training_
    stop = " (early stop)" if t["stopped_early"] else ""
    print(f"trained on {t['n_train']} pairs, validated on {t['n_val']}; {t['epochs_run']} epochs{stop}; "
          f"best validation loss {t['best_val_loss']:.5g} at epoch {t['best_epoch']}; "
          f"{time.perf_counter() - t0:.1f} s on {t['device']} → {args.output}")
    return 0
