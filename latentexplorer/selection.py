"""Which stars get a latent representation and an age, and which are the seismic stars (paper sections 5, 7.1).

- **Cuts** (:func:`selection_flags`): the latent representation is kept for 1.5 < log g < 3.6 and
  SNREV > 30 (:data:`~latentexplorer.constants.LATENT_LOGG_RANGE`,
  :data:`~latentexplorer.constants.LATENT_MIN_SNREV`); an age is computed for those that also have
  2.5 < log g < 3.6 (:data:`~latentexplorer.constants.AGE_LOGG_RANGE`) and a finite Teff and [Fe/H]
  with their errors. Every reason a star misses out is a bit of :class:`AgeFlag`.
- **Seismic stars** (:class:`SeismicSample`, :func:`seismic_sample`): the seismic catalog matched to the
  allStar rows, with log10 ages and (for a mock) the true ages: the age model's labels and the audits'
  seismic parameters and RC/RGB states.

The age model's inputs per allStar row, which apply these cuts, are :mod:`latentexplorer.ages.inputs`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from astropy.table import Table

from .constants import AGE_LOGG_RANGE, LATENT_LOGG_RANGE, LATENT_MIN_SNREV
from .match import match_ids

__all__ = ["AgeFlag", "LATENT_FLAGS", "OOD_FLAGS", "ALLSTAR_REQUIRED", "ALLSTAR_USED", "selection_flags",
           "table_column", "finite", "SeismicSample", "seismic_sample"]

#: allStar columns the age inputs need (errors may be absent: then Teff / [Fe/H] count as missing).
ALLSTAR_REQUIRED = ("APOGEE_ID", "TELESCOPE", "FIELD", "STARFLAG", "ASPCAPFLAG", "LOGG", "SNREV", "TEFF", "FE_H")
#: Every allStar column the package reads when present: errors, abundances for the audits, positions and
#: kinematics for the orbits.
ALLSTAR_USED = ALLSTAR_REQUIRED + (
    "TEFF_ERR", "FE_H_ERR", "ALPHA_M", "ALPHA_M_ERR", "C_FE", "N_FE", "LOGG_ERR", "C_FE_ERR", "N_FE_ERR",
    "RA", "DEC", "DIST", "GAIAEDR3_PMRA", "GAIAEDR3_PMDEC", "VHELIO_AVG", "PMRA", "PMDEC", "VLOS",
)


class AgeFlag(enum.IntFlag):
    """Why a star has no latent representation or no age, or why its age is not to be trusted (0: it has
    both, inside the age model's training support)."""

    NO_LATENT = 1  #: not in latent.h5, or the encoder gave NaN (unusable spectrum)
    LOW_SNR = 2  #: SNREV ≤ 30 or missing: latent not kept
    LATENT_LOGG = 4  #: log g outside (1.5, 3.6) or missing: latent not kept
    AGE_LOGG = 8  #: log g outside (2.5, 3.6) or missing: no age
    NO_TEFF = 16  #: Teff or its error missing: no age
    NO_FE_H = 32  #: [Fe/H] or its error missing: no age
    OUT_OF_SUPPORT = 64  #: latent means outside the age model's training support: age computed, not trusted
    OUTSIDE_LABEL_RANGE = 128  #: Teff or [Fe/H] outside the age model's training range: age computed, not trusted


#: Bits that remove the latent representation (and so the age).
LATENT_FLAGS = AgeFlag.NO_LATENT | AgeFlag.LOW_SNR | AgeFlag.LATENT_LOGG
#: Out-of-distribution bits, set by the age model (:mod:`latentexplorer.ages.support`): the age is there.
OOD_FLAGS = AgeFlag.OUT_OF_SUPPORT | AgeFlag.OUTSIDE_LABEL_RANGE


def finite(*arrays) -> np.ndarray:
    """Element-wise: every one of ``arrays`` (same shape) is finite."""
    return np.logical_and.reduce([np.isfinite(np.asarray(a, dtype=float)) for a in arrays])


def _outside(values, bounds) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        return ~((values > bounds[0]) & (values < bounds[1]))


def selection_flags(logg, snrev, teff, teff_err, fe_h, fe_h_err, has_latent) -> np.ndarray:
    """The paper's catalog cuts as :class:`AgeFlag` bits, one int32 per star.

    Parameters
    ----------
    logg, snrev, teff (K), teff_err (K), fe_h (dex), fe_h_err (dex) : array_like of shape (n,)
        allStar values; NaN where missing.
    has_latent : array_like of bool, shape (n,)
        Whether the encoder gave a finite latent representation.

    Returns
    -------
    ndarray of int32, shape (n,)
        0 for stars that get a latent representation and an age.
    """
    has_latent = np.asarray(has_latent, dtype=bool)
    with np.errstate(invalid="ignore"):
        low_snr = ~(np.asarray(snrev, dtype=float) > LATENT_MIN_SNREV)
    bits = (
        (~has_latent, AgeFlag.NO_LATENT),
        (low_snr, AgeFlag.LOW_SNR),
        (_outside(logg, LATENT_LOGG_RANGE), AgeFlag.LATENT_LOGG),
        (_outside(logg, AGE_LOGG_RANGE), AgeFlag.AGE_LOGG),
        (~finite(teff, teff_err), AgeFlag.NO_TEFF),
        (~finite(fe_h, fe_h_err), AgeFlag.NO_FE_H),
    )
    flags = np.zeros(has_latent.shape, dtype=np.int32)
    for mask, bit in bits:
        if mask.shape != flags.shape:
            raise ValueError(f"inputs of selection_flags must all have shape {flags.shape}, got {mask.shape}")
        flags |= np.where(mask, int(bit), 0).astype(np.int32)
    return flags


def table_column(table: Table, name: str, dtype=float) -> np.ndarray:
    """A table column, found whatever the case of its name, as a plain array: floats with masked values NaN, or
    (``dtype=str``) stripped strings; all NaN (or "") when the table lacks it."""
    by_upper = {c.upper(): c for c in table.colnames}
    if name.upper() not in by_upper:
        return np.full(len(table), "" if dtype is str else np.nan)
    values = table[by_upper[name.upper()]]
    if dtype is str:
        return np.char.strip(np.asarray(values).astype(str))
    return np.ma.filled(np.ma.asarray(values, dtype=dtype), np.nan)


@dataclass
class SeismicSample:
    """Seismic stars matched to allStar rows.

    rows (m,) allStar row of each star; log_age, log_age_err (m,) log10(age / Gyr) and its error in
    dex; evolstate (m,) 'RC' / 'RGB' / ''; numax, deltanu and their errors (m,) μHz (NaN where the
    catalog has none); reference_log_age (m,) the true log10 age of a mock survey (from truth.fits),
    else None.
    """

    rows: np.ndarray
    apogee_id: np.ndarray
    log_age: np.ndarray
    log_age_err: np.ndarray
    evolstate: np.ndarray
    numax: np.ndarray
    deltanu: np.ndarray
    numax_err: np.ndarray
    deltanu_err: np.ndarray
    reference_log_age: np.ndarray | None = None

    def __len__(self) -> int:
        return self.rows.size


def _log10_positive(values) -> np.ndarray:
    values = np.asarray(values, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(values > 0, np.log10(values), np.nan)


def seismic_sample(seismic: Table, allstar_ids, truth: Table | None = None,
                   names: tuple[str, str] = ("seismic.fits", "allStar.fits")) -> SeismicSample:
    """Match a seismic catalog (standard columns, :func:`latentexplorer.io.seismic.read_seismic_catalog`, which
    drops repeated stars) to the allStar rows, whose APOGEE_IDs are ``allstar_ids``, by APOGEE_ID
    (:func:`latentexplorer.match.match_ids`; where the allStar file repeats a star, its first row is used);
    ``truth`` (a mock's truth table) adds the true ages. ``names`` (the two files) go into the messages: a
    warning when fewer than 90 % of the seismic stars are in the allStar file, a ValueError when none is."""
    missing = [c for c in ("APOGEE_ID", "AGE", "AGE_ERR") if c not in seismic.colnames]
    if missing:
        raise ValueError(f"the seismic catalog lacks the columns {', '.join(missing)} needed for ages")
    rows = match_ids(seismic["APOGEE_ID"], allstar_ids, warn_duplicates=names[1], names=names)
    if len(seismic) and not (rows >= 0).any():
        raise ValueError(f"{names[0]}: none of its {len(seismic)} APOGEE_IDs is in {names[1]}")
    seismic, rows = seismic[rows >= 0], rows[rows >= 0]
    ids = np.char.strip(np.asarray(seismic["APOGEE_ID"]).astype(str))
    age, age_err = table_column(seismic, "AGE"), table_column(seismic, "AGE_ERR")
    with np.errstate(invalid="ignore", divide="ignore"):
        log_age_err = age_err / (age * np.log(10.0))
    state = (np.asarray(seismic["EVOLSTATE"]).astype(str) if "EVOLSTATE" in seismic.colnames
             else np.full(len(seismic), "", dtype="U3"))
    reference = None
    if truth is not None:
        where = match_ids(ids, truth["APOGEE_ID"])
        reference = _log10_positive(np.where(where >= 0, table_column(truth, "AGE")[where], np.nan))
    columns = [table_column(seismic, c) for c in ("NUMAX", "DNU", "NUMAX_ERR", "DNU_ERR")]
    return SeismicSample(rows, ids, _log10_positive(age), log_age_err, state, *columns, reference)
