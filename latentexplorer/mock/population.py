"""The mock survey's stars: a Milky Way disk of red giants with known true parameters.

The population is drawn in five steps, batch by batch, each in the module that holds its model:

1. **Birth** (:func:`latentexplorer.mock.disk.draw_birth`): a thin and a thick disk with their ages.
2. **Evolution** (:func:`latentexplorer.mock.giants.giant_weights`): which of the stars formed are giants today,
   RGB or red clump.
3. **Place** (:func:`~latentexplorer.mock.disk.place_general`, :func:`~latentexplorer.mock.disk.place_kepler`):
   positions from the disk's density, in the general APOGEE-like sample or the Kepler field.
4. **Chemistry and stellar parameters** (:func:`~latentexplorer.mock.disk.chemistry`,
   :func:`~latentexplorer.mock.giants.stellar_parameters`): [Fe/H], [α/M]; mass, log g, Teff, ν_max, Δν.
5. **Observe** (:func:`~latentexplorer.mock.disk.kinematics`, :func:`_kepler_magnitude`, :func:`_apogee_snr`):
   velocities and sky coordinates, Kepler magnitude with a simple extinction layer, APOGEE S/N; the Kepler
   sample keeps the seismic, bright-enough giants. Then [C/N] after dredge-up, unique APOGEE_IDs and KIC numbers.

This module holds the assembly — the order of the draws from each random stream — and the identifiers.
Parameters are tuned so that the Kepler subset resembles APOKASC-2 (RC fraction ≈ 0.42, the ν_max,
mass and age percentiles quoted in issue 3). Units: Gyr, M☉, R☉, L☉, K, dex, μHz, kpc, km/s, deg, mas/yr.
"""

from __future__ import annotations

import numpy as np
from astropy.table import Table

from .. import constants as C
from ..io.truth import TRUTH_COLUMNS
from .disk import (THICK_AGE_RANGE_GYR, THIN_AGE_RANGE_GYR, chemistry, draw_birth, kepler_column_envelope, kinematics,
                   place_general, place_kepler, to_galactocentric, to_icrs)
from .giants import carbon_nitrogen, giant_weight_envelope, giant_weights, stellar_parameters

__all__ = ["apogee_id", "draw_population"]

# --- Selections -----------------------------------------------------------------------------------
KEPLER_MAG_LIMIT = 14.0  # soft limit (0.3 mag wide) of the Kepler giant targets
KEPLER_NUMAX_RANGE_UHZ = C.TRAIN_NUMAX_RANGE_UHZ

_BATCH = 65_536  # candidates per rejection-sampling batch (fixed, so results depend on seed and n only)


# --- Observe --------------------------------------------------------------------------------------
def _kepler_magnitude(luminosity, teff, dist, b_deg):
    """Kepler-band magnitude: M_bol − BC_Kp(Teff) + distance modulus + extinction in a dust layer
    (0.7 mag/kpc in the plane, 0.1 kpc scale height)."""
    m_bol = 4.74 - 2.5 * np.log10(luminosity)
    bc = -0.1 - 6e-4 * (5000.0 - teff)
    sin_b = np.maximum(np.abs(np.sin(np.radians(b_deg))), 1e-3)
    extinction = 0.7 * 0.1 / sin_b * (1.0 - np.exp(-dist * sin_b / 0.1))
    return m_bol - bc + 5.0 * np.log10(dist * 100.0) + extinction


def _apogee_snr(rng, kepmag):
    """APOGEE S/N per pixel: ~100 at H = 11 (H ≈ Kp − 2.4 for giants), ±25 %, clipped to 50–300."""
    h = kepmag - 2.4
    return np.clip(100.0 * 10 ** (-0.2 * (h - 11.0)) * np.exp(0.25 * rng.standard_normal(h.size)), 50.0, 300.0)


