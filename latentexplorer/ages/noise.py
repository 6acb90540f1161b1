"""The input noise of the age forests' trees: input errors checked, stars' noise keys, each tree's draws.

Every tree of a probabilistic forest may see its inputs perturbed by their errors, ``X + X_err · noise``.
:func:`tree_noise` is that noise for one tree: drawn for the whole batch from the tree's seed, or — given
one 64-bit key per row (:func:`star_keys` of the APOGEE_IDs) — per row by :func:`keyed_standard_normal`, a
pure function of (row key, tree seed, feature), so a star's noise does not depend on the rows beside it.
:func:`as_errors` and :func:`as_noise_keys` check what callers pass. It must not import scikit-learn.
"""

from __future__ import annotations

import hashlib
import operator

import numpy as np
from scipy.special import ndtri

__all__ = ["as_errors", "as_noise_keys", "keyed_standard_normal", "star_keys", "tree_noise"]

# splitmix64 (Steele, Lea & Flood 2014): the Weyl increment γ and the two multipliers of its output function.
_SPLITMIX_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_SPLITMIX_M1 = np.uint64(0xBF58476D1CE4E5B9)
_SPLITMIX_M2 = np.uint64(0x94D049BB133111EB)
_UNIT_53 = 2.0**-53  # spacing of 53-bit uniforms


def _splitmix64_mix(z: np.ndarray) -> np.ndarray:
    """The splitmix64 output function, a bijection of 64-bit integers, applied in place to the uint64
    array ``z`` (returned). uint64 array arithmetic wraps modulo 2**64, as the hash needs, and warns
    about nothing (only numpy scalars check overflow)."""
    z ^= z >> np.uint64(30)
    z *= _SPLITMIX_M1
    z ^= z >> np.uint64(27)
    z *= _SPLITMIX_M2
    z ^= z >> np.uint64(31)
    return z


def _as_keys(keys, name: str) -> np.ndarray:
    """A 1-D integer array as a new uint64 array (negative values wrap modulo 2**64)."""
    keys = np.asarray(keys)
    if keys.ndim != 1 or keys.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a 1-D integer array, got dtype {keys.dtype} and shape {keys.shape}")
    return keys.astype(np.uint64)


def keyed_standard_normal(keys, stream, n_features) -> np.ndarray:
    """Standard normal deviates that are a pure function of (row key, stream, feature index).

    Counter-based and vectorised: row ``j``'s deviates are the first ``n_features`` outputs of a
    splitmix64 generator started at ``mix(keys[j] ^ mix(stream + γ))`` (``mix`` the splitmix64 output
    function, ``γ`` its increment), i.e. ``z[j, f] = mix(state_j + (f + 1) γ)``, turned into a uniform
    ``u = (⌊z / 2**11⌋ + 1/2) / 2**53`` strictly inside (0, 1) and then into a normal deviate by
    ``scipy.special.ndtri(u)`` (tails to about ±8.3σ). For a given stream distinct keys give distinct
    generator states. No row depends on another, so a row's deviates do not depend on the batch it is
    drawn in, on its position there or on thread scheduling.

    Parameters
    ----------
    keys : array_like of int, shape (n,)
        One 64-bit key per row (e.g. from :func:`star_keys`); converted to uint64.
    stream : int
        Stream in [0, 2**64), e.g. a tree's seed; different streams give independent deviates.
    n_features : int
        Deviates per row (non-negative).

    Returns
    -------
    ndarray of float32, shape (n, n_features)

    Notes
    -----
    The 64-bit integers and the uniforms are exact (fixed-width integer arithmetic), identical on every
    platform and numpy version. The inverse normal is computed in double precision by scipy's ``ndtri``,
    whose tails call the C library's ``log``; a libm that rounds ``log`` differently could change the
    last bit of a double, which survives the rounding to float32 only in a vanishing fraction of cases.

    Examples
    --------
    >>> keys = star_keys(["2M00000002+7417074", "2M00000019-1924498"], seed=0)
    >>> keyed_standard_normal(keys, stream=7, n_features=3).shape
    (2, 3)
    """
    keys = _as_keys(keys, "keys")
    stream = operator.index(stream)
    n_features = operator.index(n_features)
    if not 0 <= stream < 2**64:
        raise ValueError(f"stream must be in [0, 2**64), got {stream}")
    if n_features < 0:
        raise ValueError(f"n_features must be non-negative, got {n_features}")
    stream_word = _splitmix64_mix(np.array([stream], dtype=np.uint64) + _SPLITMIX_GAMMA)
    keys ^= stream_word
    state = _splitmix64_mix(keys)
    z = state[:, None] + _SPLITMIX_GAMMA * np.arange(1, n_features + 1, dtype=np.uint64)
    _splitmix64_mix(z)
    z >>= np.uint64(11)
    u = z.astype(np.float64)
    u += 0.5
    u *= _UNIT_53
    return ndtri(u, out=np.empty(u.shape, dtype=np.float32))


