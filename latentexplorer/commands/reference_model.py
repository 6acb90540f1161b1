"""Regenerate the reference encoder-decoder shipped with the package (what `make reference-model` runs).

Draws the reference mock survey (seed 2023: 12,500 giants, 12,000 of them Kepler targets), computes the PSDs
of its light curves in memory, cross-matches ~12,000 spectrum–PSD pairs and trains the encoder-decoder on
them with the reference schedule (Adam 5e-4, batch 64, the paper's loss throughout, plateau schedule, early
stopping). Everything is written under WORKDIR (spectra, psd.h5, pairs.h5: ~1 GB; training checkpoints every
epoch, so a rerun resumes); the model files and reference.json then replace latentexplorer/data/reference_model
(or -o DIR). About ten minutes on two cores (2026-12-01: pairs 2.7 min, training 6 min).

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


def run(args) -> int:
    from ..reference_model import build_reference_model

    t0 = time.perf_counter()
    out = build_reference_model(args.workdir, args.output, schedule_search=args.schedule_search)
    print(f"reference-model: written to {out} in {time.perf_counter() - t0:.0f} s")
    return 0
