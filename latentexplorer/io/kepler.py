"""Writer of Kepler long-cadence light-curve files (``kplr{KIC:09d}-{stamp}_llc.fits``).

The layout follows the Kepler Archive Manual (KDMC-10008, section 2.3.1): a primary HDU carrying the
target's identity and photometry in its header, and a ``LIGHTCURVE`` binary table with the 20 standard
columns (TIME in BJD − 2454833, TIMECORR, CADENCENO, SAP_FLUX/ERR, SAP_BKG/ERR, PDCSAP_FLUX/ERR,
SAP_QUALITY, PSF_CENTR1/2 and MOM_CENTR1/2 with errors, POS_CORR1/2) and their TUNIT keywords, so that
``lightkurve.read`` opens the file as a ``KeplerLightCurve`` and the library's reader
(:mod:`latentexplorer.io.lightcurves`) serves real and mock files alike.

Relative flux in ppm becomes e⁻/s about a level set by the Kepler magnitude (1.74 × 10⁵ e⁻/s at
Kp = 12): flux = level (1 + ppm × 10⁻⁶). The mock has no instrumental systematics or crowding, so SAP and
PDCSAP fluxes are equal (CROWDSAP = FLFRCSAP = 1); the background, PSF centroids (NaN, as in most real
files), moment centroids and pointing corrections are nominal constants. Files are written atomically and
are byte-identical for identical input (no creation date in the headers).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.time import Time

from .. import constants as C
from .atomic import atomic_output

__all__ = ["write_kepler_llc", "kepler_llc_filename", "is_mock_light_curve", "flux_level_e_per_s", "BKJD_OFFSET"]

BKJD_OFFSET = 2454833  # BJD of BKJD = 0
_FLUX_KP12_E_PER_S = 1.74e5  # e⁻/s for a Kp = 12 star (Kepler Instrument Handbook)
_BACKGROUND_E_PER_S = 1.0e3  # nominal SAP_BKG summed over the aperture
_KEPLER_Q17_END_BKJD = 1591.001  # last long cadence of the mission


def flux_level_e_per_s(kepmag):
    """Mean PDCSAP flux (e⁻/s) of a star of Kepler magnitude ``kepmag`` (array-like)."""
    return _FLUX_KP12_E_PER_S * 10.0 ** (-0.4 * (np.asarray(kepmag, dtype=float) - 12.0))


def kepler_llc_filename(kic, time_stop_bkjd=_KEPLER_Q17_END_BKJD) -> str:
    """Archive-style file name ``kplr{KIC:09d}-{yyyydddhhmmss}_llc.fits``.

    The time stamp is the UTC time (year, day of year, hh mm ss) of the last cadence, as in the archive;
    the default is the end of Kepler's Q17.
    """
    kic = _check_kic(kic)
    stamp = Time(time_stop_bkjd + BKJD_OFFSET, format="jd", scale="tdb").utc.strftime("%Y%j%H%M%S")
    return f"kplr{kic:09d}-{stamp}_llc.fits"


#: The primary-header cards that mark a light curve written by :func:`write_kepler_llc`.
_ORIGIN, _CREATOR = "latentexplorer", "latentexplorer.io.kepler LightCurve writer"


def is_mock_light_curve(path) -> bool:
    """True when ``path`` is a regular file (not a link) whose primary header says :func:`write_kepler_llc` wrote
    it (``ORIGIN`` and ``CREATOR``), so a new mock survey may replace it; False for anything else."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        return False
    try:
        header = fits.getheader(path, 0)
    except (OSError, ValueError):
        return False
    return header.get("ORIGIN") == _ORIGIN and header.get("CREATOR") == _CREATOR


def _check_kic(kic) -> int:
    if isinstance(kic, bool) or not isinstance(kic, (int, np.integer)) or not 0 < kic < 10**9:
        raise ValueError(f"kic must be a positive integer below 10**9, got {kic!r}")
    return int(kic)


