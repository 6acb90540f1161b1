"""The mock APOGEE–Kepler survey: truth, observed catalogs and the files of a workspace ``survey/``.

:func:`simulate_survey` draws the population (:mod:`latentexplorer.mock.population`) and "observes"
it: an allStar-like catalog of ASPCAP-like measurements (truth + errors, a few flagged rows with missing
values), and for the Kepler subset a seismic catalog like APOKASC-2 / Miglio et al. 2021 (ν_max, Δν
with pipeline-like errors, masses from the scaling relations, ages with 12–25 % errors, median 18 %).
:meth:`MockSurvey.write` then streams the spectra (synthesised from the *true* labels) and the Kepler
light curves to disk with bounded memory::

    DIRECTORY/truth.fits            every true parameter, one row per star
    DIRECTORY/survey/allStar.fits   allStar-like catalog (DR17 column names)
    DIRECTORY/survey/seismic.fits   seismic catalog of the Kepler subset
    DIRECTORY/survey/spectra.h5     stacked apStar-like spectra   (spectra_format='stacked')
    DIRECTORY/survey/apStar/        apStar-<APOGEE_ID>.fits files (spectra_format='apstar')
    DIRECTORY/survey/spectra.h5     normalised 7514-pixel spectra (spectra_format='normalized', the
                                    compact form for survey-sized mocks: 30 kB a star instead of ~70 kB)
    DIRECTORY/survey/kepler/        kplr<KIC>-<stamp>_llc.fits files
    DIRECTORY/survey/README.txt     what the files are, written last

Randomness: every part has its own stream derived from the seed with
``numpy.random.SeedSequence(seed, spawn_key=...)`` — the population, the catalog errors, one stream
per block of :data:`SPECTRA_BLOCK` spectra and one per light curve — so the same seed gives the same
files, byte for byte, whatever the order or the number of worker processes they are written with.
"""

from __future__ import annotations


import logging
import os
from pathlib import Path

import numpy as np
from astropy.table import Table
from tqdm.auto import tqdm

from ..io.allstar import ASPCAPFLAG_BITS, MISSING_VALUE, STARFLAG_BITS, write_allstar
from ..io.atomic import atomic_output
from ..io.seismic import write_seismic_catalog
from ..io.truth import write_truth
from ..processes import worker_pool
from ..seismo import scaling_mass
from .population import draw_population

__all__ = [
    "MockSurvey",
    "simulate_survey",
    "SPECTRA_BLOCK",
    "SURVEY_DIRNAME",
    "TRUTH_FILENAME",
    "ALLSTAR_FILENAME",
    "SEISMIC_FILENAME",
    "SPECTRA_FILENAME",
    "APSTAR_DIRNAME",
    "KEPLER_DIRNAME",
    "README_FILENAME",
    "prepare_directory",
]

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

#: Spectra are synthesised in blocks of this many stars, each block with its own random stream.
SPECTRA_BLOCK = 64

# spawn_key[0] of each random stream
_POPULATION, _CATALOGS, _SPECTRA, _LIGHT_CURVES = range(4)


def _stream(entropy, *key) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=key))


# --- Observing the truth ---------------------------------------------------------------------------
def _label_errors(snr):
    """ASPCAP-like 1σ errors at per-pixel S/N ``snr``: dict of arrays (K for Teff, dex otherwise)."""
    s = 100.0 / snr
    return {
        "TEFF": 40.0 + 30.0 * s,
        "LOGG": 0.04 + 0.03 * s,
        "FE_H": 0.015 + 0.02 * s,
        "M_H": 0.015 + 0.02 * s,
        "ALPHA_M": 0.01 + 0.015 * s,
        "C_FE": 0.02 + 0.03 * s,
        "N_FE": 0.03 + 0.04 * s,
    }


def _gaia_parallax_error(gmag):
    """Gaia EDR3-like parallax error (mas) at G magnitude ``gmag`` (≈ Kepler magnitude for giants)."""
    return 0.015 + 0.03 * 10 ** (0.2 * (gmag - 16.0))


