"""APOGEE spectra: the wavelength grid, chip gaps, Brackett lines, bitmasks and pseudo-continuum
normalisation, from raw apStar-like flux to the (N, 7514) float32 arrays the encoder-decoder reads.

The procedure is the one of Leung & Bovy (2019a) that the paper uses (section 2), built on
:mod:`astroNN.apogee.chips`:

1. **Gap removal** — keep the pixels on the three detector chips, ``[246, 3274)``, ``[3585, 6080)`` and
   ``[6344, 8335)`` of the 8575-pixel apStar grid (``log10 λ/Å = 4.179 + 6e-6 i``, vacuum), 7514 in all.
2. **Pseudo-continuum** — on each chip a degree-2 Chebyshev polynomial in pixel index is fitted by
   weighted least squares to the *continuum pixels*, and the flux (and its error) is divided by it.
   The continuum pixels are, by default, astroNN's DR17 continuum mask (:func:`default_continuum_mask`,
   532 pixels; the pixel set astroNN derives, following The Cannon's approach, from pixels whose
   normalised flux stays close to one with little dependence on the stellar labels). Pass your own
   boolean mask of 7514 (or 8575) pixels as ``continuum_mask`` to use another set. The weights follow
   astroNN (``w = 1 / (σ² + 1e-8)`` multiplying the residuals); pixels that are bad (below) get zero
   weight, so one cosmic ray or NaN cannot spoil a chip. :func:`fit_continuum` is a vectorised
   equivalent of :func:`astroNN.apogee.chips.apogee_continuum` (same mask, degree, weights and
   Chebyshev domain; the tests check they agree) that is a few times faster on large batches.
3. **Bad pixels** — pixels with any of the PIXMASK bits :data:`DEFAULT_BAD_PIXEL_BITS` set (astroNN's
   default: BADPIX, CRPIX, SATPIX, UNFIXABLE, BADDARK, BADFLAT, BADERR, NOSKY and SIG_SKYLINE), with a
   non-finite flux or error, or with a non-positive error, are set to 1 after normalisation; negative
   normalised fluxes become 0 and values above 2 become 1.
4. **Unusable spectra** — a spectrum without a physical signal comes back as a row of NaN (never
   encoded; flagged ``NO_DATA``, :class:`SpectrumFlag`): empty (every pixel
   bad), a median flux that is not positive (all zero, negative), the same value on every good pixel
   (constant), too few usable continuum pixels on the blue chip to fit the polynomial, or fewer than
   :data:`MIN_USABLE_FRACTION` of its pixels good and, once normalised, within [0, 2].

Spectra that are already continuum-normalised (e.g. aspcapStar files, or arrays from another
pipeline) are recognised by their median near one and only get steps 3 and 4 (override with
``normalized=True/False``). Pixel-level standardisation (subtracting the training-set mean and
dividing by its standard deviation) belongs to the model (:mod:`latentexplorer.ved`), not here.
"""

from __future__ import annotations

import enum
import functools
import logging
import os
import warnings

import numpy as np
from astropy import constants as const
from numpy.polynomial import chebyshev, polyutils

from .constants import (
    APOGEE_CHIP_RANGES,
    APOGEE_DLOG10_LAMBDA,
    APOGEE_LOG10_LAMBDA0,
    APOGEE_N_PIXELS,
    APOGEE_N_PIXELS_FULL,
)

__all__ = [
    "PIXMASK_BITS",
    "DEFAULT_BAD_PIXEL_BITS",
    "SpectrumFlag",
    "wavelength",
    "import_astronn",
    "chip_pixel_index",
    "chip_slices",
    "chip_gaps",
    "brackett_wavelengths",
    "gap_delete",
    "default_continuum_mask",
    "bad_pixel_mask",
    "fit_continuum",
    "normalize_spectra",
]

logger = logging.getLogger(__name__)

