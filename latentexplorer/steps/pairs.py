"""The pairs step: spectra ↔ PSDs matched through a seismic catalog → the training pairs (``pairs.h5``)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import constants as C
from .. import psd as psd_mod
from ..io.pairs import PairsSet, write_pairs
from ..io.psdfile import read_psd_file
from ..io.seismic import read_seismic_catalog
from ..io.spectra_files import iter_normalized_spectra
from .runtime.outputs import locks_output
from .runtime.provenance import records_provenance
from ..match import MIN_MATCH_FRACTION, match_ids
from .summary import StepSummary

__all__ = ["make_pairs"]

logger = logging.getLogger(__name__)


@locks_output(lambda a: a["output"])
@records_provenance("pairs", lambda a: a["output"], lambda a: (a["psd_path"], a["spectra_path"], a["seismic_path"]))
def make_pairs(psd_path, spectra_path, seismic_path, output, *, numax_range=C.TRAIN_NUMAX_RANGE_UHZ,
               chunk_size: int = 1024, progress: bool = True, overwrite: bool = False) -> StepSummary:
    """Cross-match PSDs with spectra through the seismic catalog (KIC ↔ APOGEE_ID) into training pairs.

    Stars are matched by :func:`latentexplorer.match.match_ids` (KIC catalog ↔ PSDs, APOGEE_ID catalog ↔
    spectra: stripped, upper-case; a star listed twice in the catalog keeps its first row, one listed twice
    in the spectra its first usable spectrum); a warning names the files when fewer than 90 % of the
    catalog stars with a PSD find a usable spectrum.

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

    from .runtime.outputs import check_free_space, check_output

    check_output(output, "pairs", (psd_path, spectra_path, seismic_path), overwrite)
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
    kic = np.asarray(seismic["KIC"], dtype=np.int64)
    no_kic = (psds.flags == 0) & (psds.kic <= 0)
    if no_kic.any():  # TESS and other non-Kepler light curves: the seismic catalog joins by KIC alone
        example = psds.target_id[np.flatnonzero(no_kic)[0]]
        logger.warning("%s: %d of its %d PSDs have no Kepler KIC (e.g. %s: a TESS or other light curve); pairs join "
                       "the seismic catalog by KIC only, so they make no pairs", psd_path, int(no_kic.sum()),
                       len(psds.kic), example)
    usable_psd = np.flatnonzero((psds.flags == 0) & (psds.kic > 0) & np.isfinite(psds.log_psd).all(axis=1))
    psd_of = match_ids(kic, psds.kic[usable_psd], warn_duplicates=str(psd_path))  # its row among the usable PSDs
    candidates = np.flatnonzero(in_sample & (psd_of >= 0))
    if not candidates.size:
        raise ValueError(
            f"no seismic-catalog star of {seismic_path} has both a usable PSD in {psd_path} (matched by KIC) "
            f"and 4 < ν_max < 250 μHz with a known evolutionary state"
        )
    check_free_space(output, candidates.size * (C.APOGEE_N_PIXELS + grid.size) * 4)  # a pair for each candidate
    wanted = np.asarray(seismic["APOGEE_ID"]).astype(str)[candidates]
    spectrum_found = np.zeros(candidates.size, bool)
    found_rows, found_spectra = [], []
    bar = tqdm(desc="pairs", unit="spectra", disable=not progress)
    for ids, spectra, _flags in iter_normalized_spectra(spectra_path, chunk_size):
        where = match_ids(ids, wanted)  # a spectrum file listing a star twice: its first usable spectrum
        for j in np.flatnonzero(where >= 0):
            if not spectrum_found[where[j]] and np.isfinite(spectra[j]).all():
                spectrum_found[where[j]] = True
                found_rows.append(candidates[where[j]])
                found_spectra.append(spectra[j])
        bar.update(len(ids))
    bar.close()
    if not found_rows:
        raise ValueError(f"none of the {candidates.size} matched APOGEE_IDs has a usable spectrum in {spectra_path}")
    if len(found_rows) < MIN_MATCH_FRACTION * candidates.size:
        logger.warning("%s: only %d of %d identifiers (%.0f %%) have a usable spectrum in %s", seismic_path,
                       len(found_rows), candidates.size, 100.0 * len(found_rows) / candidates.size, spectra_path)
    order = np.argsort(found_rows)
    rows = np.asarray(found_rows)[order]
    spectra = np.asarray(found_spectra, dtype=np.float32)[order]
    log_psd = psds.log_psd[usable_psd[psd_of[rows]]]
    n = rows.size
    ids = np.char.strip(np.asarray(seismic["APOGEE_ID"][rows]).astype(str))
    write_pairs(output, PairsSet(ids, kic[rows], spectra, log_psd, numax[rows], state[rows], grid))
    cut = int((~in_sample).sum())
    return StepSummary(done=n, flagged=cut, failed=len(seismic) - cut - n, output=Path(output))
