"""The mock APOGEE–Kepler survey put together: what is drawn, from which random stream, and written where.

:func:`simulate_survey` draws the population (:mod:`latentexplorer.mock.population`) and observes it
(:mod:`latentexplorer.mock.observe`: the allStar-like catalog and, for the Kepler subset, the seismic catalog).
:meth:`MockSurvey.write` then streams the spectra (synthesised from the *true* labels,
:mod:`latentexplorer.mock.spectra`) and the Kepler light curves (:mod:`latentexplorer.mock.lightcurves`) to disk
with bounded memory, through the writers of :mod:`latentexplorer.mock.files`::

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
from pathlib import Path

import numpy as np
from astropy.table import Table

from ..io.allstar import write_allstar
from ..io.seismic import write_seismic_catalog
from ..io.truth import SEED_KEYWORD, mapped_truth, write_truth
from ..processes import worker_pool
from .files import (ALLSTAR_FILENAME, KEPLER_DIRNAME, README_FILENAME, SEISMIC_FILENAME, SPECTRA_FORMATS,
                    SURVEY_DIRNAME, TRUTH_FILENAME, prepare_directory, remove_earlier_light_curves, write_light_curves,
                    write_readme, write_spectra)
from .observe import observe_allstar, observe_seismic
from .population import draw_population

__all__ = ["MockSurvey", "simulate_survey", "TruthSpectra", "spectra_from_truth", "SPECTRA_BLOCK"]

log = logging.getLogger(__name__)

#: Spectra are synthesised in blocks of this many stars, each block with its own random stream.
SPECTRA_BLOCK = 64

# spawn_key[0] of each random stream
_POPULATION, _CATALOGS, _SPECTRA, _LIGHT_CURVES = range(4)


def _stream(entropy, *key) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=key))


def _spectrum_labels(truth, rows) -> dict:
    return {k: np.asarray(truth[k][rows], float) for k in ("TEFF", "LOGG", "FE_H", "ALPHA_M", "C_FE", "N_FE", "SNR")}


def _spectra_block_job(job):
    """One block of spectra (runs in a worker process): apStar-like (flux, flux_err, bitmask) or, if
    ``normalized``, the (n, 7514) continuum-normalised spectra."""
    from .spectra import synthesize_apstar, synthesize_normalized

    entropy, block, labels, normalized = job
    rng = _stream(entropy, _SPECTRA, block)
    return synthesize_normalized(labels, rng) if normalized else synthesize_apstar(labels, rng)


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
        rng = np.random.default_rng(self._light_curve_seed(int(index[0])))
        return synthesize_light_curve(float(star["NUMAX"]), float(star["DELTANU"]), str(star["EVOLSTATE"]),
                                      float(star["KEPMAG"]), rng, teff=float(star["TEFF"]))

    def _light_curve_seed(self, index: int) -> np.random.SeedSequence:
        """The random stream of the light curve of Kepler star ``index`` (its row of :attr:`seismic`)."""
        return np.random.SeedSequence(self.seed, spawn_key=(_LIGHT_CURVES, index))

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
        write_truth(self.truth, paths["truth"], seed=self.seed)
        write_allstar(paths["allstar"], self.allstar)
        write_seismic_catalog(paths["seismic"], self.seismic)
        if spectra_rows is not None:
            spectra_rows = np.asarray(spectra_rows, dtype=bool)
            if spectra_rows.shape != (len(self.truth),):
                raise ValueError(f"spectra_rows must be a boolean mask of the {len(self.truth)} stars")
        paths["spectra"] = self._write_spectra(survey, spectra_format, progress, int(n_jobs), spectra_rows)
        written = self._write_light_curves(prepare_directory(paths["kepler"]), progress, int(n_jobs), light_curves)
        self.n_light_curves_written = len(written)
        remove_earlier_light_curves(paths["kepler"], written)
        write_readme(paths["readme"], self.seed, len(self.truth), len(self.seismic), spectra_format,
                     None if spectra_rows is None else int(spectra_rows.sum()))
        log.info("mock survey written to %s", root)
        self.written_paths = dict(paths)
        return paths

    def _write_spectra(self, survey: Path, spectra_format: str, progress: bool, n_jobs: int = 1,
                       rows_wanted=None) -> Path:
        """Write the spectra of the stars ``rows_wanted`` (None: all) under ``survey`` in ``spectra_format``."""
        blocks = self.iter_spectra(normalized=spectra_format == "normalized", n_jobs=n_jobs)
        if rows_wanted is not None:
            blocks = _select_rows(blocks, rows_wanted)
        total = len(self.truth) if rows_wanted is None else int(rows_wanted.sum())
        return write_spectra(survey, spectra_format, np.asarray(self.truth["APOGEE_ID"]), blocks, total, progress)

    def _write_light_curves(self, directory: Path, progress: bool, n_jobs: int, limit: int | None) -> set[str]:
        """Write the llc files of the first ``limit`` Kepler stars (None: all); returns their file names."""
        kep = self.kepler if limit is None else self.kepler[: max(int(limit), 0)]
        stars = [(self._light_curve_seed(i), int(s["KIC"]), float(s["NUMAX"]), float(s["DELTANU"]),
                  str(s["EVOLSTATE"]), float(s["KEPMAG"]), float(s["TEFF"]), float(s["RA"]), float(s["DEC"]))
                 for i, s in enumerate(kep)]
        return write_light_curves(directory, stars, n_jobs, progress)


class TruthSpectra:
    """A mock survey's continuum-normalised spectra, made again from its ``truth.fits``: ``make(rows)``.

    They are the spectra :meth:`MockSurvey.write` writes with ``spectra_format='normalized'`` and
    :func:`~latentexplorer.steps.encode_mock_survey` encodes, equal to them bit for bit — for the stars whose
    spectra were never written (the default demo writes 9,000 of its 200,000). The truth stays memory-mapped
    and the mock's templates are built when it is made (~0.2 s), so a star then costs the synthesis of its
    block of :data:`SPECTRA_BLOCK` stars (~15 ms). Close it, or use it as a context manager.

    Parameters
    ----------
    truth_path : str or Path, a mock's truth.fits written with its seed (:func:`latentexplorer.io.truth.write_truth`)

    Raises
    ------
    FileNotFoundError, or ValueError when the file is not a truth file or records no seed (an older file).

    Attributes
    ----------
    seed : int, the mock survey's seed; n_stars : int, the truth's rows.
    """

    def __init__(self, truth_path):
        from .spectra import SpectrumResponse, _templates

        self.path = Path(truth_path)
        self._mapped = mapped_truth(truth_path)
        header, self._data = self._mapped.__enter__()
        seed = header.get(SEED_KEYWORD)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            self.close()
            raise ValueError(f"{truth_path} records no mock seed ({SEED_KEYWORD}): its spectra cannot be made again")
        self.seed, self.n_stars = int(seed), len(self._data)
        _templates(SpectrumResponse())

    def __repr__(self) -> str:
        return f"TruthSpectra({str(self.path)!r}, seed={self.seed}, n_stars={self.n_stars})"

    def __call__(self, rows) -> np.ndarray:
        """The spectra of the truth's ``rows`` ((n,) int; −1 or a row past the end gives a NaN row), (n, 7514)
        float32. :meth:`latentexplorer.widgets.star_view.StarView.rows_in` gives the encoded stars' rows."""
        from ..constants import APOGEE_N_PIXELS

        rows = np.asarray(rows, np.int64).reshape(-1)
        rows = np.where(rows < self.n_stars, rows, -1)
        out = np.full((len(rows), APOGEE_N_PIXELS), np.nan, np.float32)
        for block in np.unique(rows[rows >= 0] // SPECTRA_BLOCK):
            lo = int(block) * SPECTRA_BLOCK
            block_rows = slice(lo, min(lo + SPECTRA_BLOCK, self.n_stars))
            spectra = _spectra_block_job((self.seed, int(block), _spectrum_labels(self._data, block_rows), True))
            wanted = rows // SPECTRA_BLOCK == block
            out[wanted] = spectra[rows[wanted] - lo]
        return out

    def close(self) -> None:
        """Unmap the truth file."""
        self._data = None
        self._mapped.__exit__(None, None, None)

    def __enter__(self) -> TruthSpectra:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def spectra_from_truth(truth_path, rows) -> np.ndarray:
    """The spectra of the ``rows`` of a mock's ``truth.fits``, made again: ``TruthSpectra(truth_path)(rows)``,
    (n, 7514) float32 (see :class:`TruthSpectra`)."""
    with TruthSpectra(truth_path) as make:
        return make(rows)


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
