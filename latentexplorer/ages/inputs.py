"""The age model's inputs for every allStar row: the latent means with Teff and [Fe/H], their errors, and
why a row has none (paper sections 5 and 7.1).

:func:`age_inputs` matches the latents of ``latent.h5`` to the allStar rows by APOGEE_ID and applies the
paper's cuts (:func:`latentexplorer.selection.selection_flags`); :class:`AgeInputs` holds the features —
z0…z{k-1}, Teff (K), [Fe/H] (dex) — and their errors (the encoder's z_std, TEFF_ERR, FE_H_ERR), named as
the saved age model names them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from astropy.table import Table

from ..match import match_ids
from ..selection import ALLSTAR_REQUIRED, LATENT_FLAGS, selection_flags, table_column

__all__ = ["AgeInputs", "age_inputs"]

logger = logging.getLogger(__name__)


@dataclass
class AgeInputs:
    """The age model's inputs for every allStar row (row-matched to the allStar file).

    ``allstar`` holds the columns read; ``z_mean`` / ``z_std`` (n, latent_dim) are NaN where the star
    has no latent representation or fails the latent cuts; ``flags`` are
    :class:`~latentexplorer.selection.AgeFlag` bits; ``model_fingerprint`` names the encoder that made the latents.
    """

    allstar: Table
    z_mean: np.ndarray
    z_std: np.ndarray
    flags: np.ndarray
    model_fingerprint: str = ""

    def __len__(self) -> int:
        return len(self.allstar)

    def take(self, rows) -> AgeInputs:
        """The inputs of the rows ``rows`` (index array, slice or mask), as a new AgeInputs."""
        return AgeInputs(self.allstar[rows], self.z_mean[rows], self.z_std[rows], self.flags[rows],
                         self.model_fingerprint)

    @property
    def apogee_id(self) -> np.ndarray:
        """(n,) str, stripped."""
        return np.char.strip(np.asarray(self.allstar["APOGEE_ID"]).astype(str))

    def column(self, name) -> np.ndarray:
        """An allStar column as float, NaN when the file lacks it."""
        return table_column(self.allstar, name)

    @property
    def latent_dim(self) -> int:
        return self.z_mean.shape[1]

    @property
    def feature_names(self) -> list[str]:
        """Names of :attr:`features`' columns: z0…z{k-1}, TEFF, FE_H."""
        return [f"z{i}" for i in range(self.latent_dim)] + ["TEFF", "FE_H"]

    @property
    def features(self) -> np.ndarray:
        """(n, latent_dim + 2): z_mean, Teff (K), [Fe/H] (dex)."""
        return np.column_stack([self.z_mean, self.column("TEFF"), self.column("FE_H")])

    @property
    def feature_errors(self) -> np.ndarray:
        """(n, latent_dim + 2): z_std, Teff error (K), [Fe/H] error (dex)."""
        return np.column_stack([self.z_std, self.column("TEFF_ERR"), self.column("FE_H_ERR")])

    @property
    def has_age_inputs(self) -> np.ndarray:
        return self.flags == 0

    @property
    def has_latent(self) -> np.ndarray:
        return (self.flags & int(LATENT_FLAGS)) == 0


def age_inputs(allstar: Table, latent, names: tuple[str, str] = ("allStar.fits", "latent.h5")) -> AgeInputs:
    """The :class:`AgeInputs` of every row of ``allstar`` (an allStar Table with
    :data:`~latentexplorer.selection.ALLSTAR_REQUIRED`) from the latents of ``latent``
    (:class:`~latentexplorer.io.latent.LatentSet`), matched by APOGEE_ID (:func:`latentexplorer.match.match_ids`:
    stripped, upper-case), with :func:`~latentexplorer.selection.selection_flags` applied.

    Every allStar row gets the latent of its APOGEE_ID: DR17's legitimate repeats of a star (other fields or
    telescopes) each get the same latent, as the catalog is row-matched to the allStar file. ``names`` (the
    two files) go into the messages: a warning when fewer than 90 % of the rows find a latent.

    Raises
    ------
    ValueError
        A required column is missing, or not one allStar row is in the latent file (IDs of another survey,
        or stored as numbers).
    """
    missing = [c for c in ALLSTAR_REQUIRED if c not in allstar.colnames]
    if missing:
        raise ValueError(f"the allStar file lacks the columns {', '.join(missing)} needed for ages")
    where = match_ids(allstar["APOGEE_ID"], latent.apogee_id, warn_duplicates=names[1], names=names)
    if len(allstar) and not (where >= 0).any():
        example = str(np.asarray(allstar["APOGEE_ID"])[0]).strip()
        raise ValueError(f"{names[0]}: none of its {len(allstar)} APOGEE_IDs is in {names[1]} (e.g. {example!r}); "
                         "were the latents encoded from this survey's spectra?")
    n, k = len(allstar), latent.latent_dim
    z_mean = np.full((n, k), np.nan, np.float32)
    z_std = np.full((n, k), np.nan, np.float32)
    found = where >= 0
    z_mean[found], z_std[found] = latent.z_mean[where[found]], latent.z_std[where[found]]
    has_latent = np.isfinite(z_mean).all(axis=1) & np.isfinite(z_std).all(axis=1)
    logg, snrev, teff, teff_err, fe_h, fe_h_err = (table_column(allstar, name) for name in
                                                   ("LOGG", "SNREV", "TEFF", "TEFF_ERR", "FE_H", "FE_H_ERR"))
    flags = selection_flags(logg, snrev, teff, teff_err, fe_h, fe_h_err, has_latent)
    dropped = (flags & int(LATENT_FLAGS)) != 0
    z_mean[dropped], z_std[dropped] = np.nan, np.nan
    logger.info("%d allStar rows: %d with a latent representation, %d with age inputs", n,
                int((~dropped).sum()), int((flags == 0).sum()))
    return AgeInputs(allstar, z_mean, z_std, flags, latent.model_fingerprint)
