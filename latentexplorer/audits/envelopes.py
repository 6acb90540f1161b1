"""Where the p-mode envelope of decoded (or observed) PSDs lies against the true ν_max (paper section 6.1,
:func:`envelope_audit`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ved.scores import envelope_placement
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
    """Audit reconstructed (or observed) log PSDs, (n, k) on ``frequency`` (k,) μHz, against true ν_max (n,)
    (:func:`latentexplorer.ved.scores.envelope_placement`)."""
    return EnvelopeAudit(**envelope_placement(log_psd, frequency, numax)._asdict())
