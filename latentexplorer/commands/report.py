"""Write the report of a workspace: figures and a one-page summary with every audit number.

Runs the latent-space audits of the paper on WORKSPACE (latent.h5, survey/allStar.fits,
survey/seismic.fits; the survey spectra for the spectrum baseline; truth.fits on a mock, whose true
ages are then held fixed in the [α/M] leakage test) and writes WORKSPACE/report/:
fig03_psd_reconstruction.png (needs model/ and pairs.h5), fig05_latent_space.png, fig07_labels.png,
fig08_seismic.png, fig09_evolstate.png, fig10_ages.png, fig16_ablation.png, leakage.png,
summary.md, summary.html and audits.json. The age audits use the split size of the saved age model
(forest/, from `latentexplorer ages`) when there is one; the catalog's counts are included when
catalog.fits exists.

Example:
  latentexplorer report WORKSPACE
  latentexplorer report WORKSPACE --n-trees 50 --no-baseline
"""

from __future__ import annotations

from pathlib import Path

from .options import add_step_options

HELP = "audit a workspace and write report/ (PNG figures, summary.md, summary.html)"


def add_arguments(parser) -> None:
    parser.add_argument("workspace", type=Path, help="workspace directory")
    parser.add_argument("--n-trees", type=int, default=100, help="trees per audit forest (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the splits and forests (default 0)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the spectrum baseline (no spectra read)")
    add_step_options(parser, overwrite=None)


def run(args) -> int:
    from ..steps.report import write_report

    if args.n_trees < 1:
        raise ValueError(f"--n-trees must be positive, got {args.n_trees}")
    summary = write_report(args.workspace, n_trees=args.n_trees, seed=args.seed, baseline=not args.no_baseline,
                           progress=not args.no_progress)
    print(summary)
    return 0
