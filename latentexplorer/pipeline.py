"""The pipeline's steps over files and workspaces, shared by the CLI and the demo.

Each step reads its inputs, never dies on one bad star (the row is NaN and flagged), writes its output
atomically and returns a small summary.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import psd as psd_mod
from .io.lightcurves import read_light_curve
from .io.psdfile import PSDSet, write_psd_file

log = logging.getLogger(__name__)

__all__ = ["StepSummary", "find_light_curve_files", "compute_psd_files"]

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


def compute_psd_files(inputs, output, progress: bool = True) -> StepSummary:
    """Light-curve FITS files → ``output`` (a PSD HDF5 file, see :mod:`latentexplorer.io.psdfile`).

    Each file is read with lightkurve (PDCSAP flux, default quality mask, NaNs dropped, ppm) and goes
    through :func:`latentexplorer.psd.compute_psd`. A file that cannot be read or gives no PSD becomes a
    NaN row with its :class:`~latentexplorer.psd.PSDFlag` bits; a too-short light curve is computed and
    flagged ``SHORT_BASELINE``.
    """
    files = find_light_curve_files(inputs)
    if not files:
        raise ValueError("no light-curve files found in the inputs")
    grid = psd_mod.frequency_grid()
    n = len(files)
    log_psd = np.full((n, grid.size), np.nan, dtype=np.float32)
    flags = np.zeros(n, dtype=np.uint16)
    target = np.empty(n, dtype=object)
    kic = np.full(n, -1, dtype=np.int64)
    baseline = np.full(n, np.nan)
    n_points = np.zeros(n, dtype=np.int64)
    for i, path in enumerate(tqdm(files, desc="PSD", unit="star", disable=not progress)):
        target[i] = path.name
        try:
            record = read_light_curve(path)
        except ValueError as err:
            log.warning("%s", err)
            flags[i] = psd_mod.PSDFlag.UNREADABLE
            continue
        target[i], kic[i] = record.target_id, record.kic
        n_points[i] = record.time_days.size
        baseline[i] = np.ptp(record.time_days) if record.time_days.size else np.nan
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", psd_mod.PSDQualityWarning)
                log_psd[i], flags[i] = psd_mod.compute_psd(record.time_days, record.flux_ppm, return_flags=True)
        except psd_mod.InvalidLightCurveError as err:
            log.warning("%s: %s", path, err)
            flags[i] = err.flags
    write_psd_file(
        output,
        PSDSet(target, kic, grid, log_psd, flags, np.array([str(p) for p in files], dtype=object), baseline, n_points),
    )
    failed = int(np.sum((flags & int(psd_mod.FATAL_FLAGS)) != 0))
    flagged = int(np.sum(flags != 0)) - failed
    return StepSummary(done=n - failed - flagged, flagged=flagged, failed=failed, output=Path(output))