def apogee_id(ra_deg, dec_deg):
    """2MASS-style APOGEE identifiers, e.g. ``2M19033658+4256112``, from ICRS RA/Dec (deg).

    Returns an array of str (18 characters): RA as hhmmss.ss and Dec as ±ddmmss.s without separators.
    """
    ra = np.round(np.mod(np.asarray(ra_deg, float), 360.0) / 15.0 * 360000.0).astype(np.int64)  # 0.01 s
    ra = np.mod(ra, 24 * 360000)
    dec = np.asarray(dec_deg, float)
    sign = np.where(dec < 0, "-", "+")
    dec_units = np.round(np.abs(dec) * 36000.0).astype(np.int64)  # 0.1 arcsec
    hh, rem = np.divmod(ra, 360000)
    mm, ss = np.divmod(rem, 6000)
    dd, rem_d = np.divmod(dec_units, 36000)
    dm, ds = np.divmod(rem_d, 600)
    return np.array(
        [
            f"2M{a:02d}{b:02d}{c:04d}{s}{d:02d}{e:02d}{f:03d}"
            for a, b, c, s, d, e, f in zip(hh, mm, ss, sign, dd, dm, ds)
        ],
        dtype="U18",
    )


def _unique_ids(ra, dec):
    """APOGEE_IDs for every star, nudging the Dec of the rare coincident ones by 0.1″ until unique."""
    dec = dec.copy()
    ids = apogee_id(ra, dec)
    while True:
        _, first = np.unique(ids, return_index=True)
        dup = np.setdiff1d(np.arange(ids.size), first)
        if dup.size == 0:
            return ids, dec
        dec[dup] += 0.1 / 3600.0
        ids[dup] = apogee_id(ra[dup], dec[dup])


# --- Assembly ------------------------------------------------------------------------------------
def _draw_batch(rng, selection, envelopes):
    """One batch of candidates through every step and acceptance; returns a dict of the kept stars."""
    thick, age = draw_birth(rng, _BATCH)
    # Giants among the stars formed: their age bias, and the RGB/RC split.
    w_rgb, w_rc = giant_weights(age, selection)
    giant = rng.random(age.size) < (w_rgb + w_rc) / envelopes["giant"]
    is_rc = (rng.random(age.size) < w_rc / (w_rgb + w_rc))[giant]
    thick, age = thick[giant], age[giant]
    if selection == "general":
        (x, y, z), kept = place_general(rng, thick, age)
        thick, age, is_rc, x, y, z = thick[kept], age[kept], is_rc[kept], x[kept], y[kept], z[kept]
    else:
        ra, dec, dist, kept = place_kepler(rng, thick, age, envelopes["column"])
        thick, age, is_rc = thick[kept], age[kept], is_rc[kept]
        x, y, z = to_galactocentric(ra[kept], dec[kept], dist[kept])
    feh, alpha = chemistry(rng, thick, age, np.hypot(x, y))
    s = {"THICK": thick, "RC": is_rc, "x": x, "y": y, "Z": z, "FE_H": feh, "ALPHA_M": alpha}
    s.update(stellar_parameters(rng, is_rc, age, feh, alpha, selection))
    vx, vy, vz = kinematics(rng, s["THICK"], s["AGE"], s["x"], s["y"], s["Z"])
    s["RA"], s["DEC"], s["DIST"], s["PMRA"], s["PMDEC"], s["VLOS"], s["GLON"], s["GLAT"] = to_icrs(
        s["x"], s["y"], s["Z"], vx, vy, vz
    )
    s["KEPMAG"] = _kepler_magnitude(s["LUMINOSITY"], s["TEFF"], s["DIST"], s["GLAT"])
    if selection == "kepler":
        seismic = (s["NUMAX"] > KEPLER_NUMAX_RANGE_UHZ[0]) & (s["NUMAX"] < KEPLER_NUMAX_RANGE_UHZ[1])
        bright = rng.random(s["AGE"].size) < 1.0 / (1.0 + np.exp((s["KEPMAG"] - KEPLER_MAG_LIMIT) / 0.3))
        s = {k: v[seismic & bright] for k, v in s.items()}
    return s


def _draw_selection(rng, n, selection):
    """``n`` stars of ``selection`` ('general' or 'kepler'); a dict of equal-length arrays."""
    envelopes = {"giant": giant_weight_envelope(selection, (THIN_AGE_RANGE_GYR[0], THICK_AGE_RANGE_GYR[1]))}
    if selection == "kepler":
        envelopes["column"] = kepler_column_envelope()
    batches, have = [], 0
    while have < n:
        batches.append(_draw_batch(rng, selection, envelopes))
        have += batches[-1]["AGE"].size
    return {k: np.concatenate([b[k] for b in batches])[:n] for k in batches[0]}


