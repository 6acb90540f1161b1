"""How well an encoder-decoder reproduces held-out power spectra: the paper's objective and where the decoded
p-mode envelope lies relative to the true ν_max (paper sections 5 and 6.1), on plain arrays.

:func:`paper_objective` / :func:`objective` are the yardstick of the candidate search
(:mod:`latentexplorer.ved.search`); :func:`envelope_placement` is the envelope figure the search records beside
it and that the audits (:func:`latentexplorer.audits.envelopes.envelope_audit`) report.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["paper_objective", "objective", "EnvelopePlacement", "envelope_placement"]


def paper_objective(ved, spectra, log_psd, numax) -> dict:
    """The paper's objective on held-out pairs, decoding the latent means: ``loss`` = ``mse`` + ``kl``.

    ``mse`` is Eq. 1 (pixel weights of height 1, summed over pixels) and ``kl`` Eq. 2, each averaged over the
    (n,) stars of ``spectra`` (n, 7514), ``log_psd`` (n, k) and ``numax`` (n,) μHz; ``ved`` is either runtime
    (:class:`latentexplorer.ved.runtime.EncoderDecoderRuntime`).
    """
    z_mean, z_std = (np.asarray(a, float) for a in ved.encode(spectra))
    return objective(np.asarray(ved.decode(z_mean), float), z_mean, z_std, log_psd, numax, ved.frequency)


def objective(decoded, z_mean, z_std, log_psd, numax, frequency) -> dict:
    """:func:`paper_objective` from the stars' ``decoded`` latent means (n, k) natural-log PSDs on ``frequency``
    (k,) μHz, their latent means and widths (n, latent_dim), their observed ``log_psd`` (n, k) and ``numax``
    (n,) μHz."""
    from ..psd import envelope_weights

    weights = envelope_weights(numax, frequency)
    mse = float(np.mean(np.sum(weights * (decoded - log_psd) ** 2, axis=1)))
    var = z_std ** 2
    kl = float(np.mean(0.5 * np.sum(var + z_mean ** 2 - np.log(var) - 1.0, axis=1)))
    return {"loss": mse + kl, "mse": mse, "kl": kl}


class EnvelopePlacement(NamedTuple):
    """Where the p-mode envelopes of (n,) log PSDs lie relative to the true ν_max.

    ``within_10pc`` is the fraction of stars whose envelope (ν_max estimated by
    :func:`latentexplorer.seismo.estimate_global_parameters`) is within 10 % of the true ν_max, counting stars
    with no detectable envelope (``n_no_envelope`` of the ``n``) as misses; ``median_abs`` the median
    |ν̂/ν − 1| of the others and ``bias`` the median ν̂/ν − 1 (NaN when no star has an envelope); ``numax``
    (n,) μHz the true values and ``estimate`` (n,) μHz the estimates (NaN where none).
    """

    n: int
    n_no_envelope: int
    within_10pc: float
    median_abs: float
    bias: float
    numax: np.ndarray
    estimate: np.ndarray


def envelope_placement(log_psd, frequency, numax) -> EnvelopePlacement:
    """The envelope placement of decoded (or observed) natural-log PSDs ``log_psd`` (n, k) on ``frequency``
    (k,) μHz against the true ``numax`` (n,) μHz. ValueError when the counts of spectra and ν_max differ."""
    from ..seismo import estimate_global_parameters

    log_psd = np.atleast_2d(np.asarray(log_psd, float))
    numax = np.asarray(numax, float)
    if log_psd.shape[0] != numax.size:
        raise ValueError(f"{log_psd.shape[0]} spectra but {numax.size} ν_max values")
    estimate = np.array([estimate_global_parameters(frequency, row).numax for row in log_psd])
    rel = estimate / numax - 1
    found = np.isfinite(rel)
    return EnvelopePlacement(
        n=int(numax.size), n_no_envelope=int((~found).sum()),
        within_10pc=float(np.mean(np.abs(np.where(found, rel, np.inf)) <= 0.10)),
        median_abs=float(np.median(np.abs(rel[found]))) if found.any() else float("nan"),
        bias=float(np.median(rel[found])) if found.any() else float("nan"),
        numax=numax, estimate=estimate,
    )
