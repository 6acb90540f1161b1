"""Train the variational encoder-decoder on a training-pairs file (paper sections 3.1 and 5).

PAIRS is the HDF5 file written by `latentexplorer pairs`: 'spectra' (N, 7514) continuum-normalised,
'log_psd' (N, k) natural-log PSDs, 'numax' (N,) in μHz and 'frequency' (k,) in μHz. A random
--validation-fraction of the pairs (drawn with --seed) is held out for the learning-rate schedule
(halved after 6 epochs without improvement) and early stopping (after 12, best weights restored).

MODELDIR receives model.keras, pixel_scaler.npz and metadata.json. After every epoch the full
training state is written to MODELDIR/checkpoint/checkpoint.h5, and a rerun continues an interrupted run
from there (same PAIRS and settings; --epochs is the total); --restart starts from the first epoch instead.
Same --seed, same weights on CPU.

Examples:
  latentexplorer train WORKSPACE/pairs.h5 -o WORKSPACE/model --epochs 100
  latentexplorer train WORKSPACE/pairs.h5 -o WORKSPACE/model --epochs 100 --restart
"""

from __future__ import annotations

import time
from pathlib import Path

from .options import add_step_options

HELP = "train the spectra → PSD variational encoder-decoder on a pairs file"


def add_arguments(parser) -> None:
    parser.add_argument("pairs", type=Path, help="training pairs HDF5 (from `latentexplorer pairs`)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="model directory to write")
    parser.add_argument("--epochs", type=int, default=100, help="maximum number of epochs (default 100)")
    parser.add_argument("--batch-size", type=int, default=128, help="pairs per step (default 128)")
    parser.add_argument("--latent-dim", type=int, default=5, help="latent-space dimension (default 5)")
    parser.add_argument("--validation-fraction", type=float, default=0.1,
                        help="fraction of pairs held out for validation (default 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--kl-warmup", type=int, default=0, metavar="EPOCHS",
                        help="ramp the KL term's weight up linearly over this many epochs (default 0: the paper's "
                             "loss throughout; helps against latent dimensions collapsing onto the prior)")
    parser.add_argument("--restart", action="store_true",
                        help="ignore a checkpoint in MODELDIR/checkpoint and train from the first epoch (by default "
                             "a rerun continues from it)")
    add_step_options(parser, progress=None)


def run(args) -> int:
    from ..steps import train_model

    t0 = time.perf_counter()
    summary = train_model(args.pairs, args.output, epochs=args.epochs, batch_size=args.batch_size,
                          latent_dim=args.latent_dim, validation_fraction=args.validation_fraction, seed=args.seed,
                          kl_warmup_epochs=args.kl_warmup, resume=not args.restart, progress=True,
                          overwrite=args.overwrite)
    print(f"train: {summary}; {time.perf_counter() - t0:.1f} s → {args.output}")
    return 0
