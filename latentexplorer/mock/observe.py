"""Observing the mock's truth: the catalogs a survey would publish of its stars.

:func:`observe_allstar` gives an allStar-like catalog of ASPCAP-like measurements (truth + errors, a few flagged
rows with missing values, Gaia EDR3-like astrometry); :func:`observe_seismic`, for the Kepler subset, a seismic
catalog like APOKASC-2 / Miglio et al. 2021 (ν_max, Δν with pipeline-like errors, masses from the scaling
relations, ages with 12–25 % errors, median 18 %). Both draw from the random generator they are given, in a fixed
order, so a seed gives the same catalogs.
"""

from __future__ import annotations

import numpy as np
from astropy.table import Table

from ..io.allstar import ASPCAPFLAG_BITS, MISSING_VALUE, STARFLAG_BITS
from ..seismo import scaling_mass

__all__ = ["observe_allstar", "observe_seismic"]


def _label_errors(snr):
    """ASPCAP-like 1σ errors at per-pixel S/N ``snr``: dict of arrays (K for Teff, dex otherwise)."""
    s = 100.0 / snr
    return {
        "TEFF": 40.0 + 30.0 * s,
        "LOGG": 0.04 + 0.03 * s,
        "FE_H": 0.015 + 0.02 * s,
        "M_H": 0.015 + 0.02 * s,
        "ALPHA_M": 0.01 + 0.015 * s,
        "C_FE": 0.02 + 0.03 * s,
        "N_FE": 0.03 + 0.04 * s,
    }


def _gaia_parallax_error(gmag):
    """Gaia EDR3-like parallax error (mas) at G magnitude ``gmag`` (≈ Kepler magnitude for giants)."""
    return 0.015 + 0.03 * 10 ** (0.2 * (gmag - 16.0))


def _field_names(truth) -> np.ndarray:
    """APOGEE-style field names: 'KEPLER' in the Kepler field, else 'lll±bb' of the nearest 6°×4° grid point."""
    l_grid = (np.round(np.asarray(truth["GLON"]) / 6.0).astype(int) * 6) % 360
    b_grid = np.round(np.asarray(truth["GLAT"]) / 4.0).astype(int) * 4
    names = np.array([f"{a:03d}{b:+03d}" for a, b in zip(l_grid, b_grid)], dtype="U16")
    return np.where(np.asarray(truth["KIC"]) > 0, "KEPLER", names)


