"""The demo: every step of the pipeline on the embedded mock survey, into a cached workspace.

simulate → PSD → pairs → train → encode → ages → catalog → orbits → report (:func:`build_demo_workspace`);
``latentexplorer demo`` then serves the dashboards on it.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass

import numpy as np

from . import steps
from .io.atomic import atomic_output
from .workspace import WorkspacePaths

__all__ = ["DemoSize", "DEMO_SIZES", "DEMO_STAGES", "build_demo_workspace"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoSize:
    """How big a demo workspace is: mock survey size, encoder-decoder epochs, age-forest size."""

    n_stars: int
    n_kepler: int
    epochs: int
    batch_size: int
    n_age_train: int
    n_trees: int
    example_light_curves: int = 20


#: "demo" fits the first build in ≈ 10 minutes on 2 cores (8 epochs at batch 32 ≈ 700 optimiser steps: the
#: envelope is learned roughly; see the README for a full-size model); "tiny" is for tests and notebooks.
DEMO_SIZES = {
    "tiny": DemoSize(n_stars=300, n_kepler=200, epochs=2, batch_size=32, n_age_train=60, n_trees=30,
                     example_light_curves=3),
    "demo": DemoSize(n_stars=5000, n_kepler=3000, epochs=8, batch_size=32, n_age_train=1200, n_trees=100),
}

DEMO_STAGES = ("simulate", "psd", "pairs", "train", "encode", "ages", "catalog", "orbits", "report")


def _stage_outputs(ws) -> dict:
    return {
        "simulate": ws.allstar, "psd": ws.psd, "pairs": ws.pairs, "train": ws.model / "metadata.json",
        "encode": ws.latent, "ages": ws.forest, "catalog": ws.catalog, "orbits": ws.orbits,
        "report": ws.report / "summary.html",
    }


def build_demo_workspace(path, size: str = "demo", seed: int = 0, progress: bool = True,
                         spectra_format: str = "stacked") -> dict:
    """Run every step on the mock survey into the workspace at ``path``; stages already done are kept.

    simulate → PSD → pairs → train → encode → ages → catalog → orbits → report. A stage is skipped when
    its output exists and the workspace was built with the same size, seed and spectra format
    (``demo.json``); any other starts afresh. Training checkpoints every epoch, so an interrupted build
    resumes where it stopped. ``spectra_format`` is the survey's (:meth:`MockSurvey.write
    <latentexplorer.mock.MockSurvey.write>`: 'stacked', 'normalized' or 'apstar').

    Returns
    -------
    dict stage → (seconds, summary text), for the stages run now.
    """
    from . import __version__

    if size not in DEMO_SIZES:
        raise ValueError(f"size must be one of {sorted(DEMO_SIZES)}, got {size!r}")
    spec = DEMO_SIZES[size]
    ws = WorkspacePaths(path)
    stamp = {"size": size, "seed": int(seed), "version": __version__, "spectra_format": spectra_format,
             **spec.__dict__}
    stamp_path = ws.root / "demo.json"
    if ws.root.exists() and any(ws.root.iterdir()):
        previous = json.loads(stamp_path.read_text()) if stamp_path.exists() else None
        if previous != stamp:
            if previous is None:
                raise FileExistsError(f"{ws.root} exists and is not a demo workspace; choose another --workspace")
            log.info("demo workspace %s was built with %s; rebuilding", ws.root, previous)
            shutil.rmtree(ws.root)
    ws.root.mkdir(parents=True, exist_ok=True)
    with atomic_output(stamp_path) as tmp:
        tmp.write_text(json.dumps(stamp, indent=2))

    survey = None

    def mock():
        nonlocal survey
        if survey is None:
            from .mock import simulate_survey

            survey = simulate_survey(spec.n_stars, spec.n_kepler, seed)
        return survey

    def run_stage(name):
        if name == "simulate":
            mock().write(ws.root, spectra_format=spectra_format, progress=progress,
                         light_curves=spec.example_light_curves)
            return f"{spec.n_stars} stars, {spec.n_kepler} Kepler giants"
        if name == "psd":
            return str(steps.compute_mock_psds(mock(), ws.psd, progress=progress))
        if name == "pairs":
            return str(steps.make_pairs(ws.psd, ws.spectra, ws.seismic, ws.pairs, progress=progress))
        if name == "train":
            return steps.train_model(ws.pairs, ws.model, epochs=spec.epochs, batch_size=spec.batch_size, seed=seed,
                               progress=progress)
        if name == "encode":
            n, bad = steps.encode_spectra_file(ws.model, ws.spectra, ws.latent, 1024, progress)
            return f"{n - bad} of {n} spectra encoded"
        if name == "ages":
            from .age_training import train_age_model

            return str(train_age_model(ws.root, n_train=spec.n_age_train, n_trees=spec.n_trees, seed=seed,
                                       progress=progress))
        if name == "catalog":
            from .catalog import build_catalog

            return str(build_catalog(ws.root, progress=progress))
        if name == "orbits":
            table = steps.compute_orbits(ws.allstar, ws.orbits, progress=progress)
            return f"{int(np.count_nonzero(np.asarray(table['FLAG']) == 0))} of {len(table)} stars with orbits"
        from .report import write_report

        return str(write_report(ws.root))

    done = {}
    outputs = _stage_outputs(ws)
    for name in DEMO_STAGES:
        if outputs[name].exists():
            continue
        start = time.perf_counter()
        log.info("demo: %s", name)
        summary = run_stage(name)
        done[name] = (time.perf_counter() - start, summary)
        if progress:
            print(f"  {name:<9} {done[name][0]:7.1f} s  {summary}", flush=True)
    return done
