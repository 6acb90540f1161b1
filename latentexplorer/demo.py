"""The demo: every step of the pipeline on the embedded mock survey, into a cached workspace.

simulate → PSD → pairs → model → encode → ages → catalog → orbits → report (:func:`build_demo_workspace`);
``latentexplorer demo`` then serves the dashboards on it. The encoder-decoder is the package's reference
model (:mod:`latentexplorer.steps.reference_model`, trained on a mock survey of another seed, so every demo star is
new to it); ``train=True`` trains one on the demo's pairs instead, as the first demos did. The "demo" size
is survey-sized: the spectra of its Kepler stars and of a sample of the others are written to disk (for the
pairs and the star inspector), the rest are synthesised in memory and encoded (the light curves likewise
never touch the disk but for a few examples).
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
    """How big a demo workspace is: mock survey size, general-survey spectra kept on disk (None: all), the
    encoder-decoder's epochs and batch when trained live, the age forest's size."""

    n_stars: int
    n_kepler: int
    epochs: int
    batch_size: int
    n_age_train: int
    n_trees: int
    example_light_curves: int = 20
    spectra_on_disk: int | None = None


#: "demo" is survey-sized (the disk map at the paper's Fig. 12 cuts shows > 20,000 stars) and builds in
#: under 10 minutes on 2 cores with the reference model; "tiny" is for tests and notebooks. ``epochs``
#: apply with ``train=True`` only (8 epochs ≈ 700 optimiser steps: the envelope is learned roughly).
DEMO_SIZES = {
    "tiny": DemoSize(n_stars=300, n_kepler=200, epochs=2, batch_size=32, n_age_train=60, n_trees=30,
                     example_light_curves=3),
    "demo": DemoSize(n_stars=200_000, n_kepler=4000, epochs=8, batch_size=32, n_age_train=1200, n_trees=100,
                     spectra_on_disk=5000),
}

DEMO_STAGES = ("simulate", "psd", "pairs", "model", "encode", "ages", "catalog", "orbits", "report")


def _stage_outputs(ws) -> dict:
    return {
        "simulate": ws.allstar, "psd": ws.psd, "pairs": ws.pairs, "model": ws.model / "metadata.json",
        "encode": ws.latent, "ages": ws.forest, "catalog": ws.catalog, "orbits": ws.orbits,
        "report": ws.report / "summary.html",
    }


def _spectra_rows(survey, on_disk: int | None):
    """Rows whose spectra the survey writes: all (None), or every Kepler star and the first ``on_disk`` others."""
    if on_disk is None:
        return None
    kepler = np.asarray(survey.truth["KIC"]) > 0
    others = np.flatnonzero(~kepler)[:on_disk]
    rows = kepler.copy()
    rows[others] = True
    return rows


def _install_reference_model(model_dir) -> str:
    """Copy the shipped reference model into the workspace's ``model/``; returns a one-line summary."""
    from .ved.reference import MODEL_FILES, reference_metadata, reference_model_dir

    source = reference_model_dir()
    model_dir.mkdir(parents=True, exist_ok=True)
    for name in sorted(MODEL_FILES, key=lambda n: n == "metadata.json"):  # the stage's output last
        with atomic_output(model_dir / name) as tmp:
            shutil.copyfile(source / name, tmp)
    meta = reference_metadata()
    return (f"reference model ({meta['n_pairs']} pairs of mock seed {meta['survey']['seed']}, "
            f"{len(meta['history']['loss'])} epochs)")


def _demo_products(ws) -> list:
    """Every path a demo build writes in its workspace (files, or directories it writes files in)."""
    return [ws.survey, ws.truth, ws.psd, ws.pairs, ws.model, ws.latent, ws.forest, ws.catalog, ws.catalog_csv,
            ws.orbits, ws.report]


