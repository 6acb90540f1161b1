"""Reading Kepler/TESS light curves (lightkurve) into the (time in days, flux in ppm) form the PSD needs."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["LightCurveRecord", "read_light_curve", "lightcurve_to_ppm", "target_ids", "import_lightkurve"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LightCurveRecord:
    """One light curve ready for :func:`latentexplorer.psd.compute_power_spectrum`, with its target key.

    time_days : (n,) days (the mission's BJD offset kept).  flux_ppm : (n,) ppm about the median.
    target_id : "KIC n" / "TIC n" / the file's OBJECT.
    kic, tic : the target key — the Kepler Input Catalog number of a Kepler light curve, the TESS Input
        Catalog number of a TESS one (see :func:`target_ids`); -1 where the file gives none.
    """

    time_days: np.ndarray
    flux_ppm: np.ndarray
    target_id: str
    kic: int
    tic: int


def lightcurve_to_ppm(lc) -> tuple[np.ndarray, np.ndarray]:
    """(time in days, flux in ppm about the median) of a lightkurve.LightCurve, NaN-flux cadences dropped.

    A light curve whose every flux is NaN comes back as it is (NaN flux, nothing to normalise by), so that
    :func:`latentexplorer.psd.check_light_curve` flags it NONFINITE; one without cadences comes back empty
    (TOO_FEW_POINTS). Raises ValueError where the median flux is zero (no relative flux can be formed).
    """
    time = np.asarray(lc.time.value, dtype=float)
    flux = np.asarray(lc.flux.value, dtype=float)
    keep = ~np.isnan(flux)  # lightkurve's remove_nans(), without its table copy
    if not keep.any():
        return time, flux
    time, flux = time[keep], flux[keep]
    median = np.median(flux)
    if not np.isfinite(median) or median == 0:
        raise ValueError("the light curve's median flux is zero or undefined; cannot normalise to ppm")
    return time, (flux / median - 1.0) * 1e6


#: An OBJECT card naming a catalog star: "KIC 8006161", "TIC 27916356" (blanks optional).
_CATALOG_OBJECT = re.compile(r"^\s*(KIC|TIC)\s*(\d+)\s*$", re.I)


def target_ids(meta) -> tuple[str, int, int]:
    """(name, KIC, TIC) of a light curve from its FITS header metadata; -1 for a number it does not give.

    A Kepler file's ``KEPLERID`` is its KIC and a TESS file's ``TICID`` its TIC; without either, an
    ``OBJECT`` of the form "KIC n" or "TIC n" gives the number. The name is "KIC n" / "TIC n", else the
    ``OBJECT`` (or ``TARGETID``), else "unknown".
    """
    if meta.get("KEPLERID") is not None:
        return f"KIC {int(meta['KEPLERID'])}", int(meta["KEPLERID"]), -1
    if meta.get("TICID") is not None:
        return f"TIC {int(meta['TICID'])}", -1, int(meta["TICID"])
    name = str(meta.get("OBJECT") or meta.get("TARGETID") or "unknown")
    found = _CATALOG_OBJECT.match(name)
    if found is None:
        return name, -1, -1
    catalog, number = found.group(1).upper(), int(found.group(2))
    return f"{catalog} {number}", number if catalog == "KIC" else -1, number if catalog == "TIC" else -1


@functools.lru_cache(maxsize=1)
def import_lightkurve():
    """The ``lightkurve`` module, imported once, quietly and without double printing.

    Its import warns that an optional submodule (``tpfmodel``) needs ``oktopus``: not used here, dropped.
    It also gives its logger a StreamHandler of its own while leaving propagation on, so once an
    application configures the root logger (the CLI does) every lightkurve line is printed twice, once bare
    and once formatted; that handler is removed, and lightkurve's records reach the root's handlers alone.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tpfmodel submodule is not available", category=UserWarning)
        import lightkurve
    logger = logging.getLogger("lightkurve")
    for handler in list(logger.handlers):
        if type(handler) is logging.StreamHandler:
            logger.removeHandler(handler)
    return lightkurve


class _Collect(logging.Handler):
    """Keeps the messages of the log records it receives."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _messages_of_file(path):
    """Collect the warnings and lightkurve log records (WARNING and above) raised in the block and log each
    distinct one once, as one line that names ``path`` (the block's errors propagate after them)."""
    logger = logging.getLogger("lightkurve")
    collect = _Collect()
    propagate = logger.propagate
    logger.addHandler(collect)
    logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        logger.removeHandler(collect)
        logger.propagate = propagate
        for message in dict.fromkeys(collect.messages + [str(w.message) for w in caught]):
            log.warning("%s: %s", path, _one_line(message))


def _one_line(text) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()


#: lightkurve's advice for a file it cannot recognise: it would have a user delete their own data.
_LIGHTKURVE_ADVICE = re.compile(r"\s*This file may be corrupt due to an interrupted download\..*$", re.S)


def _reason(path, err) -> str:
    """Why ``path`` could not be read, in one line: a link loop or a missing target named as such, else the
    reader's message without lightkurve's advice to remove the file."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        try:
            path.resolve(strict=True)
        except FileNotFoundError:
            return f"a symbolic link to {os.readlink(path)}, which does not exist"
        except (OSError, RuntimeError):
            return "a symbolic link loop: it leads back to itself"
    return _one_line(_LIGHTKURVE_ADVICE.sub("", str(err))) or type(err).__name__


def read_light_curve(path) -> LightCurveRecord:
    """Read a Kepler ``*_llc.fits`` / TESS ``*_lc.fits`` file with :func:`lightkurve.read`.

    PDCSAP flux; cadences flagged by lightkurve's default quality bitmask removed; NaNs dropped; flux
    normalised to ppm about its median (see :func:`lightcurve_to_ppm`); the target key (KIC or TIC) from
    the header (:func:`target_ids`). Each warning lightkurve gives about the file (e.g. that the quality mask
    removes every cadence) is logged once, as one line naming the file.

    Raises
    ------
    ValueError
        If the file is not a light curve lightkurve can read (one line; the message names the file).
    """
    lightkurve = import_lightkurve()
    with _messages_of_file(path):
        try:
            lc = lightkurve.read(str(path), flux_column="pdcsap_flux", quality_bitmask="default")
            time, flux = lightcurve_to_ppm(lc)
        except Exception as err:  # lightkurve raises many types for foreign files
            raise ValueError(f"{path}: not a readable Kepler/TESS light curve ({_reason(path, err)})") from err
    return LightCurveRecord(time, flux, *target_ids(lc.meta))
