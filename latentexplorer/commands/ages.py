"""Train the latent-space age model of a workspace (paper sections 3.2 and 5).

Reads WORKSPACE/latent.h5 (from `latentexplorer encode`), WORKSPACE/survey/allStar.fits and
WORKSPACE/survey/seismic.fits. The features are the latent means z0..z4 with Teff and [Fe/H]; the
seismic age errors are resampled in every tree and stars are weighted by 1/σ(log10 age). With
--input-noise the inputs' errors (z_std, TEFF_ERR, FE_H_ERR) are resampled in every tree too, as in the
paper (off by default: on the demo it blurs the latent and widens the age scatter). Of the seismic stars
with 2.5 < log g < 3.6, SNREV > 30 and Teff, [Fe/H] present, --n-train are drawn at random to train, 30 %
of the rest calibrate the uncertainties (the pull distribution is scaled to unit width) and the others
are test stars, scored in the summary. An RC/RGB classifier on the same features is trained on the same
stars.

Writes WORKSPACE/forest/: age_forest.skops, evolstate_forest.skops (skops format), tree_arrays.npz (the
age forest's trees as arrays), support.npz (the training support), metadata.json, training_ids.txt and
calibration_ids.txt.

Example:
  latentexplorer ages WORKSPACE --n-train 1200 --n-trees 100 --seed 0
"""

from __future__ import annotations

from pathlib import Path

from .options import add_step_options

HELP = "train the age forest and RC/RGB classifier on a workspace's seismic stars (→ forest/)"


def add_arguments(parser) -> None:
    parser.add_argument("workspace", type=Path, help="workspace directory (with latent.h5 and survey/)")
    parser.add_argument("--n-train", type=int, default=1200, help="training stars (default 1200)")
    parser.add_argument("--n-trees", type=int, default=100, help="trees per forest (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and the forests (default 0)")
    parser.add_argument("--min-leaf", type=int, default=5, help="fewest training stars in a leaf (default 5)")
    parser.add_argument("--input-noise", action="store_true",
                        help="resample the inputs' errors in every tree (the paper's recipe; off by default)")
    add_step_options(parser, overwrite=None)


def run(args) -> int:
    from ..steps.ages import train_age_model

    summary = train_age_model(args.workspace, n_train=args.n_train, n_trees=args.n_trees, seed=args.seed,
                              progress=not args.no_progress, input_noise=args.input_noise,
                              min_samples_leaf=args.min_leaf)
    print(summary)
    return 0
