"""What every audit's result shares: dataclasses whose ``to_dict()`` gives plain Python numbers for reports and
tests while their per-star arrays (indices, truths, predictions) stay on the object for plotting, and the
residual statistics (bias, scatter, robust scatter) they report."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from ..ages.forest import robust_width

__all__ = ["AuditResult", "per_star_field", "residual_stats"]


def per_star_field(name):
    """A dataclass field holding a per-star array: kept on the object, left out of ``to_dict``."""
    return dataclasses.field(repr=False, metadata={"array": name})


def _plain(value):
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value


class AuditResult:
    """Base of the audits' result dataclasses."""

    def to_dict(self) -> dict:
        """Scalars, strings and nested results as plain Python types (per-star arrays left out)."""
        return {
            f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self) if "array" not in f.metadata
        }


def residual_stats(truth, prediction, fractional):
    """Mean, standard deviation and robust width (1.4826 × MAD) of prediction − truth, or of prediction / truth − 1
    when ``fractional``."""
    resid = prediction / truth - 1.0 if fractional else prediction - truth
    return float(np.mean(resid)), float(np.std(resid)), robust_width(resid)
