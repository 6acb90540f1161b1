"""The disk age maps of paper section 7.2 (Figs. 12–15) as binned numbers.

Every function takes plain arrays (one entry per star, already cut with :func:`quality_mask`) and
returns numpy arrays with their bin edges, so the report (matplotlib) and the dashboards (bokeh) draw
the same numbers. 2-D statistics have image orientation, shape (n_y_bins, n_x_bins), ready for
``pcolormesh(x_edges, y_edges, statistic)`` or a bokeh ``image``. Bins with fewer than ``min_count``
stars are NaN. Rows with a non-finite value in any input are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from astropy.table import Table

from ..constants import LATENT_MIN_SNREV

__all__ = [
    "AgeDistributions",
    "BinnedMap",
    "MedianRelation",
    "PanelGrid",
    "abundance_age_map",
    "age_alpha_map",
    "age_distributions",
    "binned_map",
    "binned_statistic_grid",
    "high_alpha_boundary",
    "is_high_alpha",
    "map_ages",
    "median_age_table",
    "median_relation",
    "quality_mask",
    "rz_abundance_age_maps",
    "rz_age_map",
    "TruthComparison",
    "rz_truth_comparison",
]

# Default binning of the paper's figures.
FEH_EDGES = np.linspace(-1.0, 0.5, 31)  # dex
ALPHA_EDGES = np.linspace(-0.1, 0.35, 31)  # dex
AGE_EDGES = np.linspace(0.0, 14.0, 29)  # Gyr
R_EDGES = np.linspace(0.0, 20.0, 41)  # kpc
Z_EDGES = np.linspace(-3.0, 3.0, 31)  # kpc
PANEL_R_EDGES = np.array([3.0, 5.0, 7.0, 9.0, 11.0, 13.0])  # kpc, Fig. 14 (as Hayden et al. 2015)
PANEL_ABSZ_EDGES = np.array([0.0, 0.5, 1.0, 2.0])  # kpc
INNER_DISK_KPC = (3.0, 6.0)
OUTER_DISK_KPC = (10.0, 13.0)


def _columns(**arrays) -> dict[str, np.ndarray]:
    """The named inputs as 1-D float arrays (masked → NaN); ValueError when their lengths differ."""
    out = {name: np.ravel(np.ma.filled(np.ma.asarray(a, dtype=float), np.nan)) for name, a in arrays.items()}
    lengths = {name: a.size for name, a in out.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inputs must have one entry per star, got lengths {lengths}")
    return out


def _finite(*arrays) -> np.ndarray:
    return np.logical_and.reduce([np.isfinite(a) for a in arrays])


#: Paper Eq. 8: the high-[α/M] sequence lies above [α/M] = slope [Fe/H] + intercept and above the floor (dex).
HIGH_ALPHA_SLOPE, HIGH_ALPHA_INTERCEPT, HIGH_ALPHA_FLOOR = -0.2211, 0.0442, 0.05


def high_alpha_boundary(feh) -> np.ndarray:
    """The [α/M] (dex) above which a star of [Fe/H] ``feh`` (dex) is high-[α/M] (paper Eq. 8):
    max(−0.2211 [Fe/H] + 0.0442, 0.05); the inputs' shape."""
    feh = np.asarray(feh, dtype=float)
    return np.maximum(HIGH_ALPHA_SLOPE * feh + HIGH_ALPHA_INTERCEPT, HIGH_ALPHA_FLOOR)


def is_high_alpha(feh, alpha_m) -> np.ndarray:
    """Membership of the high-[α/M] sequence, paper Eq. 8: [α/M] above :func:`high_alpha_boundary`.
    Returns a bool array of the inputs' broadcast shape; False where either input is NaN."""
    alpha_m = np.asarray(alpha_m, dtype=float)
    with np.errstate(invalid="ignore"):
        return alpha_m > high_alpha_boundary(feh)


#: Which catalog estimate the maps use (README "Ages, catalog and report").
MAP_AGE = "10**LogAge"


