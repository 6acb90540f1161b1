"""Input checks and pixel-level standardisation of continuum-normalised spectra (paper section 5)."""

from __future__ import annotations

import numpy as np

from ..constants import APOGEE_N_PIXELS

__all__ = ["STD_FLOOR", "BAD_PIXEL_VALUE", "check_spectra", "PixelScaler"]

STD_FLOOR = 1e-3  # continuum-normalised flux units; pixels that barely vary (e.g. always masked) get this std
BAD_PIXEL_VALUE = 1.0  # the continuum level, as the ingest sets bad pixels


def check_spectra(spectra, n_pixels: int = APOGEE_N_PIXELS) -> np.ndarray:
    """Validate continuum-normalised spectra and replace NaN pixels by the continuum (1).

    Parameters
    ----------
    spectra : (n, n_pixels) or (n_pixels,) array
        Continuum-normalised flux; a single spectrum is treated as ``n = 1``.

    Returns
    -------
    (n, n_pixels) float32 array: ``spectra`` itself when it is a float32 array without NaN (one pass
    over the pixels), otherwise a new array.

    Raises
    ------
    ValueError
        Wrong shape or pixel count, infinite values, or a spectrum without a single finite pixel
        (the message lists the first such rows).
    """
    x = np.asarray(spectra, dtype=np.float32)
    x = x.reshape(1, -1) if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[1] != n_pixels:
        raise ValueError(f"spectra must have shape (n, {n_pixels}) (gap-removed APOGEE grid), "
                         f"got {np.shape(spectra)}")
    if np.isfinite(x).all():
        return x
    if np.isinf(x).any():
        raise ValueError("spectra contain infinite values")
    nan = np.isnan(x)
    empty = np.flatnonzero(nan.all(axis=1))
    if empty.size:
        raise ValueError(f"{empty.size} spectra are entirely NaN (rows {empty[:10].tolist()}"
                         f"{' …' if empty.size > 10 else ''}); drop them before encoding")
    return np.where(nan, np.float32(BAD_PIXEL_VALUE), x)


class PixelScaler:
    """Per-pixel standardisation x → (x − mean) / std with mean and std from the training spectra.

    Parameters
    ----------
    mean, std : (n_pixels,) arrays
        Pixel means and standard deviations (std already floored at :data:`STD_FLOOR`).
    """

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        if self.mean.ndim != 1 or self.mean.shape != self.std.shape:
            raise ValueError(f"pixel mean and std must be 1-d of equal length, got {self.mean.shape}, {self.std.shape}")
        if not (np.all(np.isfinite(self.mean)) and np.all(self.std > 0)):
            raise ValueError("pixel mean must be finite and pixel std positive")

    @classmethod
    def fit(cls, spectra) -> "PixelScaler":
        """Scaler from (n, n_pixels) cleaned spectra (see :func:`check_spectra`), std floored at STD_FLOOR."""
        x = np.asarray(spectra, dtype=np.float64)
        return cls(x.mean(axis=0), np.maximum(x.std(axis=0), STD_FLOOR))

    @property
    def n_pixels(self) -> int:
        return self.mean.size

    def transform(self, spectra) -> np.ndarray:
        """(n, n_pixels) cleaned spectra → standardised float32 array."""
        return ((np.asarray(spectra, dtype=np.float32) - self.mean) / self.std).astype(np.float32, copy=False)
