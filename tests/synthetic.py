"""Synthetic light curves with a known answer, for the PSD and seismology tests.

Deliberately minimal and independent of :mod:`latentexplorer.mock` (which models granulation, mixed
modes and photometric noise in detail): these are the injection signals of the unit tests.
"""

import numpy as np

from latentexplorer import constants as C

KEPLER_4YR_DAYS = 1470.0


def kepler_cadences(baseline_days=KEPLER_4YR_DAYS, missing_fraction=0.03, seed=0):
    """Indices and times (days) of kept long cadences over ``baseline_days``: a 1.5-day downlink gap
    every 93 days and randomly missing cadences."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, baseline_days, C.KEPLER_LONG_CADENCE_DAYS)
    keep = rng.random(t.size) > missing_fraction
    for start in np.arange(93.0, baseline_days, 93.0):
        keep &= ~((t > start) & (t < start + 1.5))
    return np.flatnonzero(keep), t[keep]


def oscillating_star(numax, deltanu, *, baseline_days=KEPLER_4YR_DAYS, amplitude_ppm=20.0,
                     noise_ppm=100.0, epsilon=1.0, seed=0):
    """(time_days, flux_ppm): coherent radial, dipole and quadrupole modes plus white noise.

    Sinusoids at the asymptotic frequencies Δν (n + ε + l/2) − δν0l (δν01 = 0.025 Δν, δν02 = 0.12 Δν;
    visibilities 1, 1.5, 0.6) with power in a Gaussian envelope of FWHM 0.66 ν_max^0.88 centred on
    ν_max, radial-mode amplitude ``amplitude_ppm`` at ν_max and random phases, on Kepler cadences.
    Coherent modes make the injected ν_max and Δν exact, free of stochastic-excitation noise.
    """
    rng = np.random.default_rng(seed)
    _, t = kepler_cadences(baseline_days, seed=seed)
    sigma_env = 0.66 * numax**0.88 / 2.355
    flux = rng.normal(0.0, noise_ppm, t.size)
    n_max = numax / deltanu - epsilon
    for order in range(int(n_max) - 8, int(n_max) + 10):
        for visibility, shift in ((1.0, 0.0), (1.5, 0.5 - 0.025), (0.6, -0.12)):
            nu = deltanu * (order + epsilon + shift)
            if nu <= 0:
                continue
            amp = amplitude_ppm * np.sqrt(visibility) * np.exp(-0.25 * ((nu - numax) / sigma_env) ** 2)
            flux += amp * np.sin(2 * np.pi * nu * 0.0864 * t + rng.uniform(0, 2 * np.pi))  # μHz → 1/d
    return t, flux


def white_noise(baseline_days=KEPLER_4YR_DAYS, sigma_ppm=100.0, seed=0):
    """(time_days, flux_ppm) of Gaussian white noise on Kepler cadences."""
    _, t = kepler_cadences(baseline_days, seed=seed)
    return t, np.random.default_rng(seed + 1).normal(0.0, sigma_ppm, t.size)


#: TESS times are BJD − 2457000 (BTJD); sector 1 began at BTJD 1325.3.
TESS_BJD_OFFSET = 2457000
TESS_FIRST_BTJD = 1325.3


def write_tess_lc(path, time_days, flux_ppm, *, tic=None, obj=None):
    """A TESS-like light-curve FITS file that ``lightkurve.read`` opens as a ``TessLightCurve``: a primary
    header with ORIGIN, TELESCOP = 'TESS', a light-curve CREATOR, ``TICID`` (when ``tic`` is given) and ``OBJECT``
    ('TIC n', or ``obj``), and a ``LIGHTCURVE`` table with TIME (BTJD), PDCSAP_FLUX/ERR, SAP_FLUX and QUALITY.
    ``time_days`` is shifted to start at sector 1; ``flux_ppm`` becomes e⁻/s about 10⁴."""
    from astropy.io import fits

    time = np.asarray(time_days, float) - time_days[0] + TESS_FIRST_BTJD
    flux = 1e4 * (1.0 + 1e-6 * np.asarray(flux_ppm, float))
    primary = fits.PrimaryHDU()
    cards = [("ORIGIN", "latentexplorer tests"), ("TELESCOP", "TESS"), ("INSTRUME", "TESS Photometer"),
             ("MISSION", "TESS"), ("CREATOR", "latentexplorer tests LightCurveExporterPipelineModule"),
             ("OBJECT", obj if obj is not None else f"TIC {tic}")]
    if tic is not None:
        cards.append(("TICID", tic))
    for key, value in cards:
        primary.header[key] = value
    columns = [("TIME", "D", "BJD - 2457000, days", time), ("TIMECORR", "E", "d", np.zeros(time.size)),
               ("CADENCENO", "J", None, np.arange(time.size, dtype=np.int32)),
               ("SAP_FLUX", "E", "e-/s", flux), ("PDCSAP_FLUX", "E", "e-/s", flux),
               ("PDCSAP_FLUX_ERR", "E", "e-/s", np.full(time.size, 1.0)),
               ("QUALITY", "J", None, np.zeros(time.size, dtype=np.int32))]
    table = fits.BinTableHDU.from_columns([fits.Column(name=n, format=f, unit=u, array=a) for n, f, u, a in columns],
                                          name="LIGHTCURVE")
    for key, value in [("TELESCOP", "TESS"), ("OBJECT", primary.header["OBJECT"]), ("TIMEREF", "SOLARSYSTEM"),
                       ("TIMESYS", "TDB"), ("BJDREFI", TESS_BJD_OFFSET), ("BJDREFF", 0.0), ("TIMEUNIT", "d")]:
        table.header[key] = value
    fits.HDUList([primary, table]).writeto(path)
    return path