#: APOGEE PIXMASK bit numbers (Holtzman et al. 2015; the DR17 ``APOGEE_PIXMASK`` bitmask).
PIXMASK_BITS = {
    "BADPIX": 0,
    "CRPIX": 1,
    "SATPIX": 2,
    "UNFIXABLE": 3,
    "BADDARK": 4,
    "BADFLAT": 5,
    "BADERR": 6,
    "NOSKY": 7,
    "LITTROW_GHOST": 8,
    "PERSIST_HIGH": 9,
    "PERSIST_MED": 10,
    "PERSIST_LOW": 11,
    "SIG_SKYLINE": 12,
    "SIG_TELLURIC": 13,
    "NOT_ENOUGH_PSF": 14,
}

#: Bits whose pixels are treated as bad: astroNN's default (``apogee_continuum(target_bit=None)``).
DEFAULT_BAD_PIXEL_BITS = (0, 1, 2, 3, 4, 5, 6, 7, 12)

#: Fraction of replaced pixels above which a spectrum is flagged ``MANY_BAD_PIXELS``.
MANY_BAD_PIXELS_FRACTION = 0.2
#: Least fraction of a spectrum's pixels that must be good and, once normalised, within [0, 2] for it to be
#: used; a spectrum with fewer is unusable (``NO_DATA``, a NaN row).
MIN_USABLE_FRACTION = 0.5

_CONTINUUM_DEGREE = 2


class SpectrumFlag(enum.IntFlag):
    """Per-spectrum quality flags of the spectra ingest (:func:`normalize_spectra`,
    :mod:`latentexplorer.io.spectra_files`; combinable bits)."""

    OK = 0
    UNREADABLE = 1  #: the file or row could not be read; the spectrum is NaN
    NO_DATA = 2  #: unusable (all NaN, zero, negative, constant, mostly outside [0, 2]): the spectrum is NaN
    MANY_BAD_PIXELS = 4  #: more than MANY_BAD_PIXELS_FRACTION of the pixels were set to 1


# ----------------------------------------------------------------------------- grid helpers


def chip_pixel_index() -> np.ndarray:
    """Indices on the 8575-pixel apStar grid of the 7514 pixels kept after gap removal, shape (7514,)."""
    return np.concatenate([np.arange(a, b) for a, b in APOGEE_CHIP_RANGES])


def wavelength(full: bool = False) -> np.ndarray:
    """Vacuum wavelength in Å of each pixel: shape (7514,) after gap removal, or (8575,) if ``full``."""
    index = np.arange(APOGEE_N_PIXELS_FULL) if full else chip_pixel_index()
    return 10.0 ** (APOGEE_LOG10_LAMBDA0 + APOGEE_DLOG10_LAMBDA * index)


def chip_slices() -> tuple[slice, slice, slice]:
    """Slices of the blue, green and red chips in a gap-removed (7514-pixel) spectrum."""
    edges = np.cumsum([0] + [b - a for a, b in APOGEE_CHIP_RANGES])
    return tuple(slice(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:]))


def chip_gaps() -> np.ndarray:
    """Vacuum wavelength intervals (Å) of the two gaps between chips, shape (2, 2): rows
    ``[last wavelength of a chip, first wavelength of the next]`` (blue–green, green–red)."""
    full = wavelength(full=True)
    (_, b1), (a2, b2), (a3, _) = APOGEE_CHIP_RANGES
    return np.array([[full[b1 - 1], full[a2]], [full[b2 - 1], full[a3]]])