def map_ages(log_age, log_age_err) -> tuple[np.ndarray, np.ndarray]:
    """The ages the disk maps use: 10**LogAge and its error 10**LogAge · ln 10 · LogAge_Error (Gyr), from the
    catalog's ``LogAge`` and ``LogAge_Error`` (dex; masked → NaN).

    The catalog's ``Age`` (mean over trees of 10**tree log age, the published recipe) sits above 10**LogAge by
    ≈ (ln 10 σ)²/2 for a spread of σ dex: where the posteriors are wide (young, clump stars) that is a
    bias of +10–20 % against the true ages, while 10**LogAge, the median of a log-normal posterior, stays
    within a few per cent (``benchmarks/bench_information``). Returns two (N,) float arrays.
    """
    cols = _columns(log_age=log_age, log_age_err=log_age_err)
    age = 10.0 ** cols["log_age"]
    return age, age * np.log(10.0) * cols["log_age_err"]


def quality_mask(age, age_err, starflag, aspcapflag, snr, logg=None, max_rel_age_err: float = 0.4,
                 min_snr: float = LATENT_MIN_SNREV, logg_range: tuple[float, float] | None = None,
                 age_flag=None) -> np.ndarray:
    """Stars fit for science, after the recommendation of paper section 7.1 (and Table 1).

    Keeps stars with a finite positive age, age_err / age < ``max_rel_age_err`` (40 %; the paper's
    Fig. 12 used 0.5), STARFLAG = 0, ASPCAPFLAG = 0 and S/N > ``min_snr``; with ``logg_range`` also
    lo < log g < hi (Fig. 12 used (2.5, 3.3)); with ``age_flag`` (the catalog's AGE_FLAG) also AGE_FLAG = 0,
    which leaves out the stars outside the age model's training support.

    Parameters
    ----------
    age, age_err : array_like, shape (N,)
        Age and its uncertainty, Gyr.
    starflag, aspcapflag : array_like of int, shape (N,)
        APOGEE bitmasks.
    snr : array_like, shape (N,)
        Spectral signal-to-noise ratio (SNREV where available).
    logg : array_like, shape (N,), optional
        Surface gravity, dex; required when ``logg_range`` is given.
    age_flag : array_like of int, shape (N,), optional
        The catalog's AGE_FLAG bits.

    Returns
    -------
    numpy.ndarray of bool, shape (N,)
    """
    cols = _columns(age=age, age_err=age_err, snr=snr, **({} if logg is None else {"logg": logg}))
    flags = {name: np.ravel(np.asarray(f)) for name, f in (("starflag", starflag), ("aspcapflag", aspcapflag),
                                                            ("age_flag", 0 if age_flag is None else age_flag))}
    if age_flag is None:
        flags["age_flag"] = np.zeros(cols["age"].size, np.int64)
    for name, f in flags.items():
        if f.size != cols["age"].size:
            raise ValueError(f"{name} has {f.size} entries, expected {cols['age'].size}")
    if logg_range is not None and logg is None:
        raise ValueError("logg_range needs logg")
    with np.errstate(invalid="ignore", divide="ignore"):
        keep = (cols["age"] > 0) & (cols["age_err"] / cols["age"] < max_rel_age_err) & (cols["snr"] > min_snr)
        if logg_range is not None:
            keep &= (cols["logg"] > logg_range[0]) & (cols["logg"] < logg_range[1])
    return keep & (flags["starflag"] == 0) & (flags["aspcapflag"] == 0) & (flags["age_flag"] == 0)


@dataclass(frozen=True)
class MedianRelation:
    """The running median of y in bins of x, with the 16th–84th percentile band.

    Attributes: ``x_edges`` (n+1,), ``x_centers``, ``median``, ``lower``, ``upper`` and ``counts``, all (n,);
    NaN in bins with fewer than ``min_count`` stars.
    """

    x_edges: np.ndarray
    x_centers: np.ndarray
    median: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    counts: np.ndarray


@dataclass(frozen=True)
class BinnedMap:
    """A statistic of a value in 2-D bins.

    Attributes
    ----------
    x_edges : (nx+1,) ; y_edges : (ny+1,)
    statistic : (ny, nx) the statistic in each bin (NaN with fewer than ``min_count`` stars)
    counts : (ny, nx) stars per bin
    x_label, y_label, value_label : axis and colour-bar labels with units
    relation : the median relation drawn over the map (Fig. 12 right), else None
    """

    x_edges: np.ndarray
    y_edges: np.ndarray
    statistic: np.ndarray
    counts: np.ndarray
    x_label: str
    y_label: str
    value_label: str
    relation: MedianRelation | None = None


@dataclass(frozen=True)
class PanelGrid:
    """Fig. 14: one [Fe/H]–[α/M] map per spatial bin; ``panels[i][j]`` covers |z| bin i and R bin j."""

    R_edges: np.ndarray
    absz_edges: np.ndarray
    panels: tuple[tuple[BinnedMap, ...], ...]