def draw_population(n_stars, n_kepler, seed):
    """The truth table of a mock APOGEE–Kepler survey.

    Parameters
    ----------
    n_stars : int
        Number of APOGEE giants (rows), ≥ 1.
    n_kepler : int
        How many of them lie in the Kepler field with 4 < ν_max < 250 μHz (the seismic subset),
        0 ≤ n_kepler ≤ n_stars. They carry a KIC id; every other star has KIC = −1.
    seed : int or numpy.random.SeedSequence
        The same seed gives the same table, bit for bit.

    Returns
    -------
    astropy.table.Table with one row per star (rows in random order) and the columns
    APOGEE_ID, KIC, EVOLSTATE ('RGB'/'RC'), POPULATION ('thin'/'thick'), MASS [M☉], RADIUS [R☉],
    LUMINOSITY [L☉], AGE [Gyr], TEFF [K], LOGG, FE_H, M_H, ALPHA_M, C_FE, N_FE, C_N [dex], NUMAX,
    DELTANU [μHz], RA, DEC, GLON, GLAT [deg], DIST [kpc], PMRA, PMDEC [mas/yr], VLOS [km/s],
    R, Z [kpc] and PHI [deg] (Galactocentric, galpy convention: Sun at φ = 0, φ increasing in the
    direction of rotation), KEPMAG [mag], SNR (APOGEE S/N per pixel the spectra are made at).
    """
    n_stars, n_kepler = int(n_stars), int(n_kepler)
    if n_stars < 1:
        raise ValueError(f"n_stars must be at least 1, got {n_stars}")
    if not 0 <= n_kepler <= n_stars:
        raise ValueError(f"n_kepler must be between 0 and n_stars ({n_stars}), got {n_kepler}")
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    general_ss, kepler_ss, final_ss = root.spawn(3)
    parts = []
    if n_stars - n_kepler:
        parts.append(_draw_selection(np.random.default_rng(general_ss), n_stars - n_kepler, "general"))
    if n_kepler:
        parts.append(_draw_selection(np.random.default_rng(kepler_ss), n_kepler, "kepler"))
    s = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    is_kepler = np.r_[np.zeros(n_stars - n_kepler, bool), np.ones(n_kepler, bool)]

    rng = np.random.default_rng(final_ss)
    s["C_FE"], s["N_FE"], s["C_N"] = carbon_nitrogen(rng, s["MASS"], s["FE_H"], s["ALPHA_M"], s["RC"])
    s["SNR"] = _apogee_snr(rng, s["KEPMAG"])
    ids, s["DEC"] = _unique_ids(s["RA"], s["DEC"])
    # KIC numbers grow with declination, as in the Kepler Input Catalog.
    kic = np.full(n_stars, -1, dtype=np.int64)
    numbers = np.sort(rng.choice(np.arange(1_000_000, 13_000_000), size=n_kepler, replace=False))
    kic[np.flatnonzero(is_kepler)[np.argsort(s["DEC"][is_kepler], kind="stable")]] = numbers
    order = rng.permutation(n_stars)

    R = np.hypot(s["x"], s["y"])
    phi = np.degrees(np.arctan2(s["y"], -s["x"]))
    columns = {
        "APOGEE_ID": ids,
        "KIC": kic,
        "EVOLSTATE": np.where(s["RC"], "RC", "RGB"),
        "POPULATION": np.where(s["THICK"], "thick", "thin"),
        **{k: s[k] for k in ("MASS", "RADIUS", "LUMINOSITY", "AGE", "TEFF", "LOGG", "FE_H", "M_H", "ALPHA_M",
                             "C_FE", "N_FE", "C_N", "NUMAX", "DELTANU", "RA", "DEC", "GLON", "GLAT", "DIST",
                             "PMRA", "PMDEC", "VLOS")},
        "R": R,
        "PHI": phi,
        "Z": s["Z"],
        "KEPMAG": s["KEPMAG"],
        "SNR": s["SNR"],
    }
    table = Table({k: v[order] for k, v in columns.items()})
    for name, unit, _ in TRUTH_COLUMNS:
        if unit is not None:
            table[name].unit = unit
    return table

