"""Mock APOGEE spectra of red giants, built around the real mean APOGEE spectrum.

The starting point is the pixel-wise mean of the 9,769 continuum-normalised DR17 spectra behind the
published model (``latentexplorer/data/apogee_apokasc_mean_spectrum.csv``): every absorption feature of a
mock spectrum sits at a real wavelength with a real depth. Each pixel's reference optical depth
``τ0 = −ln(mean)`` is shared between the *species* whose ASPCAP element windows
(:func:`astroNN.apogee.chips.aspcap_mask`, DR17) cover it — Fe; the α elements Mg, Si, S, Ca, Ti; OH
(the O windows); CO (C windows outside the N windows); CN (the N windows); atomic C; fifteen other
elements (Na, Al, K, V, Cr, Mn, Co, Ni, …) — and pixels outside every window are generic metal lines.
A star's optical depth is

    τ = τ0 [Σ_s w_s 10^(k Δ[X_s/H] + a_s Δθ + b_s Δlog g)]^(1 − S) + τ_Br (10^(b_H Δlog g + a_H Δθ) − 1),

with θ = 5040 K / Teff and Δ relative to :data:`REFERENCE_LABELS` (close to the median APOKASC giant),
k the curve-of-growth slope and S = τ0 / (τ0 + 0.3) the pixel's saturation (deep, blended pixels
respond less, as in real spectra). The a_s (larger for the molecules than for atoms) make every line
respond to Teff. CO follows [C/H], CN follows [C/H] + [N/H], OH and the α windows follow [α/H] — so
[α/M] is in the spectra even though nothing seismic depends on it. τ_Br are the hydrogen Brackett
lines n → 4 at their Rydberg (vacuum) wavelengths with Lorentzian profiles whose strength grows with
log g. The normalised spectrum is ``(mean / e^−τ0) · e^−τ``: at the reference labels it is the real
mean spectrum.

Things a star has that its labels do not say, drawn per star from the generator: its spectrum looks
70 K hotter or cooler than its true Teff (3D/NLTE effects, spots: the scatter between spectroscopic
and photometric temperatures), the other elements scatter around [Fe/H] (σ 0.05 dex),
microturbulence changes the strength of saturated lines, the line spread function / macroturbulence
broadens or sharpens lines, and the radial velocity leaves a sub-pixel residual shift. With these, noise at the star's S/N, a smooth un-normalised continuum (the
star's Planck slope times a per-chip instrument throughput) and the pseudo-continuum normalisation,
the mock carries about as much label information as real APOGEE spectra (trained on 2,000 APOKASC-like
giants, a ridge regression recovers held-out Teff to ~55 K, log g to ~0.09 dex, [Fe/H] to ~0.04 dex,
[C/N] to ~0.06 dex and [α/M] to ~0.02 dex); the amplitudes in
:class:`SpectrumResponse` were chosen so, and so that the pixel scatter over a giant population
follows the real ``std_flux`` column (the tests measure both).

apStar-like output (:func:`synthesize_apstar`) is on the 8575-pixel grid with zero flux and the
BADPIX bit outside the chips, and a few bad pixels per star marked in the APOGEE PIXMASK: cosmic
rays (CRPIX, a flux spike), dead pixels (BADPIX, zero flux and a huge error), sky-line residuals
(SIG_SKYLINE) — all masked by the default ingest — and persistence (PERSIST_HIGH, a small excess
the default ingest keeps, as in real data).
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
from astropy.table import Table
from scipy.ndimage import gaussian_filter1d

from ..cache import cache_dir
from ..constants import APOGEE_CHIP_RANGES, APOGEE_N_PIXELS, APOGEE_N_PIXELS_FULL
from ..io.atomic import atomic_output
from ..spectra import PIXMASK_BITS, brackett_wavelengths, chip_slices, wavelength

__all__ = [
    "REFERENCE_LABELS",
    "LABEL_COLUMNS",
    "SpectrumResponse",
    "reference_spectrum",
    "synthesize_normalized",
    "synthesize_apstar",
]

#: Labels at which a noiseless mock spectrum equals the real mean spectrum (≈ median APOKASC giant).
REFERENCE_LABELS = {"TEFF": 4750.0, "LOGG": 2.6, "FE_H": -0.1, "ALPHA_M": 0.05, "C_FE": 0.0, "N_FE": 0.25}
#: Columns :func:`synthesize_apstar` reads (SNR: per-pixel signal-to-noise ratio at the continuum).
LABEL_COLUMNS = ("TEFF", "LOGG", "FE_H", "ALPHA_M", "C_FE", "N_FE", "SNR")

_ALPHA_WINDOWS = ("Mg", "Si", "S", "Ca", "TI", "TiII")
_OTHER_ELEMENTS = ("Na", "Al", "P", "K", "V", "Cr", "Mn", "Co", "Ni", "Cu", "Ge", "Ce", "Rb", "Y", "Nd")
_CHUNK = 512  # stars synthesised at a time (bounds memory)
_BAD_ERROR = 1.0e10  # flux error given to dead pixels and the chip gaps, as in apStar files


@dataclasses.dataclass(frozen=True)
class SpectrumResponse:
    """How strongly mock spectra respond to labels and nuisances (log10 line-strength per unit).

    ``teff_*`` are per unit θ = 5040/Teff, ``logg_*`` per dex, ``*_sigma`` are per-star Gaussian
    scatters. Defaults are calibrated against the real mean/scatter and the information content of
    real APOGEE spectra (see the module docstring).
    """

    abundance_slope: float = 0.5  #: d log10(line strength) / d[X/H] (curve-of-growth slope, blends)
    saturation_tau: float = 0.3  #: deep pixels respond less: log-response × 1 / (1 + τ0 / saturation_tau)
    teff_jitter_k: float = 70.0  #: spectroscopic Teff scatter around the true Teff (3D/NLTE, spots)
    teff_atoms: float = 1.0  #: atomic lines (Fe, α, other metals)
    teff_molecules: float = 2.0  #: CO, CN, OH
    teff_carbon_atom: float = -1.0  #: high-excitation C I lines weaken in cooler stars
    logg_molecules: float = -0.15  #: molecules weaken slightly with gravity at fixed Teff
    brackett_depth: float = 0.06  #: central optical depth of each Brackett line at the reference labels
    brackett_hwhm_angstrom: float = 2.0  #: Lorentzian half width of the Brackett lines
    logg_brackett: float = 0.6
    teff_brackett: float = -2.0
    other_elements_sigma: float = 0.05  #: dex, other elements around [Fe/H]
    microturbulence_sigma: float = 0.04  #: dex, strength change of saturated lines
    broadening_sigma: float = 0.3  #: fractional change of the line width (LSF / macroturbulence)
    rv_residual_sigma_pixels: float = 0.05
    throughput_sigma: float = 0.03  #: per-chip continuum polynomial coefficients (un-normalised flux)
    bad_pixels_per_star: float = 12.0  #: mean number of randomly flagged pixels
    persistence_fraction: float = 0.1  #: stars with a persistence excess on the blue chip


_REFERENCE_FILE = Path(__file__).resolve().parent.parent / "data" / "apogee_apokasc_mean_spectrum.csv"


@functools.cache
def reference_spectrum() -> Table:
    """The real pixel-wise mean and scatter of continuum-normalised APOGEE DR17 spectra (7514 rows:
    pixel, apogee_index, wavelength_vac_angstrom, mean_flux, std_flux)."""
    table = Table.read(_REFERENCE_FILE, format="ascii.csv", comment="#")
    if len(table) != APOGEE_N_PIXELS:
        raise ValueError(f"reference spectrum has {len(table)} pixels, expected {APOGEE_N_PIXELS}")
    return table


@dataclasses.dataclass(frozen=True)
class _Templates:
    """Pixel-space ingredients, (7514,) or (n_species, 7514) float32."""

    residual: np.ndarray  # mean / exp(-τ0): continuum level of the reference (≥ 1 where mean > 1)
    tau0: np.ndarray  # −ln(mean), clipped to [0, 3]
    species_weights: np.ndarray  # w_s: share of each species in each pixel's τ0, (n_species, 7514)
    saturation: np.ndarray  # τ0 / (τ0 + saturation_tau): how saturated each pixel is
    brackett: np.ndarray  # τ_Br at the reference labels


#: Version of the species windows :func:`_species_masks` derives (part of its cache file's name).
_SPECIES_VERSION = 1


def _species_masks() -> tuple[list[str], np.ndarray]:
    """Species names and their DR17 ASPCAP windows, (n_species, 7514) float32 0/1; the label
    dependence of each species is in :func:`_log_strengths`.

    The windows come from astroNN once per astroNN version and are kept in the cache directory
    (:func:`latentexplorer.cache.cache_dir`), so a process that makes a few spectra again (a star inspector page:
    :func:`latentexplorer.mock.survey.spectra_from_truth`) does not import astroNN (~30 MB)."""
    from importlib.metadata import version

    cached = cache_dir() / f"aspcap_species_dr17_v{_SPECIES_VERSION}_astroNN-{version('astroNN')}.npz"
    try:
        with np.load(cached) as stored:
            names, masks = [str(n) for n in stored["names"]], stored["masks"]
        if masks.shape == (len(names), APOGEE_N_PIXELS) and masks.dtype == np.float32:
            return names, masks
    except (OSError, ValueError, KeyError):  # not cached yet, or a damaged file: made again below
        pass
    names, masks = _species_masks_from_astronn()
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(cached, suffix=".npz") as tmp:
            np.savez(tmp, names=np.array(names), masks=masks)
    except OSError:  # a read-only home: astroNN again next time
        pass
    return names, masks


def _species_masks_from_astronn() -> tuple[list[str], np.ndarray]:
    """:func:`_species_masks` from :func:`astroNN.apogee.chips.aspcap_mask`."""
    from ..spectra import import_astronn

    aspcap_mask = import_astronn("astroNN.apogee.chips").aspcap_mask

    def window(*elements):
        return np.any([aspcap_mask(e, dr=17) for e in elements], axis=0)

    c, n = window("C"), window("N")
    masks = {"Fe": window("Fe"), "alpha": window(*_ALPHA_WINDOWS), "OH": window("O"), "CO": c & ~n, "CN": n,
             "CI": window("CI")}
    masks.update({e: window(e) for e in _OTHER_ELEMENTS})
    masks["metals"] = ~np.any(list(masks.values()), axis=0)
    return list(masks), np.array(list(masks.values()), dtype=np.float32)


@functools.cache
def _templates(response: SpectrumResponse) -> tuple[list[str], _Templates]:
    ref = reference_spectrum()
    mean = np.asarray(ref["mean_flux"], dtype=np.float64)
    tau0 = -np.log(np.clip(mean, 0.05, 1.0))
    names, masks = _species_masks()
    weights = masks / masks.sum(axis=0)
    lam = wavelength()
    x = (lam[:, None] - brackett_wavelengths()[None, :]) / response.brackett_hwhm_angstrom
    brackett = response.brackett_depth * np.sum(1.0 / (1.0 + x**2), axis=1)
    templates = _Templates(
        residual=(mean / np.exp(-tau0)).astype(np.float32),
        tau0=tau0.astype(np.float32),
        species_weights=weights.astype(np.float32),
        saturation=(tau0 / (tau0 + response.saturation_tau)).astype(np.float32),
        brackett=brackett.astype(np.float32),
    )
    return names, templates


def _labels_array(labels, columns) -> dict[str, np.ndarray]:
    missing = [c for c in columns if c not in labels]
    if missing:
        raise ValueError(f"labels lack column(s) {missing}; need {list(columns)}")
    out = {c: np.atleast_1d(np.asarray(labels[c], dtype=np.float64)) for c in columns}
    sizes = {v.shape for v in out.values()}
    if len(sizes) != 1 or len(next(iter(sizes))) != 1:
        raise ValueError(f"label columns must be 1-D arrays of equal length, got shapes {sorted(sizes)}")
    for c, v in out.items():
        if not np.all(np.isfinite(v)):
            raise ValueError(f"label column {c} holds non-finite values")
    if np.any(out["TEFF"] <= 0):
        raise ValueError("TEFF must be positive (Kelvin)")
    if "SNR" in out and np.any(out["SNR"] <= 0):
        raise ValueError("SNR must be positive")
    return out


def _log_strengths(names, lab, rng, response) -> np.ndarray:
    """log10 line-strength factor per species and star, (n, n_species)."""
    ref, k = REFERENCE_LABELS, response.abundance_slope
    dtheta = 5040.0 / lab["TEFF"] - 5040.0 / ref["TEFF"]
    dlogg = lab["LOGG"] - ref["LOGG"]
    dfe = k * (lab["FE_H"] - ref["FE_H"])
    dalpha = dfe + k * (lab["ALPHA_M"] - ref["ALPHA_M"])
    dc = dfe + k * (lab["C_FE"] - ref["C_FE"])
    dn = dfe + k * (lab["N_FE"] - ref["N_FE"])
    atom = response.teff_atoms * dtheta
    mol = response.teff_molecules * dtheta + response.logg_molecules * dlogg
    known = {
        "Fe": dfe + atom,
        "alpha": dalpha + atom,
        "OH": dalpha + mol,
        "CO": dc + mol,
        "CN": dc + dn + mol,
        "CI": dc + response.teff_carbon_atom * dtheta,
        "metals": dfe + atom,
    }
    others = dfe + atom
    out = np.empty((dtheta.size, len(names)))
    for j, name in enumerate(names):
        if name in known:
            out[:, j] = known[name]
        else:  # another element: scatters around [Fe/H]
            out[:, j] = others + k * rng.normal(0.0, response.other_elements_sigma, dtheta.size)
    return out


def _normalized_chunk(lab, rng, response) -> np.ndarray:
    """Noiseless normalised spectra (n, 7514) float32 for one chunk of labels."""
    names, tpl = _templates(response)
    n = lab["TEFF"].size
    lab = dict(lab, TEFF=lab["TEFF"] + rng.normal(0.0, response.teff_jitter_k, n))
    strength = 10.0 ** _log_strengths(names, lab, rng, response).astype(np.float32)
    micro = rng.normal(0.0, response.microturbulence_sigma, (n, 1)).astype(np.float32)
    # τ = τ0 (Σ_s w_s g_s)^(1 − saturation) 10^(micro · saturation): strong lines respond less to
    # abundances and temperature, more to microturbulence
    tau = np.maximum(strength @ tpl.species_weights, 1e-3) ** (1.0 - tpl.saturation)
    tau *= tpl.tau0 * 10.0 ** (micro * tpl.saturation)
    dtheta = 5040.0 / lab["TEFF"] - 5040.0 / REFERENCE_LABELS["TEFF"]
    dlogg = lab["LOGG"] - REFERENCE_LABELS["LOGG"]
    br = 10.0 ** (response.logg_brackett * dlogg + response.teff_brackett * dtheta) - 1.0
    tau += br.astype(np.float32)[:, None] * tpl.brackett
    np.maximum(tau, 0.0, out=tau)
    flux = tpl.residual * np.exp(-tau)
    # line-width and radial-velocity nuisances, chip by chip (no smoothing across the gaps)
    width = rng.normal(0.0, response.broadening_sigma, (n, 1)).astype(np.float32)
    shift = rng.normal(0.0, response.rv_residual_sigma_pixels, (n, 1)).astype(np.float32)
    for sl in chip_slices():
        chip = flux[:, sl]
        smooth = gaussian_filter1d(chip, 1.2, axis=1, mode="nearest")
        slope = np.gradient(chip, axis=1)
        flux[:, sl] = chip + width * (smooth - chip) - shift * slope
    return flux


def _rng(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def synthesize_normalized(labels, rng, *, snr=True, response: SpectrumResponse | None = None) -> np.ndarray:
    """Continuum-normalised, gap-removed mock spectra.

    Parameters
    ----------
    labels : mapping (astropy Table, dict) of equal-length arrays
        TEFF [K], LOGG [dex], FE_H, ALPHA_M, C_FE, N_FE [dex]; SNR too when ``snr`` is True.
    rng : numpy Generator or seed
    snr : bool
        Add Gaussian noise of σ = sqrt(flux) / SNR per pixel (False: noiseless).
    response : SpectrumResponse, optional
        Response amplitudes (default: the calibrated :class:`SpectrumResponse`).

    Returns
    -------
    ndarray (n, 7514) float32
    """
    response = response or SpectrumResponse()
    rng = _rng(rng)
    lab = _labels_array(labels, LABEL_COLUMNS if snr else LABEL_COLUMNS[:-1])
    n = lab["TEFF"].size
    out = np.empty((n, APOGEE_N_PIXELS), np.float32)
    for start in range(0, n, _CHUNK):
        sl = slice(start, start + _CHUNK)
        chunk = {k: v[sl] for k, v in lab.items()}
        flux = _normalized_chunk(chunk, rng, response)
        if snr:
            sigma = np.sqrt(np.maximum(flux, 0.01)) / chunk["SNR"][:, None].astype(np.float32)
            flux += sigma * rng.standard_normal(flux.shape, dtype=np.float32)
        out[sl] = flux
    return out


def _continuum(lab, rng, response) -> np.ndarray:
    """Smooth un-normalised continuum on the chips, (n, 7514) float32, 1e-17 erg/s/cm²/Å.

    The star's Planck slope over the band times a per-chip throughput polynomial; its level scales
    as SNR² (photon-limited).
    """
    n = lab["TEFF"].size
    lam = (wavelength() / wavelength()[APOGEE_N_PIXELS // 2]).astype(np.float32)
    x0 = (1.4387769e8 / wavelength()[APOGEE_N_PIXELS // 2] / lab["TEFF"]).astype(np.float32)  # hc/(λ0 k T)
    planck = lam**-5 * (np.expm1(x0)[:, None] / np.expm1(x0[:, None] / lam))  # B_λ(T) / B_λ0(T)
    level = (lab["SNR"] ** 2 / 20.0 * 10.0 ** rng.normal(0.0, 0.1, n)).astype(np.float32)
    out = np.empty((n, APOGEE_N_PIXELS), np.float32)
    for chip_level, sl in zip((0.85, 1.0, 0.9), chip_slices()):
        t = np.linspace(-1.0, 1.0, sl.stop - sl.start)
        t = t.astype(np.float32)
        coef = rng.normal(0.0, response.throughput_sigma, (n, 3)).astype(np.float32)
        throughput = chip_level * (1.0 + coef[:, :1] * t + coef[:, 1:2] * t**2 + coef[:, 2:] * t**3 / 3.0)
        out[:, sl] = level[:, None] * planck[:, sl] * throughput
    return out


def _add_bad_pixels(flux, err, mask, continuum, rng, response) -> None:
    """Flag and corrupt a few random pixels per star, in place (gap-removed arrays); dead pixels last,
    so they read zero whatever else hit them."""
    n, npix = flux.shape
    counts = rng.poisson(response.bad_pixels_per_star, n)
    rows = np.repeat(np.arange(n), counts)
    cols = rng.integers(0, npix, rows.size)
    kind = rng.choice(3, rows.size, p=[0.5, 0.25, 0.25])
    cr, dead, sky = kind == 0, kind == 1, kind == 2
    flux[rows[cr], cols[cr]] += continuum[rows[cr], cols[cr]] * rng.uniform(0.3, 3.0, cr.sum()).astype(np.float32)
    mask[rows[cr], cols[cr]] |= 1 << PIXMASK_BITS["CRPIX"]
    flux[rows[sky], cols[sky]] += continuum[rows[sky], cols[sky]] * rng.normal(0.0, 0.2, sky.sum()).astype(np.float32)
    err[rows[sky], cols[sky]] *= 3.0
    mask[rows[sky], cols[sky]] |= 1 << PIXMASK_BITS["SIG_SKYLINE"]
    persist = np.flatnonzero(rng.random(n) < response.persistence_fraction)
    blue = chip_slices()[0]
    lo = rng.integers(blue.start, blue.stop - 600, persist.size)
    for star, start in zip(persist, lo):
        region = slice(start, start + 500)
        flux[star, region] += 0.01 * continuum[star, region]
        mask[star, region] |= 1 << PIXMASK_BITS["PERSIST_HIGH"]
    flux[rows[dead], cols[dead]] = 0.0
    err[rows[dead], cols[dead]] = _BAD_ERROR
    mask[rows[dead], cols[dead]] |= 1 << PIXMASK_BITS["BADPIX"]


def synthesize_apstar(labels, rng, *, response: SpectrumResponse | None = None):
    """apStar-like mock spectra on the 8575-pixel APOGEE grid.

    Parameters
    ----------
    labels : mapping (astropy Table, dict) of equal-length arrays
        TEFF [K], LOGG, FE_H, ALPHA_M, C_FE, N_FE [dex], SNR (per-pixel S/N at the continuum, 50–300
        for APOGEE giants).
    rng : numpy Generator or seed
        Same generator state → same spectra.
    response : SpectrumResponse, optional

    Returns
    -------
    flux : ndarray (n, 8575) float32
        1e-17 erg/s/cm²/Å; 0 outside the chips.
    flux_err : ndarray (n, 8575) float32
        1σ; 1e10 outside the chips and at dead pixels.
    bitmask : ndarray (n, 8575) int32
        APOGEE PIXMASK (:data:`latentexplorer.spectra.PIXMASK_BITS`); BADPIX outside the chips.
    """
    response = response or SpectrumResponse()
    rng = _rng(rng)
    lab = _labels_array(labels, LABEL_COLUMNS)
    n = lab["TEFF"].size
    flux = np.zeros((n, APOGEE_N_PIXELS_FULL), np.float32)
    err = np.full((n, APOGEE_N_PIXELS_FULL), _BAD_ERROR, np.float32)
    mask = np.full((n, APOGEE_N_PIXELS_FULL), 1 << PIXMASK_BITS["BADPIX"], np.int32)
    for start in range(0, n, _CHUNK):
        rows = slice(start, start + _CHUNK)
        chunk = {k: v[rows] for k, v in lab.items()}
        norm = _normalized_chunk(chunk, rng, response)
        cont = _continuum(chunk, rng, response)
        sigma = cont * np.sqrt(np.maximum(norm, 0.01)) / chunk["SNR"][:, None].astype(np.float32)
        f = cont * norm + sigma * rng.standard_normal(norm.shape, dtype=np.float32)
        m = np.zeros(norm.shape, np.int32)
        _add_bad_pixels(f, sigma, m, cont, rng, response)
        for (a, b), sl in zip(APOGEE_CHIP_RANGES, chip_slices()):
            flux[rows, a:b] = f[:, sl]
            err[rows, a:b] = sigma[:, sl]
            mask[rows, a:b] = m[:, sl]
    return flux, err, mask