def _product_files(ws) -> list[str]:
    """The files (and links) now at or under :func:`_demo_products`, relative to the workspace, sorted."""
    files = []
    for path in _demo_products(ws):
        found = [path] if (path.is_file() or path.is_symlink()) else \
            [p for p in path.rglob("*") if p.is_file() or p.is_symlink()] if path.is_dir() else []
        files += [str(p.relative_to(ws.root)) for p in found]
    return sorted(files)


def _written_since(ws, before: set, started: float) -> set:
    """The product files a stage wrote: new since ``before`` (a set of :func:`_product_files`), or modified
    since ``started`` (seconds since the epoch); a file of yours the stage did not touch is not among them."""
    written = set()
    for rel in _product_files(ws):
        path = ws.root / rel
        if rel not in before or path.lstat().st_mtime >= started - 1.0:
            written.add(rel)
    return written


def _read_stamp(path) -> dict | None:
    """``demo.json`` as a dict, or None where it is absent or not a demo stamp (not JSON, not an object)."""
    try:
        stamp = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def _write_stamp(path, stamp: dict, files: list[str]) -> None:
    """Write ``demo.json``: the build's ``stamp`` and the ``files`` it made; an unchanged one is left alone (a
    complete workspace may be read-only)."""
    text = json.dumps({**stamp, "files": files}, indent=2)
    if path.is_file() and path.read_text() == text:
        return
    with atomic_output(path) as tmp:
        tmp.write_text(text)


