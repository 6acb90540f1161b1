"""The PSD step: light-curve files (or a mock survey's light curves) → a PSD file (``psd.h5``).

Each step reads its inputs, never dies on one bad star (the row is NaN and flagged), writes its output
atomically and returns a :class:`~latentexplorer.steps.summary.StepSummary`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import multiprocessing
import os
import warnings
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import psd as psd_mod
from ..io.lightcurves import LightCurveRecord, read_light_curve
from ..io.psdfile import PSDSet, psd_file_writer, write_psd_file
from .runtime.outputs import locks_output
from .runtime.provenance import records_provenance
from ..processes import worker_pool
from .summary import StepSummary

log = logging.getLogger(__name__)

__all__ = ["LIGHT_CURVE_PATTERNS", "find_light_curve_files", "compute_psd_files", "compute_mock_psds", "default_jobs"]

LIGHT_CURVE_PATTERNS = ("*.fits", "*.fits.gz", "*.fit")


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
    """(target_id, kic, tic, n_points, baseline_days, log_psd or None, flags) of one light curve — or of an
    unreadable file (``record`` None, ``error`` why). Every flagged light curve is logged as one warning line
    naming ``source`` and the reason."""
    if record is None:
        log.warning("%s", error)
        return source, -1, -1, 0, np.nan, None, psd_mod.PSDFlag.UNREADABLE
    baseline = np.ptp(record.time_days) if record.time_days.size else np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", psd_mod.PSDQualityWarning)
        try:
            log_psd, flags = psd_mod.compute_psd(record.time_days, record.flux_ppm, return_flags=True)
        except psd_mod.InvalidLightCurveError as err:
            log.warning("%s: %s", source, err)
            log_psd, flags = None, err.flags
    for warning in caught:  # a computed but flagged PSD (SHORT_BASELINE, UNDERSAMPLED)
        log.warning("%s: %s", source, warning.message)
    return record.target_id, record.kic, record.tic, record.time_days.size, baseline, log_psd, flags


def _psd_part(sources, rows) -> dict[str, np.ndarray]:
    """The :func:`_psd_row` results of several stars as one part (plain arrays, NaN rows where failed)."""
    grid = psd_mod.frequency_grid()
    log_psd = np.full((len(rows), grid.size), np.nan, dtype=np.float32)
    for i, row in enumerate(rows):
        if row[5] is not None:
            log_psd[i] = row[5]
    return {
        "source": np.asarray(sources, dtype=str), "target_id": np.asarray([r[0] for r in rows], dtype=str),
        "kic": np.asarray([r[1] for r in rows], dtype=np.int64), "tic": np.asarray([r[2] for r in rows], np.int64),
        "n_points": np.asarray([r[3] for r in rows], np.int64),
        "baseline_days": np.asarray([r[4] for r in rows], dtype=np.float64), "log_psd": log_psd,
        "flags": np.asarray([int(r[6]) for r in rows], dtype=np.uint16),
    }


def _psd_set(part: dict) -> PSDSet:
    return PSDSet(part["target_id"], part["kic"], part["tic"], psd_mod.frequency_grid(), part["log_psd"],
                  part["flags"], part["source"], part["baseline_days"], part["n_points"])


def _describe_file(path) -> dict:
    """:func:`~latentexplorer.steps.runtime.batch.describe_input` of a light-curve file, or its path alone where it cannot be
    read (a broken link or a link loop: the file becomes an UNREADABLE row, the batch goes on)."""
    from .runtime.batch import describe_input

    try:
        return describe_input(path)
    except (OSError, RuntimeError):  # RuntimeError: pathlib's link loop before Python 3.13
        return {"path": str(path), "unreadable": True}


def _psd_summary(flags, output) -> StepSummary:
    failed = int(np.sum((flags & int(psd_mod.FATAL_FLAGS)) != 0))
    flagged = int(np.sum(flags != 0)) - failed
    return StepSummary(done=len(flags) - failed - flagged, flagged=flagged, failed=failed, output=Path(output))


def _psd_file_row(path) -> tuple:
    """:func:`_psd_row` of one light-curve file (an UNREADABLE row where it cannot be read)."""
    try:
        return _psd_row(path, read_light_curve(path))
    except ValueError as err:
        return _psd_row(path, error=err)


def _psd_chunk(paths, map_rows=map) -> dict[str, np.ndarray]:
    """PSDs of the light-curve files ``paths``: the part of one PSD chunk (runs where the chunk runs).
    ``map_rows`` computes the rows (:func:`_row_map`'s, to spread them over this machine's cores)."""
    return _psd_part(paths, list(map_rows(_psd_file_row, paths)))


def default_jobs() -> int:
    """The number of CPUs this process may run on (its affinity mask where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextlib.contextmanager
def _row_map(n_jobs: int, chunksize: int = 1):
    """A ``map(func, items)`` computing ``func(item)`` for every item, in order: the built-in ``map`` for
    ``n_jobs`` ≤ 1 or where processes cannot be forked (Windows), else ``n_jobs`` forked worker processes
    kept for the block. A row is the same function of its item in either, so the results are bit-identical;
    forked workers inherit this process's memory (the mock survey) instead of receiving it pickled."""
    if n_jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield map
        return
    with worker_pool(n_jobs, "fork") as pool:
        yield functools.partial(pool.map, chunksize=chunksize)


@locks_output(lambda a: a["output"])
@records_provenance("psd", lambda a: a["output"], lambda a: a["inputs"])
def compute_psd_files(inputs, output, progress: bool = True, chunk_size: int = 64, client=None,
                      overwrite: bool = False, n_jobs: int | None = None) -> StepSummary:
    """Light-curve FITS files → ``output`` (a PSD HDF5 file, see :mod:`latentexplorer.io.psdfile`).

    Each file is read with lightkurve (PDCSAP flux, default quality mask, NaNs dropped, ppm; its target key,
    KIC or TIC, from the header) and goes through :func:`latentexplorer.psd.compute_psd`, the array form of
    :func:`~latentexplorer.psd.compute_power_spectrum` (the rows go to one (n, 2092) dataset). A file that
    cannot be read or gives no PSD becomes a NaN row with its :class:`~latentexplorer.psd.PSDFlag` bits; a
    too-short light curve, or one whose cadence cannot carry the grid's frequencies, is computed and flagged
    (``SHORT_BASELINE``, ``UNDERSAMPLED``); each flagged file is one warning line, and ``pairs`` uses only
    unflagged PSDs. Files are processed in chunks of ``chunk_size``, each kept as a part until the output is
    written, so an interrupted run resumes; ``client`` (dask.distributed) spreads the chunks over its
    workers, which must see the files at the same paths. ``output`` may not be an input, nor replace a file that is not a PSD file
    without ``overwrite`` (:func:`latentexplorer.steps.runtime.outputs.check_output`).
    """
    from .runtime.batch import PartStore, plan_chunks, run_chunks
    from .runtime.outputs import as_paths, check_output, resolved_path

    # a broken link or a link loop keeps its own name, to be flagged unreadable under it
    files = [str(resolved_path(f, strict=True)) for f in find_light_curve_files(as_paths(inputs))]
    if not files:
        raise ValueError("no light-curve files found in the inputs")
    check_output(output, "psd", files, overwrite)  # the light curves are the inputs, not their directories
    chunks = plan_chunks(len(files), chunk_size)
    digest = hashlib.sha256("\n".join(json.dumps(_describe_file(f)) for f in files).encode()).hexdigest()
    store = PartStore(output, {"step": "psd", "version": 2, "files_sha256": digest, "n_rows": len(files),
                               "chunk_size": int(chunk_size)})
    jobs = [(c, (files[c.start:c.stop],)) for c in chunks]
    with _row_map(1 if client is not None else default_jobs() if n_jobs is None else int(n_jobs)) as map_rows:
        chunk = _psd_chunk if map_rows is map else functools.partial(_psd_chunk, map_rows=map_rows)
        run_chunks(chunk, jobs, store, client=client, progress=progress, desc="PSD", unit_rows="star")
    flags = []
    with psd_file_writer(output, len(files), psd_mod.frequency_grid()) as write:
        for chunk, part in store.iter_parts(chunks):
            write(chunk.start, _psd_set(part))
            flags.append(part["flags"])
    store.remove()
    return _psd_summary(np.concatenate(flags), output)


#: The survey of the running :func:`compute_mock_psds` (its forked workers inherit it), else None.
_MOCK_SURVEY = None


def _mock_psd_row(kic) -> tuple:
    """:func:`_psd_row` of the mock light curve of the Kepler star ``kic`` of the survey being processed."""
    lc = _MOCK_SURVEY.light_curve(int(kic))
    good = lc.good
    record = LightCurveRecord(lc.time_days[good], lc.flux_ppm[good], f"KIC {kic}", int(kic), -1)
    return _psd_row(f"mock KIC {kic}", record)


@locks_output(lambda a: a["output"])
@records_provenance("psd", lambda a: a["output"], lambda a: a["survey"].written_files("seismic", "truth"))
def compute_mock_psds(survey, output, progress: bool = True, n_jobs: int | None = None,
                      overwrite: bool = False) -> StepSummary:
    """PSDs of a :class:`~latentexplorer.mock.MockSurvey`'s Kepler stars, synthesised in memory.

    The same computation as :func:`compute_psd_files` on the survey's llc files (the quality-flagged
    cadences dropped as lightkurve's default mask does), without writing 3,000 × 7 MB of FITS first:
    the demo's shortcut. Rows follow ``survey.seismic``. ``n_jobs`` worker processes (default: every CPU
    this process may use; forked, so on Linux/macOS only — elsewhere it runs in one process) inherit the
    survey and take the stars a few at a time; the output does not depend on ``n_jobs``.
    """
    global _MOCK_SURVEY
    from .runtime.outputs import check_output

    check_output(output, "psd", (), overwrite)
    kics = np.asarray(survey.seismic["KIC"], dtype=np.int64)
    rows = []
    _MOCK_SURVEY = survey
    try:
        with tqdm(total=kics.size, desc="PSD", unit="star", disable=not progress) as bar, \
                _row_map(default_jobs() if n_jobs is None else int(n_jobs), chunksize=4) as map_rows:
            for row in map_rows(_mock_psd_row, kics.tolist()):
                rows.append(row)
                bar.update()
    finally:
        _MOCK_SURVEY = None
    part = _psd_part([f"mock KIC {kic}" for kic in kics], rows)
    write_psd_file(output, _psd_set(part))
    return _psd_summary(part["flags"], output)
