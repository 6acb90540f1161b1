"""The pipeline's steps over files and workspaces, shared by the CLI and the demo.

Each step reads its inputs, never dies on one bad star (the row is NaN and flagged), writes its output
atomically and returns a small summary.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from astropy.table import Table
from tqdm.auto import tqdm

from . import constants as C
from . import psd as psd_mod
from .io.atomic import atomic_output
from .io.lightcurves import LightCurveRecord, read_light_curve
from .io.psdfile import PSDSet, psd_file_writer, read_psd_file, write_psd_file

log = logging.getLogger(__name__)

__all__ = ["StepSummary", "find_light_curve_files", "compute_psd_files", "compute_mock_psds", "make_pairs", "compute_orbits", "encode_spectra_file",
           "train_model", "build_demo_workspace", "DEMO_SIZES"]

LIGHT_CURVE_PATTERNS = ("*.fits", "*.fits.gz", "*.fit")


@dataclass
class StepSummary:
    """What a step did: rows done cleanly, done but flagged, failed (NaN), and the output path."""

    done: int
    flagged: int
    failed: int
    output: Path | None = None

    def __str__(self) -> str:
        where = f" → {self.output}" if self.output else ""
        return f"{self.done} done, {self.flagged} flagged, {self.failed} failed{where}"


def find_light_curve_files(inputs) -> list[Path]:
    """Expand files and directories (searched recursively for FITS files) into a sorted file list."""
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted({p for pattern in LIGHT_CURVE_PATTERNS for p in item.rglob(pattern)})
            if not found:
                log.warning("no FITS files under %s", item)
            files.extend(found)
        elif item.exists():
            files.append(item)
        else:
            raise FileNotFoundError(f"input {item} does not exist")
    return files


def _psd_row(source: str, record=None, error: Exception | None = None) -> tuple:
    """(target_id, kic, n_points, baseline_days, log_psd or None, flags) of one light curve — or of an
    unreadable file (``record`` None, ``error`` why)."""
    if record is None:
        log.warning("%s", error)
        return source, -1, 0, np.nan, None, psd_mod.PSDFlag.UNREADABLE
    baseline = np.ptp(record.time_days) if record.time_days.size else np.nan
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", psd_mod.PSDQualityWarning)
            log_psd, flags = psd_mod.compute_psd(record.time_days, record.flux_ppm, return_flags=True)
    except psd_mod.InvalidLightCurveError as err:
        log.warning("%s: %s", source, err)
        log_psd, flags = None, err.flags
    return record.target_id, record.kic, record.time_days.size, baseline, log_psd, flags


def _psd_part(sources, rows) -> dict[str, np.ndarray]:
    """The :func:`_psd_row` results of several stars as one part (plain arrays, NaN rows where failed)."""
    grid = psd_mod.frequency_grid()
    log_psd = np.full((len(rows), grid.size), np.nan, dtype=np.float32)
    for i, row in enumerate(rows):
        if row[4] is not None:
            log_psd[i] = row[4]
    return {
        "source": np.asarray(sources, dtype=str), "target_id": np.asarray([r[0] for r in rows], dtype=str),
        "kic": np.asarray([r[1] for r in rows], dtype=np.int64), "n_points": np.asarray([r[2] for r in rows], np.int64),
        "baseline_days": np.asarray([r[3] for r in rows], dtype=np.float64), "log_psd": log_psd,
        "flags": np.asarray([int(r[5]) for r in rows], dtype=np.uint16),
    }


def _psd_set(part: dict) -> PSDSet:
    return PSDSet(part["target_id"], part["kic"], psd_mod.frequency_grid(), part["log_psd"], part["flags"],
                  part["source"], part["baseline_days"], part["n_points"])


def _psd_summary(flags, output) -> StepSummary:
    failed = int(np.sum((flags & int(psd_mod.FATAL_FLAGS)) != 0))
    flagged = int(np.sum(flags != 0)) - failed
    return StepSummary(done=len(flags) - failed - flagged, flagged=flagged, failed=failed, output=Path(output))


def _psd_chunk(paths) -> dict[str, np.ndarray]:
    """PSDs of the light-curve files ``paths``: the part of one PSD chunk (runs where the chunk runs)."""
    rows = []
    for path in paths:
        try:
            rows.append(_psd_row(path, read_light_curve(path)))
        except ValueError as err:
            rows.append(_psd_row(path, error=err))
    return _psd_part(paths, rows)


def compute_psd_files(inputs, output, progress: bool = True, chunk_size: int = 64, client=None) -> StepSummary:
    """Light-curve FITS files → ``output`` (a PSD HDF5 file, see :mod:`latentexplorer.io.psdfile`).

    Each file is read with lightkurve (PDCSAP flux, default quality mask, NaNs dropped, ppm) and goes
    through :func:`latentexplorer.psd.compute_psd`. A file that cannot be read or gives no PSD becomes a
    NaN row with its :class:`~latentexplorer.psd.PSDFlag` bits; a too-short light curve is computed and
    flagged ``SHORT_BASELINE``. Files are processed in chunks of ``chunk_size``, each kept as a part until
    the output is written, so an interrupted run resumes; ``client`` (dask.distributed) spreads the
    chunks over its workers, which must see the files at the same paths.
    """
    from .batch import PartStore, describe_input, plan_chunks, run_chunks

    files = [str(Path(f).resolve()) for f in find_light_curve_files(inputs)]
    if not files:
        raise ValueError("no light-curve files found in the inputs")
    chunks = plan_chunks(len(files), chunk_size)
    digest = hashlib.sha256("\n".join(json.dumps(describe_input(f)) for f in files).encode()).hexdigest()
    store = PartStore(output, {"step": "psd", "version": 1, "files_sha256": digest, "n_rows": len(files),
                               "chunk_size": int(chunk_size)})
    jobs = [(c, (files[c.start:c.stop],)) for c in chunks]
    run_chunks(_psd_chunk, jobs, store, client=client, progress=progress, desc="PSD", unit_rows="star")
    flags = []
    with psd_file_writer(output, len(files), psd_mod.frequency_grid()) as write:
        for chunk, part in store.iter_parts(chunks):
            write(chunk.start, _psd_set(part))
            flags.append(part["flags"])
    store.remove()
    return _psd_summary(np.concatenate(flags), output)


_MOCK_SURVEY = None  # the survey a forked PSD worker reads (set just before the pool forks)


def _mock_psd_row(kic: int) -> tuple:
    lc = _MOCK_SURVEY.light_curve(int(kic))
    good = lc.good
    return _psd_row(f"mock KIC {kic}", LightCurveRecord(lc.time_days[good], lc.flux_ppm[good], f"KIC {kic}", int(kic)))


def compute_mock_psds(survey, output, progress: bool = True, n_jobs: int | None = None) -> StepSummary:
    """PSDs of a :class:`~latentexplorer.mock.MockSurvey`'s Kepler stars, synthesised in memory.

    The same computation as :func:`compute_psd_files` on the survey's llc files (the quality-flagged
    cadences dropped as lightkurve's default mask does), without writing 3,000 × 7 MB of FITS first:
    the demo's shortcut. Rows follow ``survey.seismic``. ``n_jobs`` worker processes (default: the CPU
    count, at most 4; forked, so on Linux/macOS only — elsewhere it runs in one process).
    """
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    global _MOCK_SURVEY
    kics = np.asarray(survey.seismic["KIC"], dtype=np.int64)
    rows = []
    n_jobs = min(os.cpu_count() or 1, 4) if n_jobs is None else int(n_jobs)
    _MOCK_SURVEY = survey
    try:
        bar = tqdm(total=kics.size, desc="PSD", unit="star", disable=not progress)
        if n_jobs > 1 and "fork" in multiprocessing.get_all_start_methods() and kics.size > 1:
            with ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context("fork")) as pool:
                results = pool.map(_mock_psd_row, kics, chunksize=16)
                for row in results:
                    rows.append(row)
                    bar.update()
        else:
            for kic in kics:
                rows.append(_mock_psd_row(kic))
                bar.update()
        bar.close()
    finally:
        _MOCK_SURVEY = None
    part = _psd_part([f"mock KIC {kic}" for kic in kics], rows)
    write_psd_file(output, _psd_set(part))
    return _psd_summary(part["flags"], output)


def make_pairs(psd_path, spectra_path, seismic_path, output, *, numax_range=C.TRAIN_NUMAX_RANGE_UHZ,
               chunk_size: int = 1024, progress: bool = True) -> StepSummary:
    """Cross-match PSDs with spectra through the seismic catalog (KIC ↔ APOGEE_ID) into training pairs.

    Keeps the paper's training sample (section 5): 4 < ν_max < 250 μHz and a known evolutionary state,
    a PSD computed without flags and a usable spectrum. Streams the spectra in chunks, so only the
    matched ones are held in memory.

    Writes ``output`` (HDF5, chunked): ``spectra`` (N, 7514) float32 continuum-normalised, ``log_psd``
    (N, 2092) float32, ``numax`` (N,) μHz, ``APOGEE_ID``, ``KIC``, ``evolstate`` (N,), ``frequency`` (2092,).
    The summary counts catalog stars kept (done), cut by the sample definition (flagged) and lost for
    want of a PSD or a spectrum (failed).

    Raises
    ------
    ValueError
        If the PSDs are on another frequency grid, or no star can be matched at all.
    """
    from .io.seismic import read_seismic_catalog
    from .spectra import iter_normalized_spectra

    psds = read_psd_file(psd_path)
    grid = psd_mod.frequency_grid()
    if psds.frequency.shape != grid.shape or not np.allclose(psds.frequency, grid):
        raise ValueError(
            f"{psd_path}: PSDs are on another frequency grid ({psds.frequency.size} pixels, "
            f"{psds.frequency[0]:.3f}–{psds.frequency[-1]:.3f} μHz), not latentexplorer's 2092-pixel grid"
        )
    seismic = read_seismic_catalog(seismic_path)
    numax = np.asarray(seismic["NUMAX"], float)
    state = np.asarray(seismic["EVOLSTATE"]).astype(str)
    in_sample = (numax > numax_range[0]) & (numax < numax_range[1]) & np.isin(state, ("RGB", "RC"))
    psd_row = {int(k): i for i, k in enumerate(psds.kic) if psds.flags[i] == 0 and k > 0}
    kic = np.asarray(seismic["KIC"], dtype=np.int64)
    has_psd = np.array([k in psd_row for k in kic])
    candidates = np.flatnonzero(in_sample & has_psd)
    wanted = {str(seismic["APOGEE_ID"][i]).strip(): i for i in candidates}
    if not wanted:
        raise ValueError(
            f"no seismic-catalog star of {seismic_path} has both a usable PSD in {psd_path} (matched by KIC) "
            f"and 4 < ν_max < 250 μHz with a known evolutionary state"
        )
    found_rows, found_spectra = [], []
    bar = tqdm(desc="pairs", unit="spectra", disable=not progress)
    for ids, spectra, _flags in iter_normalized_spectra(spectra_path, chunk_size):
        for j, apogee_id in enumerate(np.char.strip(ids.astype(str))):
            i = wanted.get(apogee_id)
            if i is not None and np.isfinite(spectra[j]).all():
                found_rows.append(i)
                found_spectra.append(spectra[j])
        bar.update(len(ids))
    bar.close()
    if not found_rows:
        raise ValueError(f"none of the {len(wanted)} matched APOGEE_IDs has a usable spectrum in {spectra_path}")
    order = np.argsort(found_rows)
    rows = np.asarray(found_rows)[order]
    spectra = np.asarray(found_spectra, dtype=np.float32)[order]
    log_psd = psds.log_psd[[psd_row[int(k)] for k in kic[rows]]]
    n = rows.size
    with atomic_output(output, suffix=".h5") as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs["format"] = "latentexplorer.pairs/1"
        chunk = (min(n, 256),)
        h5.create_dataset("spectra", data=spectra, chunks=chunk + spectra.shape[1:], compression="lzf")
        h5.create_dataset("log_psd", data=log_psd, chunks=chunk + log_psd.shape[1:], compression="lzf")
        h5.create_dataset("numax", data=numax[rows])
        h5.create_dataset("APOGEE_ID", data=np.asarray(seismic["APOGEE_ID"][rows]).astype(str).astype(object),
                          dtype=h5py.string_dtype("utf-8"))
        h5.create_dataset("KIC", data=kic[rows])
        h5.create_dataset("evolstate", data=state[rows].astype(object), dtype=h5py.string_dtype("utf-8"))
        h5.create_dataset("frequency", data=grid).attrs["unit"] = "uHz"
    cut = int((~in_sample).sum())
    return StepSummary(done=n, flagged=cut, failed=len(seismic) - cut - n, output=Path(output))


# Column sets accepted for the kinematics, in order of preference.
KINEMATIC_COLUMNS = (
    ("PMRA", "PMDEC", "VLOS"),
    ("GAIAEDR3_PMRA", "GAIAEDR3_PMDEC", "VHELIO_AVG"),
)
APOGEE_MISSING = -9999.0  # APOGEE's sentinel for a missing value


def read_observables(path: Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """APOGEE_ID and the six heliocentric observables (RA, DEC, DIST, pmra, pmdec, vlos) of a FITS catalog.

    Raises FileNotFoundError for a missing file and ValueError when required columns are absent.
    """
    if not path.is_file():
        raise FileNotFoundError(f"catalog {path} does not exist")
    table = Table.read(path)
    kinematic = next((cols for cols in KINEMATIC_COLUMNS if set(cols) <= set(table.colnames)), None)
    missing = [name for name in ("APOGEE_ID", "RA", "DEC", "DIST") if name not in table.colnames]
    if missing:
        raise ValueError(f"{path} lacks column(s) {', '.join(missing)}")
    if kinematic is None:
        wanted = " or ".join("(" + ", ".join(cols) + ")" for cols in KINEMATIC_COLUMNS)
        raise ValueError(f"{path} needs the kinematic columns {wanted}")
    values = []
    for name in ("RA", "DEC", "DIST", *kinematic):
        column = np.ma.filled(np.ma.asarray(table[name], dtype=float), np.nan)
        values.append(np.where(column <= APOGEE_MISSING, np.nan, column))
    ids = np.char.strip(np.asarray(table["APOGEE_ID"]).astype(str))
    return ids, values


def _orbit_chunk(*observables) -> dict[str, np.ndarray]:
    """:func:`latentexplorer.galaxy.orbits.orbit_parameters` of one chunk of stars, as plain arrays."""
    from .galaxy.orbits import orbit_parameters

    table = orbit_parameters(*observables)
    return {name: np.asarray(table[name]) for name in table.colnames}


def compute_orbits(catalog_path, output, *, chunk_size: int = 20_000, progress: bool = True, client=None):
    """Galactocentric coordinates and galpy orbit parameters of every star of a FITS catalog → ``output``.

    ``catalog_path`` holds APOGEE_ID, RA, DEC, DIST (kpc) and the kinematics of :data:`KINEMATIC_COLUMNS`
    (a truth table or an allStar). Rows with missing values get NaN and a FLAG bit
    (:class:`latentexplorer.galaxy.OrbitFlag`). Chunks of ``chunk_size`` stars are kept as parts until the
    output is written (an interrupted run resumes); ``client`` (dask.distributed) spreads them over its
    workers with the same result. Returns the written astropy Table.
    """
    from .batch import PartStore, describe_input, plan_chunks, run_chunks
    from .galaxy.orbits import orbit_parameters

    ids, values = read_observables(Path(catalog_path))
    chunks = plan_chunks(len(ids), chunk_size)
    store = PartStore(output, {"step": "orbits", "version": 1, "catalog": describe_input(catalog_path),
                               "n_rows": len(ids), "chunk_size": int(chunk_size)})
    jobs = [(c, tuple(v[c.rows] for v in values)) for c in chunks]
    run_chunks(_orbit_chunk, jobs, store, client=client, progress=progress, desc="orbits", unit_rows="stars")
    template = orbit_parameters(*(v[:1] for v in values))  # the columns' units and descriptions
    parts = [part for _, part in store.iter_parts(chunks)]
    result = Table()
    for name in template.colnames:
        result[name] = np.concatenate([p[name] for p in parts])
        result[name].unit, result[name].description = template[name].unit, template[name].description
    result.add_column(ids, name="APOGEE_ID", index=0)
    with atomic_output(output, suffix=".fits") as tmp:
        result.write(tmp, format="fits", overwrite=True)
    store.remove()
    return result


@functools.lru_cache(maxsize=2)
def _cached_model(model_dir: str, stamp: int):
    """The encoder-decoder saved in ``model_dir``, loaded once per process (``stamp``: its metadata's
    mtime, so a retrained model is reloaded).

    TensorFlow keeps its default thread count (the machine's cores) in Dask workers too: oneDNN splits
    a convolution's work by thread count, which can change a latent's last bit, so a worker encodes
    exactly as a single process on the same machine does."""
    from .ved import VariationalEncoderDecoder

    return VariationalEncoderDecoder.load(model_dir)


def load_model_cached(model_dir):
    """:meth:`VariationalEncoderDecoder.load` of ``model_dir``, cached per process."""
    model_dir = Path(model_dir).resolve()
    metadata = model_dir / "metadata.json"
    return _cached_model(str(model_dir), metadata.stat().st_mtime_ns if metadata.is_file() else 0)


def _encode_chunk(model_dir: str, spectra_path: str, start: int, stop: int) -> dict:
    """Latents of spectra ``start:stop``: the part of one encode chunk (runs where the chunk runs)."""
    from .spectra import read_normalized_spectra

    ved = load_model_cached(model_dir)
    apogee_id, spectra, flag = read_normalized_spectra(spectra_path, start, stop)
    usable = np.isfinite(spectra).any(axis=1)
    mean = np.full((len(spectra), ved.latent_dim), np.nan, np.float32)
    std = mean.copy()
    if usable.any():
        mean[usable], std[usable] = ved.encode(spectra[usable])
    return {"APOGEE_ID": apogee_id.astype(str), "z_mean": mean, "z_std": std, "flag": flag.astype(np.int32)}


def encode_spectra_file(model_dir, spectra_path, output, chunk_size: int = 1024, progress: bool = True,
                        client=None) -> tuple[int, int]:
    """Encode every spectrum of ``spectra_path`` with the model in ``model_dir`` into ``output``.

    Streams in chunks of ``chunk_size`` spectra (memory bounded by the chunk size, not the survey),
    each chunk's latents kept as a part file, so an interrupted run resumes where it stopped (see
    :mod:`latentexplorer.batch`); ``client`` (a dask.distributed Client) spreads the chunks over its
    workers with the same result. Unusable spectra get NaN latents.

    ``output`` (HDF5, written atomically once every chunk is done): APOGEE_ID (N,) str, z_mean, z_std
    (N, latent_dim) float32, flag (N,) int32 :class:`~latentexplorer.spectra.SpectrumFlag` bits; attrs
    ``model_fingerprint`` and ``latent_dim``.

    Returns
    -------
    (stars, unusable) counts.
    """
    from .batch import PartStore, describe_input, plan_chunks, run_chunks
    from .spectra import count_spectra

    model_dir, spectra_path, output = Path(model_dir), Path(spectra_path), Path(output)
    ved = load_model_cached(model_dir)
    n = count_spectra(spectra_path)
    if n == 0:
        raise ValueError(f"{spectra_path} holds no spectra")
    chunks = plan_chunks(n, chunk_size)
    fingerprint = ved.training_.get("fingerprint", "")
    store = PartStore(output, {"step": "encode", "version": 1, "model": describe_input(model_dir / "model.keras"),
                               "model_fingerprint": fingerprint, "spectra": describe_input(spectra_path),
                               "n_rows": n, "chunk_size": int(chunk_size)})
    jobs = [(c, (str(model_dir.resolve()), str(spectra_path.resolve()), c.start, c.stop)) for c in chunks]
    run_chunks(_encode_chunk, jobs, store, client=client, progress=progress, desc="encoding", unit_rows="spectra")
    k = ved.latent_dim
    n_bad = 0
    with atomic_output(output, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        rows = (min(n, 16384),)
        datasets = {
            "APOGEE_ID": f.create_dataset("APOGEE_ID", (n,), dtype=h5py.string_dtype("utf-8"), chunks=rows),
            "z_mean": f.create_dataset("z_mean", (n, k), dtype="f4", chunks=rows + (k,)),
            "z_std": f.create_dataset("z_std", (n, k), dtype="f4", chunks=rows + (k,)),
            "flag": f.create_dataset("flag", (n,), dtype="i4", chunks=rows),
        }
        f.attrs["model_fingerprint"] = fingerprint
        f.attrs["latent_dim"] = k
        for chunk, part in store.iter_parts(chunks):
            for name, dataset in datasets.items():
                dataset[chunk.start:chunk.stop] = part[name].astype(object) if name == "APOGEE_ID" else part[name]
            n_bad += int(np.isnan(part["z_mean"][:, 0]).sum())
    store.remove()
    return n, n_bad


def read_pairs(path):
    """spectra (N, 7514) float32, log_psd (N, k) float32, numax (N,) μHz, frequency (k,) μHz of a pairs file."""
    from .io.hdf5 import open_product

    with open_product(path, ("spectra", "log_psd", "numax", "frequency"), "pairs") as f:
        return (f["spectra"][()].astype(np.float32), f["log_psd"][()].astype(np.float32),
                f["numax"][()].astype(float), f["frequency"][()].astype(float))


#: Sub-directory of a model directory holding the per-epoch training checkpoint.
CHECKPOINT_SUBDIR = "checkpoint"


def train_model(pairs_path, model_dir, *, epochs: int = 100, batch_size: int = 128, latent_dim: int = 5,
                validation_fraction: float = 0.1, seed: int = 0, kl_warmup_epochs: int = 0, resume: bool = True,
                progress: bool = True) -> str:
    """Train the encoder-decoder on a pairs file and save it to ``model_dir`` (checkpoints in
    ``model_dir/checkpoint``; ``resume`` continues an interrupted run; ``kl_warmup_epochs`` see
    :class:`~latentexplorer.ved.TrainingConfig`). Returns a one-line summary."""
    from .ved import VariationalEncoderDecoder

    spectra, log_psd, numax, frequency = read_pairs(Path(pairs_path))
    model_dir = Path(model_dir)
    ved = VariationalEncoderDecoder(latent_dim, frequency=frequency).fit(
        spectra, log_psd, numax, epochs=epochs, batch_size=batch_size, validation_fraction=validation_fraction,
        seed=seed, checkpoint_dir=model_dir / CHECKPOINT_SUBDIR, resume=resume, progress=progress,
        kl_warmup_epochs=kl_warmup_epochs,
    )
    ved.save(model_dir)
    t = ved.training_
    stop = ", early stop" if t["stopped_early"] else ""
    return (f"{t['n_train']} training / {t['n_val']} validation pairs, {t['epochs_run']} epochs{stop}, best "
            f"validation loss {t['best_val_loss']:.5g} (epoch {t['best_epoch']}) on {t['device']}")


# --- The demo: the whole pipeline on the mock survey ------------------------------------------------------

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


def build_demo_workspace(path, size: str = "demo", seed: int = 0, progress: bool = True) -> dict:
    """Run every step on the mock survey into the workspace at ``path``; stages already done are kept.

    simulate → PSD → pairs → train → encode → ages → catalog → orbits → report. A stage is skipped when
    its output exists and the workspace was built with the same size and seed (``demo.json``); a
    different size or seed starts afresh. Training checkpoints every epoch, so an interrupted build
    resumes where it stopped.

    Returns
    -------
    dict stage → (seconds, summary text), for the stages run now.
    """
    import json
    import shutil
    import time

    from . import __version__
    from .workspace import Workspace

    if size not in DEMO_SIZES:
        raise ValueError(f"size must be one of {sorted(DEMO_SIZES)}, got {size!r}")
    spec = DEMO_SIZES[size]
    ws = Workspace(path)
    stamp = {"size": size, "seed": int(seed), "version": __version__, **spec.__dict__}
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
            mock().write(ws.root, progress=progress, light_curves=spec.example_light_curves)
            return f"{spec.n_stars} stars, {spec.n_kepler} Kepler giants"
        if name == "psd":
            return str(compute_mock_psds(mock(), ws.psd, progress=progress))
        if name == "pairs":
            return str(make_pairs(ws.psd, ws.spectra, ws.seismic, ws.pairs, progress=progress))
        if name == "train":
            return train_model(ws.pairs, ws.model, epochs=spec.epochs, batch_size=spec.batch_size, seed=seed,
                               progress=progress)
        if name == "encode":
            n, bad = encode_spectra_file(ws.model, ws.spectra, ws.latent, 1024, progress)
            return f"{n - bad} of {n} spectra encoded"
        if name == "ages":
            from .ages import train_age_model

            return str(train_age_model(ws, n_train=spec.n_age_train, n_trees=spec.n_trees, seed=seed,
                                       progress=progress))
        if name == "catalog":
            from .catalog import build_catalog

            return str(build_catalog(ws, progress=progress))
        if name == "orbits":
            table = compute_orbits(ws.allstar, ws.orbits, progress=progress)
            return f"{int(np.count_nonzero(np.asarray(table['FLAG']) == 0))} of {len(table)} stars with orbits"
        from .report import write_report

        return str(write_report(ws))

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