def brackett_wavelengths(n_upper=None) -> np.ndarray:
    """Vacuum wavelengths (Å) of hydrogen Brackett lines ``n_upper → 4`` from the Rydberg formula,
    ``1/λ = R_H (1/4² − 1/n²)`` with the hydrogen reduced-mass Rydberg constant.

    Parameters
    ----------
    n_upper : int or array of int, optional
        Upper levels (≥ 5). By default every line that falls on one of the three APOGEE chips
        (n = 11–20: Br11 at 16811 Å … Br20 at 15196 Å), in order of n.

    Returns
    -------
    ndarray
        Wavelengths in Å, same shape as ``n_upper`` (1-D for the default).
    """
    if n_upper is None:
        n = np.arange(5, 60)
        lam = brackett_wavelengths(n)
        full = wavelength(full=True)
        on_chip = np.zeros(lam.shape, bool)
        for a, b in APOGEE_CHIP_RANGES:
            on_chip |= (lam >= full[a]) & (lam <= full[b - 1])
        return lam[on_chip]
    n = np.asarray(n_upper)
    if np.any(n < 5):
        raise ValueError("Brackett lines need upper levels n_upper >= 5")
    rydberg_h = const.Ryd.to_value("1/Angstrom") / (1.0 + (const.m_e / const.m_p).decompose().value)
    return 1.0 / (rydberg_h * (1.0 / 16.0 - 1.0 / n.astype(float) ** 2))


# ----------------------------------------------------------------------------- masks


def gap_delete(spectra) -> np.ndarray:
    """Remove the chip gaps: (N, 8575) or (8575,) → (N, 7514); gap-removed input is returned as (N, 7514).

    Raises ValueError for any other pixel count.
    """
    spectra = np.atleast_2d(np.asarray(spectra))
    if spectra.ndim != 2 or spectra.shape[1] not in (APOGEE_N_PIXELS_FULL, APOGEE_N_PIXELS):
        raise ValueError(
            f"APOGEE spectra need {APOGEE_N_PIXELS_FULL} (apStar grid) or {APOGEE_N_PIXELS} "
            f"(gap-removed) pixels per spectrum, got shape {np.shape(spectra)}"
        )
    if spectra.shape[1] == APOGEE_N_PIXELS_FULL:
        spectra = spectra[:, chip_pixel_index()]
    return spectra


def import_astronn(name: str):
    """Import and return the astroNN module ``name`` (e.g. ``"astroNN.apogee"``) without astroNN's import-time
    notice about ``pkg_resources`` (it concerns astroNN, not the user's run, and every worker process would
    print it)."""
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        return importlib.import_module(name)


@functools.cache
def _astronn_continuum_mask() -> np.ndarray:
    data = import_astronn("astroNN.data")
    mask = np.load(os.path.join(data.datapath(), "dr17_contmask.npy"))
    mask.setflags(write=False)
    return mask


def default_continuum_mask() -> np.ndarray:
    """astroNN's DR17 continuum-pixel mask, boolean (7514,), 532 pixels True (a copy)."""
    return _astronn_continuum_mask().copy()


def bad_pixel_mask(bitmask, bits=DEFAULT_BAD_PIXEL_BITS) -> np.ndarray:
    """True where any of ``bits`` (PIXMASK bit numbers) is set in the integer ``bitmask``."""
    bits = np.asarray(bits, dtype=np.int64)
    if np.any((bits < 0) | (bits > 30)):
        raise ValueError(f"PIXMASK bit numbers must lie in 0..30, got {bits.tolist()}")
    target = int(np.sum(np.left_shift(1, bits)))
    return (np.asarray(bitmask).astype(np.int64) & target) != 0


# ----------------------------------------------------------------------------- continuum


@functools.cache
def _chip_design(mask_bytes: bytes, deg: int):
    """Per chip: (slice, continuum-pixel indices within the chip, Chebyshev design matrix over the chip).

    The Chebyshev domain is that of ``Chebyshev.fit`` on the chip's continuum pixels (their first and
    last pixel map to −1 and 1), as in astroNN.
    """
    mask = np.frombuffer(mask_bytes, dtype=bool)
    design = []
    for sl in chip_slices():
        x = np.arange(sl.stop - sl.start, dtype=float)
        cont = np.flatnonzero(mask[sl])
        if cont.size <= deg:
            raise ValueError(
                f"the continuum mask has {cont.size} pixels on chip pixels {sl.start}-{sl.stop}; "
                f"a degree-{deg} fit needs at least {deg + 1}"
            )
        off, scl = polyutils.mapparms([cont[0], cont[-1]], [-1.0, 1.0])
        vander = chebyshev.chebvander(off + scl * x, deg)
        design.append((sl, cont, vander))
    return tuple(design)


