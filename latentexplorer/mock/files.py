"""The mock survey's files: their names, the room they take, and the writers of the spectra, the Kepler light
curves and the README (the catalogs are written by :mod:`latentexplorer.io`). :meth:`latentexplorer.mock.MockSurvey.
write` decides what goes where; the functions here only write what they are given.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..io.atomic import atomic_output
from ..processes import worker_pool

__all__ = ["SURVEY_DIRNAME", "TRUTH_FILENAME", "ALLSTAR_FILENAME", "SEISMIC_FILENAME", "SPECTRA_FILENAME",
           "APSTAR_DIRNAME", "KEPLER_DIRNAME", "README_FILENAME", "SPECTRA_FORMATS", "existing_survey_files",
           "estimate_survey_bytes", "check_survey_fits", "prepare_directory", "write_spectra", "write_light_curves",
           "remove_earlier_light_curves", "write_readme"]

log = logging.getLogger(__name__)

SURVEY_DIRNAME = "survey"
TRUTH_FILENAME = "truth.fits"
ALLSTAR_FILENAME = "allStar.fits"
SEISMIC_FILENAME = "seismic.fits"
SPECTRA_FILENAME = "spectra.h5"
APSTAR_DIRNAME = "apStar"
KEPLER_DIRNAME = "kepler"
README_FILENAME = "README.txt"
SPECTRA_FORMATS = ("stacked", "apstar", "normalized")


def existing_survey_files(directory) -> list[str]:
    """Which of the files :meth:`~latentexplorer.mock.MockSurvey.write` writes already exist under ``directory`` (relative names)."""
    root = Path(directory)
    names = [TRUTH_FILENAME, *(f"{SURVEY_DIRNAME}/{name}" for name in
                               (ALLSTAR_FILENAME, SEISMIC_FILENAME, SPECTRA_FILENAME, APSTAR_DIRNAME, KEPLER_DIRNAME))]
    return [name for name in names if (root / name).exists()]


#: Bytes a survey takes per star, measured on this package's own writes (2026-12-05, 10,000 stars): memory while
#: simulating and writing (~2 KB, doubled for safety), the catalogs (truth + allStar + seismic), each spectra
#: format (the normalised file compresses to ~23 KB; its 7514 float32 pixels bound it) and a Kepler light curve.
_BYTES_PER_STAR = {"memory": 4_000, "tables": 1_000, "stacked": 46_000, "normalized": 31_000, "apstar": 115_000,
                   "light_curve": 7_300_000}


def estimate_survey_bytes(n_stars: int, n_kepler: int, spectra_format: str = "stacked",
                          light_curves: int | None = None) -> tuple[int, int]:
    """(memory, disk) in bytes that :func:`~latentexplorer.mock.simulate_survey` and :meth:`~latentexplorer.mock.MockSurvey.write` need for a survey of
    ``n_stars`` stars, ``n_kepler`` of them Kepler targets with ``light_curves`` light-curve files (default:
    all): upper bounds from :data:`_BYTES_PER_STAR`."""
    per = _BYTES_PER_STAR
    n_lc = n_kepler if light_curves is None else min(light_curves, n_kepler)
    memory = 300_000_000 + per["memory"] * n_stars  # the interpreter and its libraries, then the tables
    return memory, n_stars * (per["tables"] + per[spectra_format]) + n_lc * per["light_curve"]


def check_survey_fits(directory, n_stars: int, n_kepler: int, spectra_format: str = "stacked",
                      light_curves: int | None = None) -> None:
    """Refuse (ValueError for memory, OSError ENOSPC for disk; one line with both sizes) a survey that this machine's memory or
    the free space of ``directory`` cannot hold (:func:`estimate_survey_bytes`), before anything is drawn."""
    import errno
    import shutil

    memory, disk = estimate_survey_bytes(n_stars, n_kepler, spectra_format, light_curves)
    total_memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if memory > total_memory:
        raise ValueError(f"a survey of {n_stars:,} stars needs about {_size(memory)} of memory to simulate, this "
                          f"machine has {_size(total_memory)}; ask for fewer stars")
    directory = Path(directory)
    existing = next(p for p in (directory, *directory.parents) if p.exists())  # it may not be made yet
    free = shutil.disk_usage(existing).free
    if disk > free:
        raise OSError(errno.ENOSPC, f"a survey of {n_stars:,} stars ({spectra_format} spectra) needs about "
                                    f"{_size(disk)} in {directory}, {_size(free)} free; ask for fewer stars or "
                                    "light curves (--light-curves)")


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000


def prepare_directory(path) -> Path:
    """Create ``path`` (and parents) if needed and check it is a writable directory; returns it as a Path.

    Raises FileExistsError if it is a file, PermissionError if it cannot be created or written.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"output {path} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise PermissionError(f"cannot create output directory {path}: {err.strerror}") from err
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"output directory {path} is not writable")
    return path


