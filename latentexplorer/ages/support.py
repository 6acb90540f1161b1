"""Where the age model was trained: stars outside that support get an out-of-distribution flag.

The age forest learnt ages only where its training stars lie. Two tests, each an :class:`AgeFlag
<latentexplorer.selection.AgeFlag>` bit; the age is still computed, but the flag says not to trust it:

- **latent support** (``OUT_OF_SUPPORT``): the distance from a star's latent means to its ``k``-th nearest
  training star exceeds the 99th percentile of the same distance among the training stars themselves
  (leave-one-out). The paper's Fig. 4 shows the decoder's output turning to nonsense away from the training
  sample; the forest has no trees there either. The training stars are seismic giants encoded by the same
  encoder, so they also trace where the encoder-decoder was trained;
- **label range** (``OUTSIDE_LABEL_RANGE``): Teff or [Fe/H] outside the range of the training stars.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["TrainingSupport", "LATENT_NEIGHBOURS", "LATENT_PERCENTILE"]

#: Neighbours of the latent distance and the percentile of the training stars' own distances that bounds it.
LATENT_NEIGHBOURS, LATENT_PERCENTILE = 10, 99.0


@dataclass
class TrainingSupport:
    """The age model's training support.

    z : (n, k) latent means of the training stars; threshold : distance (latent units) to the
    ``neighbours``-th nearest training star beyond which a star is outside; teff_range (K), fe_h_range (dex):
    (min, max) of the training stars.
    """

    z: np.ndarray
    threshold: float
    neighbours: int
    teff_range: tuple[float, float]
    fe_h_range: tuple[float, float]

    @classmethod
    def fit(cls, z, teff, fe_h, neighbours: int = LATENT_NEIGHBOURS,
            percentile: float = LATENT_PERCENTILE) -> TrainingSupport:
        """The support of training stars with latent means ``z`` (n, k), ``teff`` (n,) K and ``fe_h`` (n,) dex."""
        from scipy.spatial import cKDTree

        z = np.asarray(z, dtype=float)
        if z.ndim != 2 or len(z) <= neighbours:
            raise ValueError(f"the training support needs more than {neighbours} stars with latents, got {len(z)}")
        tree = cKDTree(z)
        distance, _ = tree.query(z, k=neighbours + 1)  # the nearest is the star itself
        support = cls(z, float(np.percentile(distance[:, -1], percentile)), int(neighbours),
                      (float(np.min(teff)), float(np.max(teff))), (float(np.min(fe_h)), float(np.max(fe_h))))
        support._tree = tree  # the cached tree of the same stars
        return support

    @functools.cached_property
    def _tree(self):
        from scipy.spatial import cKDTree

        return cKDTree(self.z)

    def latent_distance(self, z) -> np.ndarray:
        """(m,) distance of each of ``z`` (m, k) to its ``neighbours``-th nearest training star (NaN rows → NaN)."""
        z = np.asarray(z, dtype=float)
        out = np.full(len(z), np.nan)
        finite = np.isfinite(z).all(axis=1)
        if finite.any():
            out[finite] = self._tree.query(z[finite], k=self.neighbours)[0][:, -1]
        return out

    def outside_latent(self, z) -> np.ndarray:
        """(m,) bool: latent means beyond the support (False for NaN rows: those have no latent at all)."""
        with np.errstate(invalid="ignore"):
            return self.latent_distance(z) > self.threshold

    def outside_labels(self, teff, fe_h) -> np.ndarray:
        """(m,) bool: Teff or [Fe/H] outside the training range (False where missing: flagged elsewhere)."""
        teff, fe_h = np.asarray(teff, float), np.asarray(fe_h, float)
        with np.errstate(invalid="ignore"):
            return ((teff < self.teff_range[0]) | (teff > self.teff_range[1])
                    | (fe_h < self.fe_h_range[0]) | (fe_h > self.fe_h_range[1]))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays for ``forest/support.npz``."""
        return {"z": self.z, "threshold": np.float64(self.threshold), "neighbours": np.int64(self.neighbours),
                "teff_range": np.asarray(self.teff_range, float), "fe_h_range": np.asarray(self.fe_h_range, float)}

    @classmethod
    def from_arrays(cls, arrays) -> TrainingSupport:
        """Inverse of :meth:`to_arrays`; ValueError naming what is missing or inconsistent."""
        missing = [k for k in ("z", "threshold", "neighbours", "teff_range", "fe_h_range") if k not in arrays]
        if missing:
            raise ValueError(f"lacks {', '.join(missing)}")
        z = np.asarray(arrays["z"], float)
        if z.ndim != 2 or len(z) <= int(arrays["neighbours"]):
            raise ValueError(f"holds latents of shape {z.shape}")
        return cls(z, float(arrays["threshold"]), int(arrays["neighbours"]),
                   tuple(np.asarray(arrays["teff_range"], float)), tuple(np.asarray(arrays["fe_h_range"], float)))