def _check_mask(continuum_mask) -> np.ndarray:
    if continuum_mask is None:
        return _astronn_continuum_mask()
    mask = np.asarray(continuum_mask)
    if mask.dtype != bool:
        raise ValueError(f"continuum_mask must be boolean, got dtype {mask.dtype}")
    return gap_delete(mask)[0]


def fit_continuum(flux, weight=None, continuum_mask=None, deg: int = _CONTINUUM_DEGREE) -> np.ndarray:
    """Pseudo-continuum of gap-removed spectra: per chip, a weighted least-squares Chebyshev polynomial
    in pixel index fitted to the continuum pixels and evaluated on every pixel of the chip.

    Parameters
    ----------
    flux : array (N, 7514)
        Gap-removed flux; non-finite values must carry zero weight.
    weight : array (N, 7514), optional
        Residual weights (astroNN: ``1 / (σ² + 1e-8)``; numpy ``Chebyshev.fit``'s ``w``); 0 ignores a
        pixel. Default: 1 everywhere.
    continuum_mask : bool array (7514,) or (8575,), optional
        Continuum pixels; default :func:`default_continuum_mask`.
    deg : int
        Polynomial degree per chip (astroNN and the paper: 2).

    Returns
    -------
    ndarray (N, 7514) float64
        The continuum; rows whose chips have fewer than ``deg + 1`` weighted continuum pixels are NaN.
    """
    flux = gap_delete(flux)
    weight = np.ones(flux.shape, np.float32) if weight is None else gap_delete(weight)
    if weight.shape != flux.shape:
        raise ValueError(f"weight shape {weight.shape} differs from flux shape {flux.shape}")
    mask = _check_mask(continuum_mask)
    out = np.empty(flux.shape, np.float64)
    for sl, cont, vander in _chip_design(mask.tobytes(), int(deg)):
        cols = sl.start + cont
        w2 = np.square(weight[:, cols].astype(np.float64))
        y = np.where(w2 > 0, flux[:, cols].astype(np.float64), 0.0)
        vc = vander[cont]
        gram = np.einsum("np,pi,pj->nij", w2, vc, vc, optimize=True)
        rhs = (w2 * y) @ vc
        usable = np.count_nonzero(w2, axis=1) > deg
        gram[~usable] = np.eye(deg + 1)
        coef = np.linalg.solve(gram, rhs[..., None])[..., 0]
        coef[~usable] = np.nan
        out[:, sl] = coef @ vander.T
    return out


def _continuum_median(flux, good) -> np.ndarray:
    """(N,) median of each spectrum's good (``good`` (N, 7514) bool) continuum pixels; NaN where none is good."""
    cont = _astronn_continuum_mask()
    with warnings.catch_warnings():  # all-bad rows: NaN median, handled as no data
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(np.where(good[:, cont], flux[:, cont], np.nan), axis=1)


def _without_signal(flux, good, median) -> np.ndarray:
    """(N,) bool: spectra ``flux`` (N, 7514) with no physical signal on their ``good`` pixels, whose continuum
    ``median`` (:func:`_continuum_median`) is given: no good continuum pixel, a median that is not positive
    (all zero, negative), or one value on every good pixel (constant)."""
    constant = np.max(flux, axis=1, where=good, initial=-np.inf) == np.min(flux, axis=1, where=good, initial=np.inf)
    return ~(median > 0) | constant


