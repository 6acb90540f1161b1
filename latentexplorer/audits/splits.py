"""The split of the age audits and the age model: the paper's training-set size, the calibration share, and the
random train / calibration / test split every forest of :mod:`latentexplorer.audits` and
:func:`~latentexplorer.ages.training.train_age_model` draws."""

from __future__ import annotations

import numpy as np

__all__ = ["AGE_TRAIN_SIZE", "CALIBRATION_FRACTION", "split_indices", "calibration_size"]

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

