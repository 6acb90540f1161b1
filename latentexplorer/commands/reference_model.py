"""Regenerate the reference encoder-decoder shipped with the package (what `make reference-model` runs).

Draws the reference mock survey (seed 2023: 12,500 giants, 12,000 of them Kepler targets), computes the PSDs
of its light curves in memory, cross-matches ~12,000 spectrum–PSD pairs, searches the latent dimension, KL weight and envelope weighting
(seven candidates on the same 4,000 pairs for 10 epochs, chosen on the held-out value of the paper's objective;
--no-search skips it) and trains the chosen one on all pairs with the reference schedule (Adam 5e-4, batch 64,
plateau schedule, early stopping). Everything is written under WORKDIR (spectra, psd.h5, pairs.h5: ~1 GB; the
search's record and models in WORKDIR/search; checkpoints every epoch, so a rerun resumes); the model files and
reference.json then replace latentexplorer/data/reference_model (or -o DIR).

Examples:
  latentexplorer reference-model --workdir /tmp/reference
  latentexplorer reference-model --workdir /tmp/reference --schedule-search reference_schedule.json
"""

from __future__ import annotations

import time
from pathlib import Path

HELP = "regenerate the package's reference encoder-decoder from its own mock survey"


def add_arguments(parser) -> None:
    parser.add_argument("--workdir", type=Path, required=True,
                        help="where the survey, PSDs, pairs and training checkpoints go (~1 GB)")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="model directory to write (default: the package's data/reference_model)")
    parser.add_argument("--schedule-search", type=Path, default=None,
                        help="JSON of `python -m benchmarks.reference_schedule`, recorded in reference.json")
    parser.add_argument("--no-search", dest="search", action="store_false",
                        help="skip the candidate search: train the paper's five-dimensional latent")


def run(args) -> int:
    from ..steps.reference_model import build_reference_model

    t0 = time.perf_counter()
    out = build_reference_model(args.workdir, args.output, schedule_search=args.schedule_search,
                                search=args.search)
    print(f"reference-model: written to {out} in {time.perf_counter() - t0:.0f} s")
    return 0
