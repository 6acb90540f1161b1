"""The network's PSD target built from lightkurve's own chain: the reference :func:`latentexplorer.psd.compute_psd`
is tested against and the peer of its speed benchmark (``benchmarks/bench_psd.py``)."""

from __future__ import annotations

import astropy.units as u
import numpy as np

from . import constants as C
from .io.lightcurves import import_lightkurve
from .psd import _validate, log_rebin, native_frequency, smooth

__all__ = ["compute_psd_lightkurve"]


def compute_psd_lightkurve(time_days, flux_ppm):
    """The same target as :func:`latentexplorer.psd.compute_psd`, from lightkurve's chain (≈ 40× slower in
    CPU time).

    ``LightCurve.to_periodogram(normalization="psd", frequency=native grid)`` (astropy's fast
    Lomb–Scargle) → ``.flatten(filter_width=0.01)`` → :func:`~latentexplorer.psd.smooth` →
    :func:`~latentexplorer.psd.log_rebin` → natural log. Returns a (2092,) float32 array. Differs from
    ``compute_psd`` by the median-to-mean constant of :func:`~latentexplorer.psd.flatten` (0.013 in ln PSD)
    and the periodogram implementation (< 1e-3). Raises as ``compute_psd`` for an unusable light curve.
    """
    lightkurve = import_lightkurve()
    t, y, _ = _validate(time_days, flux_ppm)
    lc = lightkurve.LightCurve(time=t, flux=y)
    freq = native_frequency()
    pg = lc.to_periodogram(normalization="psd", frequency=freq * u.microhertz, freq_unit=u.microhertz)
    flat = pg.flatten(filter_width=C.PSD_FLATTEN_WIDTH_LOG10)
    return np.log(log_rebin(freq, smooth(np.asarray(flat.power.value)))).astype(np.float32)