def write_spectra(survey: Path, spectra_format: str, ids, blocks, total: int, progress: bool) -> Path:
    """Write the ``(rows, spectra)`` ``blocks`` (:meth:`latentexplorer.mock.MockSurvey.iter_spectra`, ``total`` stars;
    ``ids`` every star's APOGEE_ID) under the ``survey`` directory in ``spectra_format``: one apStar FITS file per
    star in ``apStar/``, or one HDF5 file ``spectra.h5``, stacked or normalised. Returns the file or directory."""
    from ..io.apogee_spectra import NormalizedSpectraWriter, StackedSpectraWriter, write_apstar

    bar = tqdm(total=total, desc="spectra", unit="star", disable=not progress)
    if spectra_format == "apstar":
        path = prepare_directory(survey / APSTAR_DIRNAME)
        for rows, (flux, err, mask) in blocks:
            for i, apogee_id in enumerate(ids[rows]):
                write_apstar(path / f"apStar-{apogee_id}.fits", apogee_id, flux[i], err[i], mask[i])
            bar.update(flux.shape[0])
    else:
        path = survey / SPECTRA_FILENAME
        writer = NormalizedSpectraWriter(path) if spectra_format == "normalized" else StackedSpectraWriter(path)
        with writer:
            for rows, arrays in blocks:
                if spectra_format == "normalized":
                    writer.append(ids[rows], arrays)
                else:
                    writer.append(ids[rows], *arrays)
                bar.update(len(ids[rows]))
    bar.close()
    return path


def _light_curve_job(job) -> str:
    """Synthesise and write one star's llc file (runs in a worker process); returns the file name."""
    from ..io.kepler import kepler_llc_filename, write_kepler_llc
    from .lightcurves import synthesize_light_curve

    directory, seed_sequence, kic, numax, deltanu, evolstate, kepmag, teff, ra, dec = job
    lc = synthesize_light_curve(numax, deltanu, evolstate, kepmag, np.random.default_rng(seed_sequence), teff=teff)
    name = kepler_llc_filename(kic)
    write_kepler_llc(Path(directory) / name, kic, lc.time_days, lc.flux_ppm, lc.flux_err_ppm, lc.quality,
                     kepmag=kepmag, ra=ra, dec=dec)
    return name


def write_light_curves(directory: Path, stars, n_jobs: int, progress: bool) -> set[str]:
    """Write one llc file in ``directory`` for each of ``stars``: tuples (its random stream's SeedSequence, KIC,
    ν_max, Δν, evolutionary state, Kepler magnitude, Teff, RA, Dec), by ``n_jobs`` worker processes (the files do
    not depend on it). Returns the file names."""
    jobs = [(str(directory), *star) for star in stars]
    bar = tqdm(total=len(jobs), desc="light curves", unit="star", disable=not progress)
    written = set()
    if n_jobs == 1 or len(jobs) < 2:
        for job in jobs:
            written.add(_light_curve_job(job))
            bar.update()
    else:
        with worker_pool(n_jobs) as pool:
            for name in pool.map(_light_curve_job, jobs, chunksize=8):
                written.add(name)
                bar.update()
    bar.close()
    return written


def remove_earlier_light_curves(directory: Path, written: set[str]) -> int:
    """Remove the mock light curves in ``directory`` that an earlier survey wrote (their header says this package
    made them, :func:`latentexplorer.io.kepler.is_mock_light_curve`) and this one did not (``written``: file
    names); a real light curve, or any file of yours, stays. Returns how many were removed."""
    from ..io.kepler import is_mock_light_curve

    earlier = [p for p in directory.glob("kplr*_llc.fits") if p.name not in written and is_mock_light_curve(p)]
    for path in earlier:
        path.unlink()
    if earlier:
        log.info("%s: removed %d light curves of an earlier mock survey", directory, len(earlier))
    return len(earlier)


_README = """Mock APOGEE-Kepler survey written by latentexplorer {version} (seed {seed}).
{n_stars} APOGEE giants, {n_kepler} of them Kepler targets with seismic parameters.
The true parameters of every star are in ../{truth}.

{allstar}    allStar-like catalog (APOGEE DR17 column names; HDU1). Missing ASPCAP values are NaN,
                missing Gaia values -9999; see STARFLAG / ASPCAPFLAG (DR17 bitmasks).
{seismic}    seismic catalog of the Kepler subset (KIC, APOGEE_ID, NUMAX, DNU [uHz] with errors,
                EVOLSTATE RGB/RC, MASS [Msun], AGE [Gyr] with errors; like APOKASC-2 / Miglio et al. 2021).
{spectra}
{kepler}/         Kepler long-cadence light curves, kplr<KIC>-<stamp>_llc.fits (lightkurve.read opens them).
"""


def write_readme(path, seed: int, n_stars: int, n_kepler: int, spectra_format: str,
                 n_spectra: int | None = None) -> None:
    """Write the survey's README.txt at ``path``: what its files are (``n_spectra``: how many stars' spectra were
    written, when not all)."""
    from .. import __version__

    spectra = {
        "stacked": f"{SPECTRA_FILENAME}      stacked apStar-like spectra (HDF5: APOGEE_ID, flux, flux_err, "
                   "bitmask; 8575 pixels, truth.fits row order)",
        "normalized": f"{SPECTRA_FILENAME}      continuum-normalised spectra (HDF5: APOGEE_ID, spectra; 7514 "
                      "pixels, truth.fits row order)",
        "apstar": f"{APSTAR_DIRNAME}/          apStar-<APOGEE_ID>.fits (FLUX, ERROR, MASK HDUs; 8575 pixels)",
    }[spectra_format]
    if n_spectra is not None:
        spectra += (f"\n                spectra of {n_spectra} of the {n_stars} stars (the Kepler stars and a "
                    "sample);\n                the others' spectra are synthesised in memory for encoding")
    text = _README.format(
        version=__version__, seed=seed, n_stars=n_stars, n_kepler=n_kepler,
        truth=TRUTH_FILENAME, allstar=ALLSTAR_FILENAME, seismic=SEISMIC_FILENAME, spectra=spectra,
        kepler=KEPLER_DIRNAME,
    )
    with atomic_output(path) as tmp:
        tmp.write_text(text)
