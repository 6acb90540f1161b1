"""Galactocentric coordinates, galpy orbits and the disk age maps (paper section 7).

- :mod:`~latentexplorer.galaxy.coordinates`: heliocentric observables → R, φ, z, v_R, v_T, v_z (astropy).
- :mod:`~latentexplorer.galaxy.orbits`: L_z, Staeckel actions, eccentricity, z_max, guiding radius and
  single-orbit integration in MWPotential2014 (galpy).
- :mod:`~latentexplorer.galaxy.maps`: Eq. 8, the section 7.1 quality cuts and the binned numbers of
  Figs. 12–15.
"""

from .coordinates import galactocentric, galactocentric_frame, heliocentric
from .maps import (
    AgeDistributions,
    BinnedMap,
    MedianRelation,
    PanelGrid,
    abundance_age_map,
    age_alpha_map,
    age_distributions,
    binned_map,
    binned_statistic_grid,
    high_alpha_boundary,
    is_high_alpha,
    map_ages,
    median_age_table,
    median_relation,
    quality_mask,
    rz_abundance_age_maps,
    rz_age_map,
    rz_truth_comparison,
    TruthComparison,
)

_ORBIT_NAMES = ("OrbitFlag", "OrbitTrack", "integrate_orbit", "orbit_parameters", "staeckel_delta")


def __getattr__(name):
    """The orbit tools load galpy (seconds): import them on first use, so the coordinates and maps — and
    the mock survey, which uses the frame — do not pay for it."""
    if name in _ORBIT_NAMES:
        from . import orbits

        return getattr(orbits, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "AgeDistributions",
    "BinnedMap",
    "MedianRelation",
    "OrbitFlag",
    "OrbitTrack",
    "PanelGrid",
    "abundance_age_map",
    "age_alpha_map",
    "age_distributions",
    "binned_map",
    "galactocentric",
    "galactocentric_frame",
    "heliocentric",
    "high_alpha_boundary",
    "integrate_orbit",
    "is_high_alpha",
    "map_ages",
    "median_age_table",
    "median_relation",
    "orbit_parameters",
    "quality_mask",
    "rz_abundance_age_maps",
    "rz_age_map",
    "rz_truth_comparison",
    "staeckel_delta",
    "TruthComparison",
]
