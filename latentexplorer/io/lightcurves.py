"""Reading Kepler/TESS light curves (lightkurve) into the (time in days, flux in ppm) form the PSD needs."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

__all__ = ["LightCurveRecord", "read_light_curve", "lightcurve_to_ppm", "target_ids"]


@dataclass(frozen=True)
class LightCurveRecord:
    """One light curve ready for :func:`latentexplorer.psd.compute_psd`.

    time_days : (n,) days (the mission's BJD offset kept).  flux_ppm : (n,) ppm about the median.
    target_id : "KIC n" / "TIC n" / the file's OBJECT.  kic : Kepler ID, -1 for other missions.
    """

    time_days: np.ndarray
    flux_ppm: np.ndarray
    target_id: str
    kic: int


def lightcurve_to_ppm(lc) -> tuple[np.ndarray, np.ndarray]:
    """(time in days, flux in ppm about the median) of a lightkurve.LightCurve, NaN cadences dropped."""
    lc = lc.remove_nans()
    time = np.asarray(lc.time.value, dtype=float)
    flux = np.asarray(lc.flux.value, dtype=float)
    median = np.median(flux) if flux.size else np.nan
    if not np.isfinite(median) or median == 0:
        raise ValueError("the light curve's median flux is zero or undefined; cannot normalise to ppm")
    return time, (flux / median - 1.0) * 1e6


def target_ids(meta) -> tuple[str, int]:
    """("KIC n"/"TIC n"/object name, KIC or -1) from a light curve's FITS header metadata."""
    kic = meta.get("KEPLERID")
    if kic is not None:
        return f"KIC {int(kic)}", int(kic)
    tic = meta.get("TICID")
    if tic is not None:
        return f"TIC {int(tic)}", -1
    return str(meta.get("OBJECT") or meta.get("TARGETID") or "unknown"), -1


def read_light_curve(path) -> LightCurveRecord:
    """Read a Kepler ``*_llc.fits`` / TESS ``*_lc.fits`` file with :func:`lightkurve.read`.

    PDCSAP flux; cadences flagged by lightkurve's default quality bitmask removed; NaNs dropped; flux
    normalised to ppm about its median.

    Raises
    ------
    ValueError
        If the file is not a light curve lightkurve can read (the message names the file).
    """
    import lightkurve

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lc = lightkurve.read(str(path), flux_column="pdcsap_flux", quality_bitmask="default")
    except Exception as err:  # lightkurve raises many types for foreign files
        raise ValueError(f"{path}: not a readable Kepler/TESS light curve ({err})") from err
    time, flux = lightcurve_to_ppm(lc)
    target, kic = target_ids(lc.meta)
    return LightCurveRecord(time, flux, target, kic)