def _field_names(truth) -> np.ndarray:
    """APOGEE-style field names: 'KEPLER' in the Kepler field, else 'lll±bb' of the nearest 6°×4° grid point."""
    l_grid = (np.round(np.asarray(truth["GLON"]) / 6.0).astype(int) * 6) % 360
    b_grid = np.round(np.asarray(truth["GLAT"]) / 4.0).astype(int) * 4
    names = np.array([f"{a:03d}{b:+03d}" for a, b in zip(l_grid, b_grid)], dtype="U16")
    return np.where(np.asarray(truth["KIC"]) > 0, "KEPLER", names)


def observe_allstar(truth, rng) -> Table:
    """An allStar-like catalog of ``truth``: ASPCAP-like measurements, Gaia astrometry, flags.

    Measurements are truth + Gaussian errors (see ``*_ERR``). About 2 % of stars carry
    STARFLAG PERSIST_HIGH with SNREV lowered to 10–35 % of the S/N; 1 % BRIGHT_NEIGHBOR; 0.5 %
    ASPCAPFLAG STAR_BAD with every ASPCAP parameter NaN (DR17 blanks them); another 0.5 % have no
    [Fe/H] (NaN, M_H_BAD); 0.5 % have no Gaia EDR3 match (GAIAEDR3_* = −9999, as DR17 does).
    """
    n = len(truth)
    snr = np.asarray(truth["SNR"], float)
    out = Table()
    out["APOGEE_ID"] = truth["APOGEE_ID"]
    out["TELESCOPE"] = np.where(np.asarray(truth["DEC"]) < -20.0, "lco25m", "apo25m")
    out["FIELD"] = _field_names(truth)
    out["RA"], out["DEC"] = truth["RA"], truth["DEC"]

    persist = rng.random(n) < 0.02
    out["SNREV"] = snr * np.where(persist, rng.uniform(0.1, 0.35, n), rng.uniform(0.9, 1.0, n))
    starflag = np.where(persist, 1 << STARFLAG_BITS["PERSIST_HIGH"], 0)
    starflag |= np.where(rng.random(n) < 0.01, 1 << STARFLAG_BITS["BRIGHT_NEIGHBOR"], 0)
    out["STARFLAG"] = starflag

    errors = _label_errors(snr)
    for name, sigma in errors.items():
        out[name] = np.asarray(truth[name], float) + sigma * rng.standard_normal(n)
        out[f"{name}_ERR"] = sigma
    star_bad = rng.random(n) < 0.005
    no_feh = ~star_bad & (rng.random(n) < 0.005)
    for name in errors:
        out[name][star_bad] = np.nan
        out[f"{name}_ERR"][star_bad] = np.nan
    out["FE_H"][no_feh] = np.nan
    out["FE_H_ERR"][no_feh] = np.nan
    aspcapflag = np.where(star_bad, 1 << ASPCAPFLAG_BITS["STAR_BAD"], 0)
    aspcapflag |= np.where(no_feh, 1 << ASPCAPFLAG_BITS["M_H_BAD"], 0)
    out["ASPCAPFLAG"] = aspcapflag

    out["VHELIO_AVG"] = np.asarray(truth["VLOS"], float) + (0.05 + 10.0 / snr) * rng.standard_normal(n)
    plx_err = _gaia_parallax_error(np.asarray(truth["KEPMAG"], float))
    dist = np.asarray(truth["DIST"], float)
    gaia = {
        "GAIAEDR3_PARALLAX": (1.0 / dist, plx_err),
        "GAIAEDR3_PMRA": (np.asarray(truth["PMRA"], float), 1.1 * plx_err),
        "GAIAEDR3_PMDEC": (np.asarray(truth["PMDEC"], float), 1.1 * plx_err),
    }
    no_gaia = rng.random(n) < 0.005
    for name, (value, sigma) in gaia.items():
        out[name] = np.where(no_gaia, MISSING_VALUE, value + sigma * rng.standard_normal(n))
        out[f"{name}_ERROR"] = np.where(no_gaia, MISSING_VALUE, sigma)
    # Spectro-photometric distance, ~10 %.
    out["DIST"] = dist * np.exp(0.1 * rng.standard_normal(n))
    out["DIST_ERR"] = 0.1 * out["DIST"]
    return out