def star_keys(ids, seed) -> np.ndarray:
    """64-bit noise keys for star identifiers: the 8-byte BLAKE2b digest of ``f"{seed}:{id}"``.

    Identifiers are stripped of surrounding whitespace first (bytes are decoded as UTF-8), so padded
    FITS strings give the same key as the bare ones; integers are hashed as their decimal text.

    Parameters
    ----------
    ids : array_like of str, bytes or int, shape (n,)
        Star identifiers, e.g. APOGEE_IDs.
    seed : int
        Noise seed; a different seed gives unrelated keys for the same stars.

    Returns
    -------
    ndarray of uint64, shape (n,)
        Read little-endian from the digests, so the same on every platform.
    """
    seed = operator.index(seed)
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"ids must be 1-D, got shape {ids.shape}")
    if ids.dtype.kind == "S":
        ids = np.char.decode(ids, "utf-8")
    if ids.dtype.kind == "U":
        texts = np.char.strip(ids).tolist()
    else:
        texts = [(i.decode("utf-8") if isinstance(i, bytes) else str(i)).strip() for i in ids.tolist()]
    prefix = f"{seed}:"
    digests = b"".join(hashlib.blake2b((prefix + text).encode("utf-8"), digest_size=8).digest() for text in texts)
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)


def as_errors(errors, shape, name: str, *, allow_nonfinite: bool = False) -> np.ndarray | None:
    """Validate an uncertainty array: broadcastable to ``shape``, non-negative; returns float64."""
    if errors is None:
        return None
    errors = np.asarray(errors, dtype=float)
    try:
        errors = np.broadcast_to(errors, shape)
    except ValueError:
        raise ValueError(f"{name} has shape {errors.shape}, which does not match {shape}") from None
    finite = np.isfinite(errors)
    if not allow_nonfinite and not finite.all():
        raise ValueError(f"{name} contains NaN or inf")
    if (errors[finite] < 0).any():
        raise ValueError(f"{name} must be non-negative")
    return errors


def as_noise_keys(noise_keys, n: int) -> np.ndarray | None:
    """Validate ``noise_keys``: an integer array of shape (n,); returns it as uint64."""
    if noise_keys is None:
        return None
    noise_keys = np.asarray(noise_keys)
    if noise_keys.shape != (n,) or noise_keys.dtype.kind not in "iu":
        raise ValueError(
            f"noise_keys must be an integer array of shape ({n},), one key per row of X; "
            f"got dtype {noise_keys.dtype} and shape {noise_keys.shape}"
        )
    return noise_keys.astype(np.uint64, copy=False)


def tree_noise(seed: int, shape: tuple[int, int], noise_keys=None) -> np.ndarray:
    """Standard normal float32 noise, shape ``shape`` (n, n_features), of the tree seeded ``seed``: without
    ``noise_keys`` drawn for the whole batch (from ``[seed, 1]``, a stream apart from the one its fit drew
    from), with them (uint64, (n,)) row ``j``'s is :func:`keyed_standard_normal` of ``noise_keys[j]`` with
    ``seed`` as the stream."""
    if noise_keys is None:
        return np.random.default_rng([seed, 1]).standard_normal(shape, dtype=np.float32)
    return keyed_standard_normal(noise_keys, seed, shape[1])
