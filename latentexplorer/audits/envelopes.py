"""Where the p-mode envelope of decoded (or observed) PSDs lies against the true ν_max (paper section 6.1,
:func:`envelope_audit`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..seismo import estimate_global_parameters
from .results import AuditResult, per_star_field

__all__ = ["EnvelopeAudit", "envelope_audit"]


@dataclass
class EnvelopeAudit(AuditResult):
    """Where the p-mode envelope of reconstructed PSDs lies relative to the true ν_max (paper section 6.1).

    ``within_10pc`` is the fraction of stars whose reconstructed envelope (ν_max estimated by
    :func:`latentexplorer.seismo.estimate_global_parameters`) is within 10 % of the true ν_max, counting
    stars with no detectable envelope as misses; ``median_abs`` the median |ν̂/ν − 1| of the others.
    """

    n: int
    n_no_envelope: int
    within_10pc: float
    median_abs: float
    bias: float
    numax: np.ndarray = per_star_field("numax")
    estimate: np.ndarray = per_star_field("estimate")


def envelope_audit(log_psd, frequency, numax) -> EnvelopeAudit:
    """Audit reconstructed (or observed) log PSDs, (n, k) on ``frequency`` (k,) μHz, against true ν_max (n,)."""
    log_psd = np.atleast_2d(np.asarray(log_psd, float))
    numax = np.asarray(numax, float)
    if log_psd.shape[0] != numax.size:
        raise ValueError(f"{log_psd.shape[0]} spectra but {numax.size} ν_max values")
    estimate = np.array([estimate_global_parameters(frequency, row).numax for row in log_psd])
    rel = estimate / numax - 1
    found = np.isfinite(rel)
    return EnvelopeAudit(
        n=int(numax.size), n_no_envelope=int((~found).sum()),
        within_10pc=float(np.mean(np.abs(np.where(found, rel, np.inf)) <= 0.10)),
        median_abs=float(np.median(np.abs(rel[found]))) if found.any() else float("nan"),
        bias=float(np.median(rel[found])) if found.any() else float("nan"),
        numax=numax, estimate=estimate,
    )