def observe_seismic(truth, rng) -> Table:
    """A seismic catalog of the Kepler stars in ``truth`` (rows with KIC > 0), like APOKASC-2.

    ν_max and Δν get relative errors of ~1.5 % and ~0.7 % (log-normally spread between stars); masses
    come from the scaling relation (paper Eq. 3) on those and a seismic-pipeline Teff (±70 K), with
    propagated errors; ages are the true ages times exp(N(0, σ)) with σ between 12 and 25 %
    (median 18 %), AGE_ERR = σ × AGE. Evolutionary states are the true ones.
    """
    kep = truth[np.asarray(truth["KIC"]) > 0]
    n = len(kep)
    out = Table()
    out["KIC"], out["APOGEE_ID"] = kep["KIC"], kep["APOGEE_ID"]
    rel_numax = 0.015 * np.exp(0.3 * rng.standard_normal(n))
    rel_dnu = 0.007 * np.exp(0.3 * rng.standard_normal(n))
    out["NUMAX"] = np.asarray(kep["NUMAX"], float) * (1.0 + rel_numax * rng.standard_normal(n))
    out["NUMAX_ERR"] = rel_numax * out["NUMAX"]
    out["DNU"] = np.asarray(kep["DELTANU"], float) * (1.0 + rel_dnu * rng.standard_normal(n))
    out["DNU_ERR"] = rel_dnu * out["DNU"]
    out["EVOLSTATE"] = kep["EVOLSTATE"]
    teff = np.asarray(kep["TEFF"], float) + 70.0 * rng.standard_normal(n)
    out["MASS"], out["MASS_ERR"] = scaling_mass(
        out["NUMAX"], out["DNU"], teff, out["NUMAX_ERR"], out["DNU_ERR"], np.full(n, 70.0)
    )
    rel_age = np.clip(0.18 * np.exp(0.15 * rng.standard_normal(n)), 0.12, 0.25)
    out["AGE"] = np.asarray(kep["AGE"], float) * np.exp(rel_age * rng.standard_normal(n))
    out["AGE_ERR"] = rel_age * out["AGE"]
    return out


# --- Writing ---------------------------------------------------------------------------------------
def existing_survey_files(directory) -> list[str]:
    """Which of the files :meth:`MockSurvey.write` writes already exist under ``directory`` (relative names)."""
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
    """(memory, disk) in bytes that :func:`simulate_survey` and :meth:`MockSurvey.write` need for a survey of
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


def _spectrum_labels(truth, rows) -> dict:
    return {k: np.asarray(truth[k][rows], float) for k in ("TEFF", "LOGG", "FE_H", "ALPHA_M", "C_FE", "N_FE", "SNR")}


def _spectra_block_job(job):
    """One block of spectra (runs in a worker process): apStar-like (flux, flux_err, bitmask) or, if
    ``normalized``, the (n, 7514) continuum-normalised spectra."""
    from .spectra import synthesize_apstar, synthesize_normalized

    entropy, block, labels, normalized = job
    rng = _stream(entropy, _SPECTRA, block)
    return synthesize_normalized(labels, rng) if normalized else synthesize_apstar(labels, rng)


def _light_curve_job(job) -> str:
    """Synthesise and write one star's llc file (runs in a worker process); returns the file name."""
    from ..io.kepler import kepler_llc_filename, write_kepler_llc
    from .lightcurves import synthesize_light_curve

    directory, entropy, index, kic, numax, deltanu, evolstate, kepmag, teff, ra, dec = job
    lc = synthesize_light_curve(numax, deltanu, evolstate, kepmag, _stream(entropy, _LIGHT_CURVES, index), teff=teff)
    name = kepler_llc_filename(kic)
    write_kepler_llc(Path(directory) / name, kic, lc.time_days, lc.flux_ppm, lc.flux_err_ppm, lc.quality,
                     kepmag=kepmag, ra=ra, dec=dec)
    return name