def observe_allstar(truth, rng) -> Table:
    """An allStar-like catalog of ``truth``: ASPCAP-like measurements, Gaia astrometry, flags.

    Measurements are truth + Gaussian errors (see ``*_ERR``). About 2 % of stars carry
    STARFLAG PERSIST_HIGH with SNREV lowered to 10–35 % of the S/N; 1 % BRIGHT_NEIGHBOR; 0.5 %
    ASPCAPFLAG STAR_BAD with every ASPCAP parameter NaN (DR17 blanks them); another 0.5 % have no
    [Fe/H] (NaN, M_H_BAD); 0.5 % have no Gaia EDR3 match (GAIAEDR3_* = −9999, as DR17 does).
    """
    n = len(truth)
    snr = np.asarray(truth["SNR"], float)
    out = Table()
    out["APOGEE_ID"] = truth["APOGEE_ID"]
    out["TELESCOPE"] = np.where(np.asarray(truth["DEC"]) < -20.0, "lco25m", "apo25m")
    out["FIELD"] = _field_names(truth)
    out["RA"], out["DEC"] = truth["RA"], truth["DEC"]

    persist = rng.random(n) < 0.02
    out["SNREV"] = snr * np.where(persist, rng.uniform(0.1, 0.35, n), rng.uniform(0.9, 1.0, n))
    starflag = np.where(persist, 1 << STARFLAG_BITS["PERSIST_HIGH"], 0)
    starflag |= np.where(rng.random(n) < 0.01, 1 << STARFLAG_BITS["BRIGHT_NEIGHBOR"], 0)
    out["STARFLAG"] = starflag

    errors = _label_errors(snr)
    for name, sigma in errors.items():
        out[name] = np.asarray(truth[name], float) + sigma * rng.standard_normal(n)
        out[f"{name}_ERR"] = sigma
    star_bad = rng.random(n) < 0.005
    no_feh = ~star_bad & (rng.random(n) < 0.005)
    for name in errors:
        out[name][star_bad] = np.nan
        out[f"{name}_ERR"][star_bad] = np.nan
    out["FE_H"][no_feh] = np.nan
    out["FE_H_ERR"][no_feh] = np.nan
    aspcapflag = np.where(star_bad, 1 << ASPCAPFLAG_BITS["STAR_BAD"], 0)
    aspcapflag |= np.where(no_feh, 1 << ASPCAPFLAG_BITS["M_H_BAD"], 0)
    out["ASPCAPFLAG"] = aspcapflag

    out["VHELIO_AVG"] = np.asarray(truth["VLOS"], float) + (0.05 + 10.0 / snr) * rng.standard_normal(n)
    plx_err = _gaia_parallax_error(np.asarray(truth["KEPMAG"], float))
    dist = np.asarray(truth["DIST"], float)
    gaia = {
        "GAIAEDR3_PARALLAX": (1.0 / dist, plx_err),
        "GAIAEDR3_PMRA": (np.asarray(truth["PMRA"], float), 1.1 * plx_err),
        "GAIAEDR3_PMDEC": (np.asarray(truth["PMDEC"], float), 1.1 * plx_err),
    }
    no_gaia = rng.random(n) < 0.005
    for name, (value, sigma) in gaia.items():
        out[name] = np.where(no_gaia, MISSING_VALUE, value + sigma * rng.standard_normal(n))
        out[f"{name}_ERROR"] = np.where(no_gaia, MISSING_VALUE, sigma)
    # Spectro-photometric distance, ~10 %.
    out["DIST"] = dist * np.exp(0.1 * rng.standard_normal(n))
    out["DIST_ERR"] = 0.1 * out["DIST"]
    return out


def observe_seismic(truth, rng) -> Table:
    """A seismic catalog of the Kepler stars in ``truth`` (rows with KIC > 0), like APOKASC-2.

    ν_max and Δν get relative errors of ~1.5 % and ~0.7 % (log-normally spread between stars); masses
    come from the scaling relation (paper Eq. 3) on those and a seismic-pipeline Teff (±70 K), with
    propagated errors; ages are the true ages times exp(N(0, σ)) with σ between 12 and 25 %
    (median 18 %), AGE_ERR = σ × AGE. Evolutionary states are the true ones.
    """
    kep = truth[np.asarray(truth["KIC"]) > 0]
    n = len(kep)
    out = Table()
    out["KIC"], out["APOGEE_ID"] = kep["KIC"], kep["APOGEE_ID"]
    rel_numax = 0.015 * np.exp(0.3 * rng.standard_normal(n))
    rel_dnu = 0.007 * np.exp(0.3 * rng.standard_normal(n))
    out["NUMAX"] = np.asarray(kep["NUMAX"], float) * (1.0 + rel_numax * rng.standard_normal(n))
    out["NUMAX_ERR"] = rel_numax * out["NUMAX"]
    out["DNU"] = np.asarray(kep["DELTANU"], float) * (1.0 + rel_dnu * rng.standard_normal(n))
    out["DNU_ERR"] = rel_dnu * out["DNU"]
    out["EVOLSTATE"] = kep["EVOLSTATE"]
    teff = np.asarray(kep["TEFF"], float) + 70.0 * rng.standard_normal(n)
    out["MASS"], out["MASS_ERR"] = scaling_mass(
        out["NUMAX"], out["DNU"], teff, out["NUMAX_ERR"], out["DNU_ERR"], np.full(n, 70.0)
    )
    rel_age = np.clip(0.18 * np.exp(0.15 * rng.standard_normal(n)), 0.12, 0.25)
    out["AGE"] = np.asarray(kep["AGE"], float) * np.exp(rel_age * rng.standard_normal(n))
    out["AGE_ERR"] = rel_age * out["AGE"]
    return out