def _normalize(flux, flux_err, bitmask, continuum_mask, normalized, bad_pixel_bits):
    """Normalise and clean; returns (spectra float32 (N, 7514) with NaN rows where unusable (module docstring,
    step 4), fraction of replaced pixels (N,))."""
    flux = gap_delete(flux).astype(np.float32)
    bad = ~np.isfinite(flux)
    if bitmask is not None:
        bitmask = gap_delete(bitmask)
        if bitmask.shape != flux.shape:
            raise ValueError(f"bitmask shape {bitmask.shape} differs from flux shape {flux.shape}")
        bad |= bad_pixel_mask(bitmask, bad_pixel_bits)
    if flux_err is not None:
        flux_err = gap_delete(flux_err)
        if flux_err.shape != flux.shape:
            raise ValueError(f"flux_err shape {flux_err.shape} differs from flux shape {flux.shape}")
        bad |= ~(flux_err > 0) | ~np.isfinite(flux_err)
    median = _continuum_median(flux, ~bad)
    no_data = _without_signal(flux, ~bad, median)
    if normalized is None:  # a continuum median within 0.5–1.5: already normalised
        raw = ~((median > 0.5) & (median < 1.5))
    else:
        raw = np.full(flux.shape[0], not normalized)
    if raw.any():
        rows = slice(None) if raw.all() else raw
        if flux_err is None:
            weight = (~bad[rows]).astype(np.float32)
        else:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                weight = np.where(bad[rows], 0.0, 1.0 / (np.square(flux_err[rows], dtype=np.float32) + 1e-8))
        cont = fit_continuum(np.where(bad[rows], 0.0, flux[rows]), weight, continuum_mask)
        with np.errstate(divide="ignore", invalid="ignore"):
            flux[rows] /= cont
        no_data[rows] |= np.isnan(cont[:, 0])
    negative = flux < 0.0
    replace = bad | ~np.isfinite(flux) | (flux > 2.0)
    no_data |= (replace | negative).mean(axis=1) > 1.0 - MIN_USABLE_FRACTION
    flux[negative] = 0.0
    flux[replace] = 1.0
    flux[no_data] = np.nan
    return flux, replace.mean(axis=1)


def normalize_spectra(
    flux,
    flux_err=None,
    bitmask=None,
    continuum_mask=None,
    *,
    normalized: bool | None = None,
    bad_pixel_bits=DEFAULT_BAD_PIXEL_BITS,
    return_flags: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Gap-removed, pseudo-continuum-normalised, cleaned spectra (see the module docstring).

    Parameters
    ----------
    flux : array (N, 8575), (N, 7514) or one spectrum
        apStar-like flux (any units), or already normalised spectra.
    flux_err : array like ``flux``, optional
        1σ uncertainties; they weight the continuum fit (uniform weights without them).
    bitmask : integer array like ``flux``, optional
        APOGEE PIXMASK; pixels with any of ``bad_pixel_bits`` set are bad.
    continuum_mask : bool array (7514,) or (8575,), optional
        Continuum pixels; default astroNN's DR17 mask (:func:`default_continuum_mask`).
    normalized : bool, optional
        Whether ``flux`` is already continuum-normalised; by default decided per spectrum (median of
        the good pixels within 0.5–1.5 means normalised: only cleaned, not divided again).
    bad_pixel_bits : sequence of int
        PIXMASK bits marking bad pixels; default :data:`DEFAULT_BAD_PIXEL_BITS`.
    return_flags : bool
        Also return each spectrum's :class:`SpectrumFlag` bits (``NO_DATA``, ``MANY_BAD_PIXELS``).

    Returns
    -------
    ndarray (N, 7514) float32
        Normalised spectra with bad pixels set to 1; NaN rows where a spectrum is unusable (empty, zero,
        negative or constant flux, too few good pixels; see the module docstring).
    ndarray (N,) int32, with ``return_flags``
        Their :class:`SpectrumFlag` bits.
    """
    spectra, replaced = _normalize(flux, flux_err, bitmask, continuum_mask, normalized, bad_pixel_bits)
    return (spectra, _flags_from(spectra, replaced)) if return_flags else spectra


def _flags_from(spectra, replaced_fraction) -> np.ndarray:
    no_data = np.isnan(spectra[:, 0])
    many_bad = ~no_data & (replaced_fraction > MANY_BAD_PIXELS_FRACTION)
    flags = np.where(no_data, int(SpectrumFlag.NO_DATA), 0) | np.where(many_bad, int(SpectrumFlag.MANY_BAD_PIXELS), 0)
    return flags.astype(np.int32)
