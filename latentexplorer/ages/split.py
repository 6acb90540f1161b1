"""Which seismic stars train, calibrate and test an age forest (paper section 5).

Of the seismic stars that pass the age cuts (:func:`age_eligible`), :data:`AGE_TRAIN_SIZE` are drawn at
random to train (the paper's ~1,200), :data:`CALIBRATION_FRACTION` of the others calibrate the forest's
spread and the rest are test stars (:func:`split_indices`, :func:`calibration_size`). Where the
encoder-decoder's training record says which stars it trained on, those may train forests but are never
calibration or test stars (:func:`encoder_holdout`): the stars the ages are scored on are new to the
encoder, as the survey's stars are. The audits (:mod:`latentexplorer.audits`) split their stars the same way.
"""

from __future__ import annotations

import logging

import numpy as np

from ..selection import SeismicSample, finite
from .inputs import AgeInputs

__all__ = ["AGE_TRAIN_SIZE", "CALIBRATION_FRACTION", "split_indices", "calibration_size", "age_eligible",
           "encoder_holdout"]

logger = logging.getLogger(__name__)

AGE_TRAIN_SIZE = 1200  #: training stars for the age forest (paper section 5)
CALIBRATION_FRACTION = 0.3  #: default share of the held-out stars used to calibrate age errors


def split_indices(n_rows, n_train, seed=0, n_calibration=0, holdout=None):
    """Random train / calibration / test split of ``n_rows`` stars (or of the given row indices).

    Parameters
    ----------
    n_rows : int or array_like of int
        Number of stars, or the indices of the eligible stars.
    n_train, n_calibration : int
        Sizes of the training and calibration sets; every other star is a test star.
    seed : int
        Seeds the permutation; the same rows, sizes and seed give the same split.
    holdout : array_like of int, optional
        Row indices reserved for calibration and testing, e.g. the stars the encoder never saw in
        training: the training stars are drawn from the other rows, the calibration stars from these,
        and the test stars are the rest of these (other rows outside the training set go unused).

    Returns
    -------
    train, calibration, test : ndarray of int
        Sorted row indices.
    """
    rows = np.arange(n_rows) if np.ndim(n_rows) == 0 else np.asarray(n_rows, dtype=int)
    perm = np.random.default_rng(seed).permutation(rows)
    if holdout is None:
        pool, held = perm, perm[n_train:]
    else:
        reserved = np.isin(perm, np.asarray(holdout, dtype=int))
        pool, held = perm[~reserved], perm[reserved]
    if n_train < 1 or n_calibration < 0:
        raise ValueError(f"the split needs at least 1 training star and no negative count, got {n_train} training "
                         f"and {n_calibration} calibration stars")
    if n_train > pool.size:
        where = "" if holdout is None else f" outside the {held.size} held out"
        raise ValueError(f"{n_train} training stars asked, but only {pool.size} of the {rows.size} eligible stars"
                         f"{where} can train; ask for fewer (--n-train)")
    if n_calibration >= held.size:
        raise ValueError(f"{held.size} stars are left after {n_train} training stars, too few for "
                         f"{n_calibration} calibration stars and at least one test star; ask for fewer (--n-train)")
    train, cal, test = pool[:n_train], held[:n_calibration], held[n_calibration:]
    return tuple(np.sort(part) for part in (train, cal, test))


def calibration_size(usable, n_train, holdout=None) -> int:
    """Default size of the calibration split of :func:`split_indices`: :data:`CALIBRATION_FRACTION` of the
    stars that may be calibrated or tested — of ``usable`` (row indices) beyond the ``n_train`` training
    stars, or of those in ``holdout``."""
    n_open = usable.size - n_train if holdout is None else int(np.isin(usable, holdout).sum())
    return max(0, int(CALIBRATION_FRACTION * n_open))


def age_eligible(inputs: AgeInputs, sample: SeismicSample) -> np.ndarray:
    """Indices (into the sample) of seismic stars with age inputs and a usable seismic age."""
    ok = inputs.has_age_inputs[sample.rows] & finite(sample.log_age, sample.log_age_err)
    with np.errstate(invalid="ignore"):
        ok &= sample.log_age_err > 0
    return np.flatnonzero(ok)


def encoder_holdout(record, sample: SeismicSample, eligible, n_train,
                    enabled=True) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """The encoder's training IDs and the indices of the seismic stars it never trained on — the stars kept
    for calibrating and testing age forests — and a sentence saying which.

    ``record`` is the encoder-decoder's training record (:class:`~latentexplorer.ved.record.TrainingRecord`:
    its ``train_ids``), or None where there is no model or its model records no training pairs. Returns
    (None, None, sentence) where there is no record, the hold-out is switched off (``enabled`` false), no star
    of the sample is in the record (a model trained on another survey: every star is new to it), or fewer
    than ``n_train`` training or 20 test-and-calibration stars would be eligible."""
    seen = record.train_ids if enabled and record is not None else None
    if seen is None:
        return None, None, "Test stars are drawn from all stars" + ("" if enabled else " (hold-out switched off)") + "."
    unseen = np.flatnonzero(~np.isin(sample.apogee_id, seen))
    if unseen.size == len(sample):
        return None, None, (f"Every seismic star is new to the encoder (it trained on {seen.size} pairs of another "
                            "survey): test and calibration stars are drawn from all of them.")
    pool, held = np.setdiff1d(eligible, unseen).size, np.intersect1d(eligible, unseen).size
    if pool < n_train or held < 20:
        logger.warning("holding the encoder's %d training stars out leaves %d age-training and %d test stars: "
                       "test stars are drawn from all stars", seen.size, pool, held)
        return None, None, (f"Test stars are drawn from all stars: holding the encoder's {seen.size} training "
                            f"stars out would leave {held} age test stars.")
    return seen, unseen, (f"Test and calibration stars are only stars the encoder never trained on (its "
                          f"{seen.size} training pairs are held out of every test set); forests train on the others.")