@dataclass(frozen=True)
class AgeDistributions:
    """Fig. 15: age histograms of the inner and outer disk, for all stars and per [α/M] sequence.

    ``counts[region][population]`` has shape (n_age_bins,), region in ``regions`` (name → (R_min, R_max)
    kpc), population in ("all", "high_alpha", "low_alpha").
    """

    age_edges: np.ndarray
    regions: dict[str, tuple[float, float]]
    counts: dict[str, dict[str, np.ndarray]]

    def density(self, region: str, population: str) -> np.ndarray:
        """Histogram normalised to unit area, 1/Gyr, shape (n_age_bins,); NaN if the group is empty."""
        counts = self.counts[region][population]
        total = counts.sum() * np.diff(self.age_edges)
        with np.errstate(invalid="ignore", divide="ignore"):
            return counts / total if counts.sum() else np.full(counts.shape, np.nan)


#: The statistics :func:`binned_map` computes.
MAP_STATISTICS = ("mean", "median")


def _bin_of(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin (0 … len(edges) − 2) of each value, −1 outside; bins are [lo, hi), the last [lo, hi] — the rule of
    :func:`numpy.histogram2d` and :func:`scipy.stats.binned_statistic_2d`."""
    index = np.searchsorted(edges, values, side="right") - 1
    index[values == edges[-1]] = edges.size - 2
    index[(index < 0) | (index > edges.size - 2)] = -1
    return index


def binned_statistic_grid(x, y, values, x_edges, y_edges, statistic: str) -> tuple[np.ndarray, np.ndarray]:
    """``statistic`` (one of :data:`MAP_STATISTICS`) of finite ``values`` in (x, y) bins, and the counts: two
    (len(x_edges) − 1, len(y_edges) − 1) arrays, NaN where a bin is empty. The numbers of
    :func:`scipy.stats.binned_statistic_2d` (tested), in numpy: a dashboard kernel that draws a map need not
    import scipy.stats (~0.8 s of CPU at every kernel start)."""
    if statistic not in MAP_STATISTICS:
        raise ValueError(f"statistic must be one of {MAP_STATISTICS}, got {statistic!r}")
    x_edges, y_edges = np.asarray(x_edges, dtype=float), np.asarray(y_edges, dtype=float)
    shape = (x_edges.size - 1, y_edges.size - 1)
    ix, iy = _bin_of(np.asarray(x, dtype=float), x_edges), _bin_of(np.asarray(y, dtype=float), y_edges)
    inside = (ix >= 0) & (iy >= 0)
    cell, values = ix[inside] * shape[1] + iy[inside], np.asarray(values, dtype=float)[inside]
    counts = np.bincount(cell, minlength=shape[0] * shape[1]).astype(float)
    stat = np.full(counts.size, np.nan)
    filled = counts > 0
    if statistic == "mean":
        stat[filled] = np.bincount(cell, weights=values, minlength=counts.size)[filled] / counts[filled]
    else:  # median: the middle one (or two) of each cell's sorted values
        ordered = values[np.lexsort((values, cell))]
        start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        n = counts.astype(np.int64)
        stat[filled] = 0.5 * (ordered[(start + (n - 1) // 2)[filled]] + ordered[(start + n // 2)[filled]])
    return stat.reshape(shape), counts.reshape(shape)


def binned_map(x, y, values, x_edges, y_edges, statistic: str = "mean", min_count: int = 1,
               x_label: str = "", y_label: str = "", value_label: str = "") -> BinnedMap:
    """``statistic`` ("mean" or "median", :func:`binned_statistic_grid`) of finite values in (x, y) bins with at
    least ``min_count`` stars."""
    cols = _columns(x=x, y=y, values=values)
    good = _finite(*cols.values())
    x, y, values = (cols[k][good] for k in ("x", "y", "values"))
    stat, counts = binned_statistic_grid(x, y, values, x_edges, y_edges, statistic)
    stat = np.where(counts >= max(min_count, 1), stat, np.nan)
    return BinnedMap(np.asarray(x_edges, dtype=float), np.asarray(y_edges, dtype=float), stat.T,
                     counts.T.astype(np.int64), x_label, y_label, value_label)


def median_relation(x, y, x_edges, min_count: int = 10) -> MedianRelation:
    """Median and 16th/84th percentiles of ``y`` in bins of ``x`` (see :class:`MedianRelation`)."""
    from scipy.stats import binned_statistic

    cols = _columns(x=x, y=y)
    good = _finite(cols["x"], cols["y"])
    x, y, x_edges = cols["x"][good], cols["y"][good], np.asarray(x_edges, dtype=float)
    counts, _, _ = binned_statistic(x, y, statistic="count", bins=x_edges)
    enough = counts >= max(min_count, 1)

    def percentile(q):
        with np.errstate(invalid="ignore"):
            stat, _, _ = binned_statistic(x, y, statistic=lambda v: np.percentile(v, q) if v.size else np.nan,
                                          bins=x_edges)
        return np.where(enough, stat, np.nan)

    return MedianRelation(x_edges, 0.5 * (x_edges[1:] + x_edges[:-1]), percentile(50), percentile(16),
                          percentile(84), counts.astype(np.int64))


def abundance_age_map(feh, alpha_m, age, feh_edges=FEH_EDGES, alpha_edges=ALPHA_EDGES,
                      min_count: int = 5) -> BinnedMap:
    """Fig. 12 left: mean age (Gyr) in [Fe/H]–[α/M] bins (x = [Fe/H], y = [α/M])."""
    return binned_map(feh, alpha_m, age, feh_edges, alpha_edges, "mean", min_count,
                      "[Fe/H] (dex)", "[α/M] (dex)", "mean age (Gyr)")


def age_alpha_map(age, alpha_m, lz, age_edges=AGE_EDGES, alpha_edges=ALPHA_EDGES, min_count: int = 5,
                  relation_min_count: int = 10) -> BinnedMap:
    """Fig. 12 right: mean L_z (kpc km/s) in age–[α/M] bins, with the median [α/M] at each age as ``relation``."""
    lz_map = binned_map(age, alpha_m, lz, age_edges, alpha_edges, "mean", min_count,
                        "age (Gyr)", "[α/M] (dex)", "mean L_z (kpc km/s)")
    cols = _columns(age=age, alpha_m=alpha_m, lz=lz)
    good = _finite(*cols.values())  # the same stars as the map
    relation = median_relation(cols["age"][good], cols["alpha_m"][good], age_edges, relation_min_count)
    return replace(lz_map, relation=relation)


def rz_age_map(R, z, age, R_edges=R_EDGES, z_edges=Z_EDGES, min_count: int = 5) -> BinnedMap:
    """Fig. 13: median age (Gyr) in Galactocentric R–z bins (x = R, y = z, kpc)."""
    return binned_map(R, z, age, R_edges, z_edges, "median", min_count, "R (kpc)", "z (kpc)", "median age (Gyr)")


def rz_abundance_age_maps(R, z, feh, alpha_m, age, R_edges=PANEL_R_EDGES, absz_edges=PANEL_ABSZ_EDGES,
                          feh_edges=FEH_EDGES, alpha_edges=ALPHA_EDGES, min_count: int = 3) -> PanelGrid:
    """Fig. 14: median age in [Fe/H]–[α/M] bins, one map per (|z|, R) bin (default 3 < R < 13, |z| < 2 kpc)."""
    cols = _columns(R=R, z=z, feh=feh, alpha_m=alpha_m, age=age)
    absz = np.abs(cols["z"])
    R_edges, absz_edges = np.asarray(R_edges, dtype=float), np.asarray(absz_edges, dtype=float)
    panels = []
    for z_lo, z_hi in zip(absz_edges[:-1], absz_edges[1:]):
        row = []
        for R_lo, R_hi in zip(R_edges[:-1], R_edges[1:]):
            sel = (cols["R"] >= R_lo) & (cols["R"] < R_hi) & (absz >= z_lo) & (absz < z_hi)
            row.append(binned_map(cols["feh"][sel], cols["alpha_m"][sel], cols["age"][sel], feh_edges, alpha_edges,
                                  "median", min_count, "[Fe/H] (dex)", "[α/M] (dex)", "median age (Gyr)"))
        panels.append(tuple(row))
    return PanelGrid(R_edges, absz_edges, tuple(panels))


def age_distributions(R, age, feh, alpha_m, age_edges=AGE_EDGES,
                      regions: dict[str, tuple[float, float]] | None = None) -> AgeDistributions:
    """Fig. 15: age histograms of the inner (3–6 kpc) and outer (10–13 kpc) disk, all and per Eq. 8 sequence."""
    regions = {"inner": INNER_DISK_KPC, "outer": OUTER_DISK_KPC} if regions is None else dict(regions)
    cols = _columns(R=R, age=age, feh=feh, alpha_m=alpha_m)
    good = _finite(cols["R"], cols["age"])
    high = is_high_alpha(cols["feh"], cols["alpha_m"])
    has_abundances = _finite(cols["feh"], cols["alpha_m"])
    age_edges = np.asarray(age_edges, dtype=float)
    counts = {}
    for name, (R_lo, R_hi) in regions.items():
        in_region = good & (cols["R"] >= R_lo) & (cols["R"] < R_hi)
        groups = {"all": in_region, "high_alpha": in_region & high, "low_alpha": in_region & has_abundances & ~high}
        counts[name] = {pop: np.histogram(cols["age"][sel], bins=age_edges)[0] for pop, sel in groups.items()}
    return AgeDistributions(age_edges, regions, counts)


def median_age_table(R, absz, age, R_edges, z_edges, min_count: int = 1) -> Table:
    """Median age per R–|z| bin, one row per bin (R fastest).

    Returns a Table with ``R_min``, ``R_max``, ``absz_min``, ``absz_max`` (kpc), ``N`` (stars) and
    ``median_age`` (Gyr; NaN with fewer than ``min_count`` stars). Two tables made with the same edges
    (e.g. true vs catalog ages) line up row by row.
    """
    age_map = binned_map(R, np.abs(np.asarray(absz, dtype=float)), age, R_edges, z_edges, "median", min_count)
    R_edges, z_edges = age_map.x_edges, age_map.y_edges
    iz, iR = np.meshgrid(np.arange(z_edges.size - 1), np.arange(R_edges.size - 1), indexing="ij")
    iz, iR = iz.ravel(), iR.ravel()
    return Table(
        {"R_min": R_edges[iR], "R_max": R_edges[iR + 1], "absz_min": z_edges[iz], "absz_max": z_edges[iz + 1],
         "N": age_map.counts.ravel(), "median_age": age_map.statistic.ravel()},
        units={"R_min": "kpc", "R_max": "kpc", "absz_min": "kpc", "absz_max": "kpc", "median_age": "Gyr"},
    )


@dataclass(frozen=True)
class TruthComparison:
    """A mock survey's R–z age map beside the true ages of the same stars.

    ``catalog`` and ``truth`` are the median catalog and true ages (Gyr) in R–z bins; ``residual`` the
    difference of the two medians (catalog − truth, Gyr) in each bin; all NaN below ``min_count`` stars.
    """

    catalog: BinnedMap
    truth: BinnedMap
    residual: BinnedMap

    def cells(self, min_count: int = 100, tolerance_gyr: float = 1.5) -> list[dict]:
        """The bins of at least ``min_count`` stars: R and z ranges (kpc), stars, catalog and true median
        (Gyr), their difference and whether it is within ``tolerance_gyr``."""
        out = []
        x, y = self.catalog.x_edges, self.catalog.y_edges
        for j, i in zip(*np.nonzero(self.catalog.counts >= min_count)):
            diff = float(self.residual.statistic[j, i])
            out.append({"R": (float(x[i]), float(x[i + 1])), "z": (float(y[j]), float(y[j + 1])),
                        "n": int(self.catalog.counts[j, i]), "catalog": float(self.catalog.statistic[j, i]),
                        "truth": float(self.truth.statistic[j, i]), "difference": diff,
                        "within": bool(abs(diff) <= tolerance_gyr)})
        return out


def rz_truth_comparison(R, z, age, true_age, R_edges=R_EDGES, z_edges=Z_EDGES, min_count: int = 5) -> TruthComparison:
    """The median catalog age and the median true age of the same stars in R–z bins, and their difference
    (see :class:`TruthComparison`); stars lacking either age are left out of both."""
    cols = _columns(R=R, z=z, age=age, true_age=true_age)
    both = _finite(cols["age"], cols["true_age"])
    R, z, age, true_age = (cols[k][both] for k in ("R", "z", "age", "true_age"))
    catalog = rz_age_map(R, z, age, R_edges, z_edges, min_count)
    truth = replace(rz_age_map(R, z, true_age, R_edges, z_edges, min_count), value_label="median true age (Gyr)")
    residual = replace(truth, statistic=catalog.statistic - truth.statistic,
                       value_label="median age − median true age (Gyr)")
    return TruthComparison(catalog, truth, residual)