def _primary_header(kic, kepmag, ra, dec, quarter) -> fits.Header:
    header = fits.Header()
    cards = [
        ("ORIGIN", _ORIGIN, "institution responsible for creating this file"),
        ("CREATOR", _CREATOR, "program"),
        ("TELESCOP", "Kepler", "telescope"),
        ("INSTRUME", "Kepler Photometer", "detector type"),
        ("MISSION", "Kepler", "mission name"),
        ("OBJECT", f"KIC {kic}", "string version of KEPLERID"),
        ("KEPLERID", kic, "unique Kepler target identifier"),
        ("OBSMODE", "long cadence", "observing mode"),
        ("QUARTER", quarter, "quarter (undefined: several)"),
        ("RADESYS", "ICRS", "reference frame of celestial coordinates"),
        ("RA_OBJ", ra, "[deg] right ascension"),
        ("DEC_OBJ", dec, "[deg] declination"),
        ("EQUINOX", 2000.0, "equinox of celestial coordinate system"),
        ("KEPMAG", kepmag, "[mag] Kepler magnitude (Kp)"),
    ]
    for key, value, comment in cards:
        header[key] = (value, comment)
    return header


def _lightcurve_hdu(kic, time, flux_e, err_e, quality, ra, dec) -> fits.BinTableHDU:
    n = time.size
    nan = np.full(n, np.nan)
    # Light-travel-time correction applied to the cadence mid-times: Kepler's heliocentric orbit
    # (372.5 d) seen from the Kepler field, amplitude ~200 s; informative only.
    timecorr = (200.0 / 86400.0) * np.cos(2.0 * np.pi * (time - 180.0) / 372.5)
    columns = [
        ("TIME", "D", "BJD - 2454833", time),
        ("TIMECORR", "E", "d", timecorr),
        ("CADENCENO", "J", None, np.rint(time / C.KEPLER_LONG_CADENCE_DAYS).astype(np.int32)),
        ("SAP_FLUX", "E", "e-/s", flux_e),
        ("SAP_FLUX_ERR", "E", "e-/s", err_e),
        ("SAP_BKG", "E", "e-/s", np.full(n, _BACKGROUND_E_PER_S)),
        ("SAP_BKG_ERR", "E", "e-/s", np.full(n, np.sqrt(_BACKGROUND_E_PER_S))),
        ("PDCSAP_FLUX", "E", "e-/s", flux_e),
        ("PDCSAP_FLUX_ERR", "E", "e-/s", err_e),
        ("SAP_QUALITY", "J", None, quality),
        ("PSF_CENTR1", "D", "pixel", nan),
        ("PSF_CENTR1_ERR", "E", "pixel", nan),
        ("PSF_CENTR2", "D", "pixel", nan),
        ("PSF_CENTR2_ERR", "E", "pixel", nan),
        ("MOM_CENTR1", "D", "pixel", np.full(n, 500.0)),
        ("MOM_CENTR1_ERR", "E", "pixel", np.full(n, 1e-3)),
        ("MOM_CENTR2", "D", "pixel", np.full(n, 500.0)),
        ("MOM_CENTR2_ERR", "E", "pixel", np.full(n, 1e-3)),
        ("POS_CORR1", "E", "pixel", np.zeros(n)),
        ("POS_CORR2", "E", "pixel", np.zeros(n)),
    ]
    hdu = fits.BinTableHDU.from_columns(
        [fits.Column(name=name, format=fmt, unit=unit, array=array) for name, fmt, unit, array in columns],
        name="LIGHTCURVE",
    )
    start, stop = float(time[0]), float(time[-1])
    cards = [
        ("TELESCOP", "Kepler", "telescope"),
        ("INSTRUME", "Kepler Photometer", "detector type"),
        ("OBJECT", f"KIC {kic}", "string version of KEPLERID"),
        ("KEPLERID", kic, "unique Kepler target identifier"),
        ("RA_OBJ", ra, "[deg] right ascension"),
        ("DEC_OBJ", dec, "[deg] declination"),
        ("TIMEREF", "SOLARSYSTEM", "barycentric correction applied to times"),
        ("TASSIGN", "SPACECRAFT", "where time is assigned"),
        ("TIMESYS", "TDB", "time system is barycentric JD"),
        ("BJDREFI", BKJD_OFFSET, "integer part of BJD reference date"),
        ("BJDREFF", 0.0, "fraction of the day in BJD reference date"),
        ("TIMEUNIT", "d", "time unit for TIME, TSTART and TSTOP"),
        ("TSTART", start, "observation start time in BJD-BJDREF"),
        ("TSTOP", stop, "observation stop time in BJD-BJDREF"),
        ("TELAPSE", stop - start, "[d] TSTOP - TSTART"),
        ("TIMEDEL", C.KEPLER_LONG_CADENCE_DAYS, "[d] time resolution of data"),
        ("TIMEPIXR", 0.5, "bin time beginning=0 middle=0.5 end=1"),
        ("INT_TIME", 6.019802, "[s] photon accumulation time per frame"),
        ("NUM_FRM", 270, "number of frames per time stamp"),
        ("CROWDSAP", 1.0, "target flux / total flux in aperture"),
        ("FLFRCSAP", 1.0, "fraction of target flux in aperture"),
    ]
    for key, value, comment in cards:
        hdu.header[key] = (value, comment)
    return hdu