def _remove_demo_products(ws, files: list[str]) -> list[str]:
    """Remove the files an earlier build recorded (``demo.json``'s ``files``) and the product directories they
    leave empty; every other file stays. Returns the files kept under the products (relative paths)."""
    for rel in files:
        path = ws.root / rel
        if path.is_file() or path.is_symlink():
            path.unlink()
    for product in _demo_products(ws):
        if product.is_dir() and not product.is_symlink():
            for directory in sorted((p for p in product.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                if not any(directory.iterdir()):
                    directory.rmdir()
            if not any(product.iterdir()):
                product.rmdir()
    return _product_files(ws)


def build_demo_workspace(path, size: str = "demo", seed: int = 0, progress: bool = True,
                         spectra_format: str | None = None, train: bool = False, overwrite: bool = False) -> dict:
    """Run every step on the mock survey into the workspace at ``path``; stages already done are kept.

    simulate → PSD → pairs → model → encode → ages → catalog → orbits → report. A stage is skipped when
    its output exists and the workspace was built with the same size, seed, spectra format and model
    (``demo.json``). A workspace built otherwise is rebuilt only with ``overwrite`` (FileExistsError naming
    how it was built, else), which replaces the demo's own products and keeps every other file; a directory
    that is not a demo workspace is never touched. ``spectra_format`` is the survey's (:meth:`MockSurvey.write
    <latentexplorer.mock.MockSurvey.write>`: 'stacked', 'normalized' or 'apstar'; default 'normalized' for a
    survey-sized demo, which requires it, and 'stacked' otherwise). ``train`` trains the encoder-decoder on
    the demo's pairs (checkpointed every epoch, so an interrupted build resumes) instead of installing the
    reference model.

    Returns
    -------
    dict stage → (seconds, summary text), for the stages run now.
    """
    from . import __version__

    if size not in DEMO_SIZES:
        raise ValueError(f"size must be one of {sorted(DEMO_SIZES)}, got {size!r}")
    spec = DEMO_SIZES[size]
    if spectra_format is None:
        spectra_format = "stacked" if spec.spectra_on_disk is None else "normalized"
    if spec.spectra_on_disk is not None and spectra_format != "normalized":
        raise ValueError(f"the {size!r} demo encodes most spectra in memory as continuum-normalised spectra and "
                         "writes the rest alike: use spectra_format 'normalized' (or size 'tiny')")
    ws = WorkspacePaths(path)
    stamp = {"size": size, "seed": int(seed), "version": __version__, "spectra_format": spectra_format,
             "model": "trained" if train else "reference", **spec.__dict__}
    stamp_path = ws.root / "demo.json"
    made = []  # the product files the build made (demo.json's list); a resumed build keeps its list
    if ws.root.exists() and any(ws.root.iterdir()):
        previous = _read_stamp(stamp_path)
        if previous is None:
            raise FileExistsError(f"{ws.root} exists and is not a demo workspace; choose another --workspace")
        recorded = previous.pop("files", None)
        if previous == stamp:
            made = recorded or []
        else:
            changed = ", ".join(f"{k} {previous.get(k)!r} → {v!r}" for k, v in stamp.items() if previous.get(k) != v)
            if not overwrite:
                raise FileExistsError(f"the demo workspace {ws.root} was built otherwise ({changed}); add --overwrite "
                                      "to rebuild it (its products are replaced, other files kept) or choose another "
                                      "--workspace")
            if recorded is None:
                raise FileExistsError(f"the demo workspace {ws.root} was built by a version that kept no list of its "
                                      "files, so --overwrite cannot tell them from yours; move your files out and "
                                      "remove it, or choose another --workspace")
            kept = _remove_demo_products(ws, recorded)
            log.info("rebuilding demo workspace %s (%s); %d other file(s) kept%s", ws.root, changed, len(kept),
                     f": {', '.join(kept[:5])}{' …' if len(kept) > 5 else ''}" if kept else "")
    ws.root.mkdir(parents=True, exist_ok=True)
    _write_stamp(stamp_path, stamp, made)

    survey = None

    def mock():
        nonlocal survey
        if survey is None:
            from .mock import simulate_survey

            survey = simulate_survey(spec.n_stars, spec.n_kepler, seed)
        return survey

    def run_stage(name):
        if name == "simulate":
            rows = _spectra_rows(mock(), spec.spectra_on_disk)
            mock().write(ws.root, spectra_format=spectra_format, progress=progress,
                         light_curves=spec.example_light_curves, spectra_rows=rows)
            on_disk = "" if rows is None else f" (spectra of {int(rows.sum())} on disk)"
            return f"{spec.n_stars} stars, {spec.n_kepler} Kepler giants{on_disk}"
        if name == "psd":
            return str(steps.compute_mock_psds(mock(), ws.psd, progress=progress))
        if name == "pairs":
            return str(steps.make_pairs(ws.psd, ws.spectra, ws.seismic, ws.pairs, progress=progress))
        if name == "model":
            if not train:
                return _install_reference_model(ws.model)
            return steps.train_model(ws.pairs, ws.model, epochs=spec.epochs, batch_size=spec.batch_size, seed=seed,
                                     progress=progress)
        if name == "encode":
            if spec.spectra_on_disk is None:
                n, bad = steps.encode_spectra_file(ws.model, ws.spectra, ws.latent, 1024, progress)
            else:
                n, bad = steps.encode_mock_survey(ws.model, mock(), ws.latent, progress=progress)
            return f"{n - bad} of {n} spectra encoded"
        if name == "ages":
            from .steps.ages import train_age_model

            return str(train_age_model(ws.root, n_train=spec.n_age_train, n_trees=spec.n_trees, seed=seed,
                                       progress=progress))
        if name == "catalog":
            from .steps.catalog import build_catalog

            return str(build_catalog(ws.root, progress=progress))
        if name == "orbits":
            table = steps.compute_orbits(ws.allstar, ws.orbits, progress=progress)
            return f"{int(np.count_nonzero(np.asarray(table['FLAG']) == 0))} of {len(table)} stars with orbits"
        from .steps.report import write_report

        return str(write_report(ws.root))

    done = {}
    outputs = _stage_outputs(ws)
    for name in DEMO_STAGES:
        if outputs[name].exists():
            continue
        start, started = time.perf_counter(), time.time()
        before = set(_product_files(ws))
        log.info("demo: %s", name)
        summary = run_stage(name)
        done[name] = (time.perf_counter() - start, summary)
        made = sorted(set(made) | _written_since(ws, before, started))
        _write_stamp(stamp_path, stamp, made)
        if progress:
            print(f"  {name:<9} {done[name][0]:7.1f} s  {summary}", flush=True)
    return done