def _remove_earlier_light_curves(directory: Path, written: set[str]) -> int:
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


def _select_rows(blocks, wanted):
    """``(rows, arrays)`` blocks of :meth:`MockSurvey.iter_spectra` cut to the rows where ``wanted``; the
    rows become index arrays (blocks left empty are skipped)."""
    for rows, arrays in blocks:
        keep = wanted[rows]
        if keep.any():
            index = np.arange(rows.start, rows.stop)[keep]
            yield index, (arrays[keep] if isinstance(arrays, np.ndarray) else tuple(a[keep] for a in arrays))


class MockSurvey:
    """A simulated APOGEE–Kepler survey: the truth and its observed catalogs, writable as files.

    Attributes
    ----------
    truth : astropy Table
        One row per star, every true parameter (see :func:`latentexplorer.mock.population.draw_population`).
    allstar : astropy Table
        The allStar-like catalog, row-matched to ``truth``.
    seismic : astropy Table
        The seismic catalog of the Kepler subset (rows in ``truth`` order of the KIC > 0 stars).
    seed : int
        The seed everything was derived from.
    written_paths : dict
        What :meth:`write` wrote last ('truth', 'allstar', …: paths); empty before. The steps that work on
        the survey in memory record these files as their inputs (:mod:`latentexplorer.io.provenance`).
    """

    def __init__(self, truth, allstar, seismic, seed):
        self.truth, self.allstar, self.seismic, self.seed = truth, allstar, seismic, seed
        self.written_paths: dict = {}

    def __repr__(self) -> str:
        return (f"MockSurvey(n_stars={len(self.truth)}, n_kepler={len(self.seismic)}, seed={self.seed})")

    @property
    def kepler(self) -> Table:
        """Truth rows of the Kepler subset (KIC > 0)."""
        return self.truth[np.asarray(self.truth["KIC"]) > 0]

    def written_files(self, *names: str) -> list[Path]:
        """The files of :attr:`written_paths` named ('truth', 'allstar', 'seismic', …) that :meth:`write` wrote."""
        return [self.written_paths[name] for name in names if name in self.written_paths]

    def iter_spectra(self, start: int = 0, stop: int | None = None, *, normalized: bool = False,
                     n_jobs: int = 1):
        """Yield ``(rows, spectra)`` blocks: apStar-like ``(flux, flux_err, bitmask)`` (8575 pixels) or,
        with ``normalized``, continuum-normalised (n, 7514) float32 spectra.

        Each block of :data:`SPECTRA_BLOCK` stars is synthesised from the true labels with its own
        random stream, so a spectrum does not depend on which other blocks are made, nor on ``n_jobs``
        (worker processes synthesising blocks ahead, in order). ``start`` must be a multiple of
        SPECTRA_BLOCK.
        """
        stop = len(self.truth) if stop is None else min(stop, len(self.truth))
        if start % SPECTRA_BLOCK:
            raise ValueError(f"start must be a multiple of SPECTRA_BLOCK ({SPECTRA_BLOCK}), got {start}")
        blocks = [slice(lo, min(lo + SPECTRA_BLOCK, stop)) for lo in range(start, stop, SPECTRA_BLOCK)]
        jobs = ((self.seed, rows.start // SPECTRA_BLOCK, _spectrum_labels(self.truth, rows), normalized)
                for rows in blocks)
        if int(n_jobs) <= 1 or len(blocks) < 2:
            yield from zip(blocks, map(_spectra_block_job, jobs))
            return
        with worker_pool(int(n_jobs)) as pool:
            yield from zip(blocks, pool.map(_spectra_block_job, jobs, chunksize=4))

    def light_curve(self, kic: int):
        """The mock light curve (:class:`latentexplorer.mock.lightcurves.MockLightCurve`) of Kepler star ``kic``."""
        from .lightcurves import synthesize_light_curve

        index = np.flatnonzero(np.asarray(self.seismic["KIC"]) == kic)
        if index.size != 1:
            raise ValueError(f"KIC {kic} is not a star of this survey")
        star = self.kepler[index[0]]
        rng = _stream(self.seed, _LIGHT_CURVES, int(index[0]))
        return synthesize_light_curve(float(star["NUMAX"]), float(star["DELTANU"]), str(star["EVOLSTATE"]),
                                      float(star["KEPMAG"]), rng, teff=float(star["TEFF"]))

    def write(self, directory, spectra_format: str = "stacked", progress: bool = True, n_jobs: int = 1,
              light_curves: int | None = None, spectra_rows=None) -> dict:
        """Write ``truth.fits`` and ``survey/`` (see the module docstring) under ``directory``.

        Parameters
        ----------
        directory : str or Path, created if needed.
        spectra_format : 'stacked' (one HDF5 file of apStar-like spectra, default), 'apstar' (one FITS
            file per star) or 'normalized' (one HDF5 file of continuum-normalised 7514-pixel spectra).
        progress : bool, show tqdm progress bars.
        n_jobs : int, worker processes for the spectra and the light curves (the files do not depend on it).
        light_curves : int or None, write the llc files of only the first this many Kepler stars (None: all).
            A full-mission llc file is ~7 MB; :func:`latentexplorer.steps.compute_mock_psds` gives the
            PSDs of all of them without the files.
        spectra_rows : (n_stars,) bool, optional; write the spectra of these rows only (None: all). A star's
            spectrum does not depend on which others are written; the demo's survey-sized map writes the
            Kepler stars and a sample, and encodes the rest in memory
            (:func:`latentexplorer.steps.encode_mock_survey`).

        Returns
        -------
        dict of the written paths: 'truth', 'allstar', 'seismic', 'spectra' (file or directory),
        'kepler' (directory), 'readme'.

        Raises
        ------
        ValueError for a bad ``spectra_format`` or ``n_jobs``; PermissionError / FileExistsError if
        the directory cannot be written.
        """
        if spectra_format not in SPECTRA_FORMATS:
            raise ValueError(f"spectra_format must be one of {SPECTRA_FORMATS}, got {spectra_format!r}")
        if int(n_jobs) < 1:
            raise ValueError(f"n_jobs must be at least 1, got {n_jobs}")
        root = prepare_directory(directory)
        survey = prepare_directory(root / SURVEY_DIRNAME)
        paths = {
            "truth": root / TRUTH_FILENAME,
            "allstar": survey / ALLSTAR_FILENAME,
            "seismic": survey / SEISMIC_FILENAME,
            "kepler": survey / KEPLER_DIRNAME,
            "readme": survey / README_FILENAME,
        }
        write_truth(self.truth, paths["truth"])
        write_allstar(paths["allstar"], self.allstar)
        write_seismic_catalog(paths["seismic"], self.seismic)
        if spectra_rows is not None:
            spectra_rows = np.asarray(spectra_rows, dtype=bool)
            if spectra_rows.shape != (len(self.truth),):
                raise ValueError(f"spectra_rows must be a boolean mask of the {len(self.truth)} stars")
        paths["spectra"] = self._write_spectra(survey, spectra_format, progress, int(n_jobs), spectra_rows)
        written = self._write_light_curves(prepare_directory(paths["kepler"]), progress, int(n_jobs), light_curves)
        self.n_light_curves_written = len(written)
        _remove_earlier_light_curves(paths["kepler"], written)
        self._write_readme(paths, spectra_format, None if spectra_rows is None else int(spectra_rows.sum()))
        log.info("mock survey written to %s", root)
        self.written_paths = dict(paths)
        return paths

    def _write_spectra(self, survey: Path, spectra_format: str, progress: bool, n_jobs: int = 1,
                       rows_wanted=None) -> Path:
        from ..io.apogee_spectra import NormalizedSpectraWriter, StackedSpectraWriter, write_apstar

        total = len(self.truth) if rows_wanted is None else int(rows_wanted.sum())
        bar = tqdm(total=total, desc="spectra", unit="star", disable=not progress)
        ids = np.asarray(self.truth["APOGEE_ID"])
        blocks = self.iter_spectra(normalized=spectra_format == "normalized", n_jobs=n_jobs)
        if rows_wanted is not None:
            blocks = _select_rows(blocks, rows_wanted)
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

    def _write_light_curves(self, directory: Path, progress: bool, n_jobs: int, limit: int | None) -> set[str]:
        """Write the llc files of the first ``limit`` Kepler stars (None: all); returns their file names."""
        kep = self.kepler if limit is None else self.kepler[: max(int(limit), 0)]
        jobs = [
            (str(directory), self.seed, i, int(s["KIC"]), float(s["NUMAX"]), float(s["DELTANU"]),
             str(s["EVOLSTATE"]), float(s["KEPMAG"]), float(s["TEFF"]), float(s["RA"]), float(s["DEC"]))
            for i, s in enumerate(kep)
        ]
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

    def _write_readme(self, paths: dict, spectra_format: str, n_spectra: int | None = None) -> None:
        from .. import __version__

        spectra = {
            "stacked": f"{SPECTRA_FILENAME}      stacked apStar-like spectra (HDF5: APOGEE_ID, flux, flux_err, "
                       "bitmask; 8575 pixels, truth.fits row order)",
            "normalized": f"{SPECTRA_FILENAME}      continuum-normalised spectra (HDF5: APOGEE_ID, spectra; 7514 "
                          "pixels, truth.fits row order)",
            "apstar": f"{APSTAR_DIRNAME}/          apStar-<APOGEE_ID>.fits (FLUX, ERROR, MASK HDUs; 8575 pixels)",
        }[spectra_format]
        if n_spectra is not None:
            spectra += (f"\n                spectra of {n_spectra} of the {len(self.truth)} stars (the Kepler stars and a "
                        "sample);\n                the others' spectra are synthesised in memory for encoding")
        text = _README.format(
            version=__version__, seed=self.seed, n_stars=len(self.truth), n_kepler=len(self.seismic),
            truth=TRUTH_FILENAME, allstar=ALLSTAR_FILENAME, seismic=SEISMIC_FILENAME, spectra=spectra,
            kepler=KEPLER_DIRNAME,
        )
        with atomic_output(paths["readme"]) as tmp:
            tmp.write_text(text)


def simulate_survey(n_stars: int, n_kepler: int, seed: int = 0) -> MockSurvey:
    """Simulate a mock APOGEE–Kepler survey (the files are made by :meth:`MockSurvey.write`).

    Parameters
    ----------
    n_stars : int, APOGEE giants (≥ 1; up to ~10⁶ fit in memory as tables, spectra are streamed).
    n_kepler : int, how many of them are Kepler targets with seismic parameters (0 … n_stars).
    seed : int ≥ 0; the same seed gives the same survey, byte for byte.

    Returns
    -------
    MockSurvey

    Raises
    ------
    ValueError if a count or the seed is out of range.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    truth = draw_population(n_stars, n_kepler, np.random.SeedSequence(seed, spawn_key=(_POPULATION,)))
    rng = _stream(seed, _CATALOGS)
    allstar = observe_allstar(truth, rng)
    seismic = observe_seismic(truth, rng)
    return MockSurvey(truth, allstar, seismic, seed)