def write_kepler_llc(path, kic, time_days, flux_ppm, flux_err_ppm, quality, *, kepmag=None, ra=None,
                     dec=None, quarter=None):
    """Write a light curve as a Kepler long-cadence ``*_llc.fits`` file, atomically.

    Parameters
    ----------
    path : str or Path, the output file (see :func:`kepler_llc_filename` for the archive's naming).
    kic : int, Kepler Input Catalog ID.
    time_days : (n,) BJD − 2454833 (BKJD), increasing.
    flux_ppm, flux_err_ppm : (n,) relative flux and its 1σ error, ppm; NaN marks a cadence without data.
    quality : (n,) int, Kepler SAP_QUALITY bits.
    kepmag : float, Kepler magnitude; sets the e⁻/s flux level (Kp = 12 when not given) and KEPMAG.
    ra, dec : float, degrees (ICRS); written as RA_OBJ/DEC_OBJ.
    quarter : int, Kepler quarter when the file holds one quarter.

    Returns
    -------
    pathlib.Path of the written file.

    Raises
    ------
    ValueError
        If the arrays are not 1-D of one length, the times are not finite and increasing, the
        quality flags are not non-negative integers or the KIC is not a positive integer.
    """
    kic = _check_kic(kic)
    time = np.asarray(time_days, dtype=float)
    flux, err = np.asarray(flux_ppm, dtype=float), np.asarray(flux_err_ppm, dtype=float)
    quality = np.asarray(quality)
    if time.ndim != 1 or time.size == 0 or not time.shape == flux.shape == err.shape == quality.shape:
        raise ValueError(f"time_days, flux_ppm, flux_err_ppm and quality must be 1-D of one non-zero length, "
                         f"got {time.shape}, {flux.shape}, {err.shape}, {quality.shape}")
    if not (np.all(np.isfinite(time)) and np.all(np.diff(time) > 0)):
        raise ValueError("time_days must be finite and strictly increasing")
    if not np.issubdtype(quality.dtype, np.integer) or quality.min() < 0 or quality.max() >= 2**31:
        raise ValueError("quality must hold non-negative 32-bit integer Kepler quality flags")
    if kepmag is not None and not np.isfinite(kepmag):
        raise ValueError(f"kepmag must be finite, got {kepmag!r}")
    level = flux_level_e_per_s(12.0 if kepmag is None else kepmag)
    primary = fits.PrimaryHDU(header=_primary_header(kic, kepmag, ra, dec, quarter))
    table = _lightcurve_hdu(kic, time, level * (1.0 + 1e-6 * flux), level * 1e-6 * err,
                            quality.astype(np.int32), ra, dec)
    with atomic_output(path, suffix=".fits") as tmp:
        fits.HDUList([primary, table]).writeto(tmp, overwrite=True)
    return Path(path)
