"""The pairs step: spectra ↔ PSDs matched through a seismic catalog → the training pairs (``pairs.h5``)."""

from __future__ import annotations

import logging
from pathlib import Path

import astropy.units as u
import numpy as np
from tqdm.auto import tqdm

from .. import constants as C
from .. import psd as psd_mod
from ..io.pairs import PairsSet, write_pairs
from ..io.psdfile import read_psd_file
from ..io.seismic import TARGET_KEYS, read_seismic_catalog
from ..io.spectra_files import iter_normalized_spectra
from ..powerspectrum import PowerSpectrum
from .runtime.outputs import locks_output
from .runtime.provenance import records_provenance
from ..match import match_ids
from .summary import StepSummary

__all__ = ["make_pairs"]

logger = logging.getLogger(__name__)


def _join(psds, seismic, usable, psd_path) -> tuple[np.ndarray, dict[str, int]]:
    """Each catalog star's PSD row (-1: none), joined on the target keys the catalog has — KIC, then TIC
    (a star with a Kepler and a TESS PSD pairs its Kepler one) — among the ``usable`` PSD rows; and how many
    usable PSDs each reason leaves unjoined."""
    psd_of = np.full(len(seismic), -1, dtype=np.int64)
    in_catalog = np.zeros(len(psds), bool)
    for key in TARGET_KEYS:
        psd_keys = getattr(psds, key.lower())
        keyed = usable[psd_keys[usable] > 0]
        if key not in seismic.colnames or not keyed.size:
            continue
        catalog_keys = np.asarray(seismic[key], dtype=np.int64)
        found = match_ids(catalog_keys, psd_keys[keyed], warn_duplicates=str(psd_path))  # -1 keys find nothing
        psd_of = np.where((psd_of < 0) & (found >= 0), keyed[np.maximum(found, 0)], psd_of)
        in_catalog[keyed] |= match_ids(psd_keys[keyed], catalog_keys[catalog_keys > 0]) >= 0
    no_key = (psds.kic[usable] <= 0) & (psds.tic[usable] <= 0)
    joined = np.zeros(len(psds), bool)
    joined[psd_of[psd_of >= 0]] = True
    reasons = {"have no target key (KIC or TIC)": int(no_key.sum()),
               "have a key the catalog does not list": int((~no_key & ~in_catalog[usable]).sum()),
               "are of a star paired with another of its PSDs": int((in_catalog & ~joined)[usable].sum())}
    return psd_of, reasons


@locks_output(lambda a: a["output"])
@records_provenance("pairs", lambda a: a["output"], lambda a: (a["psd_path"], a["spectra_path"], a["seismic_path"]))
def make_pairs(psd_path, spectra_path, seismic_path, output, *, numax_range=C.TRAIN_NUMAX_RANGE_UHZ,
               chunk_size: int = 1024, progress: bool = True, overwrite: bool = False) -> StepSummary:
    """Cross-match PSDs with spectra through the seismic catalog (KIC or TIC ↔ APOGEE_ID) into training pairs.

    Stars are matched by :func:`latentexplorer.match.match_ids`: the catalog's target keys with the PSDs'
    (its KIC column with Kepler light curves, its TIC column with TESS ones; a catalog may have either or
    both), its APOGEE_IDs with the spectra (stripped, upper-case; a star listed twice in the catalog keeps
    its first row, one listed twice in the spectra its first usable spectrum). One warning line says how
    many usable PSDs could not be joined, and why: no target key, a key the catalog does not list, a star
    already paired with another PSD, or no usable spectrum.

    Keeps the paper's training sample (section 5): 4 < ν_max < 250 μHz and a known evolutionary state,
    a PSD computed without flags and a usable spectrum. Streams the spectra in chunks, so only the
    matched ones are held in memory.

    Writes ``output`` (HDF5, chunked): ``spectra`` (N, 7514) float32 continuum-normalised, ``log_psd``
    (N, 2092) float32, ``numax`` (N,) μHz, ``APOGEE_ID``, ``KIC`` (the catalog's, -1 where it has none),
    ``evolstate`` (N,), ``frequency`` (2092,).
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
    observed = PowerSpectrum(psds.frequency, psds.log_psd, label=psds.target_id)  # the file's PSDs as one stack
    grid = psd_mod.frequency_grid()
    freq = observed.frequency.to_value(u.uHz)
    if freq.shape != grid.shape or not np.allclose(freq, grid):
        raise ValueError(f"{psd_path}: PSDs are on another frequency grid ({freq.size} pixels, "
                         f"{freq[0]:.3f}–{freq[-1]:.3f} μHz), not latentexplorer's 2092-pixel grid")
    seismic = read_seismic_catalog(seismic_path)
    numax = np.asarray(seismic["NUMAX"], float)
    state = np.asarray(seismic["EVOLSTATE"]).astype(str)
    in_sample = (numax > numax_range[0]) & (numax < numax_range[1]) & np.isin(state, ("RGB", "RC"))
    usable = np.flatnonzero((psds.flags == 0) & np.isfinite(psds.log_psd).all(axis=1))
    psd_of, unjoined = _join(psds, seismic, usable, psd_path)  # each catalog star's PSD row
    candidates = np.flatnonzero(in_sample & (psd_of >= 0))
    if not candidates.size:
        _warn_unjoined(psd_path, seismic_path, unjoined)
        raise ValueError(
            f"no seismic-catalog star of {seismic_path} has both a usable PSD in {psd_path} (matched by "
            f"{' or '.join(k for k in TARGET_KEYS if k in seismic.colnames)}) and 4 < ν_max < 250 μHz with a "
            "known evolutionary state"
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
    unjoined[f"are of a star without a usable spectrum in {spectra_path}"] = int(candidates.size - len(found_rows))
    _warn_unjoined(psd_path, seismic_path, unjoined)
    if not found_rows:
        raise ValueError(f"none of the {candidates.size} matched APOGEE_IDs has a usable spectrum in {spectra_path}")
    order = np.argsort(found_rows)
    rows = np.asarray(found_rows)[order]
    spectra = np.asarray(found_spectra, dtype=np.float32)[order]
    paired = observed[psd_of[rows]]
    n = rows.size
    ids = np.char.strip(np.asarray(seismic["APOGEE_ID"][rows]).astype(str))
    kic = np.asarray(seismic["KIC"], dtype=np.int64)[rows] if "KIC" in seismic.colnames else np.full(n, -1, np.int64)
    write_pairs(output, PairsSet(ids, kic, spectra, np.asarray(paired), numax[rows], state[rows], grid))
    cut = int((~in_sample).sum())
    return StepSummary(done=n, flagged=cut, failed=len(seismic) - cut - n, output=Path(output))


def _warn_unjoined(psd_path, seismic_path, reasons: dict[str, int]) -> None:
    """One warning line: how many usable PSDs of ``psd_path`` make no pair, by reason (those with a count)."""
    counts = {reason: count for reason, count in reasons.items() if count}
    if counts:
        listed = "; ".join(f"{count} {reason}" for reason, count in counts.items())
        logger.warning("%s: %d usable PSDs cannot be joined to %s: %s", psd_path, sum(counts.values()),
                       seismic_path, listed)
