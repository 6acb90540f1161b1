"""A workspace: one directory per run, holding every product of the pipeline (see docs/architecture.md).

The dashboards and ``latentexplorer report`` read it; the CLI's steps write it. :class:`Workspace` only
names the paths — it reads and writes nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Workspace"]


@dataclass(frozen=True)
class Workspace:
    """Paths of a workspace rooted at ``root``.

    survey/ (allStar.fits, seismic.fits, spectra.h5 or apStar/, kepler/), truth.fits (mock only),
    psd.h5, pairs.h5, model/, latent.h5, forest/, catalog.fits (+ catalog.csv.gz), orbits.fits, report/.
    """

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root).expanduser())

    survey = property(lambda self: self.root / "survey")
    allstar = property(lambda self: self.survey / "allStar.fits")
    seismic = property(lambda self: self.survey / "seismic.fits")
    kepler = property(lambda self: self.survey / "kepler")
    truth = property(lambda self: self.root / "truth.fits")
    psd = property(lambda self: self.root / "psd.h5")
    pairs = property(lambda self: self.root / "pairs.h5")
    model = property(lambda self: self.root / "model")
    latent = property(lambda self: self.root / "latent.h5")
    forest = property(lambda self: self.root / "forest")
    catalog = property(lambda self: self.root / "catalog.fits")
    catalog_csv = property(lambda self: self.root / "catalog.csv.gz")
    orbits = property(lambda self: self.root / "orbits.fits")
    report = property(lambda self: self.root / "report")

    @property
    def spectra(self) -> Path:
        """The survey's spectra: the stacked ``spectra.h5`` if present, else the ``apStar/`` directory."""
        stacked = self.survey / "spectra.h5"
        return stacked if stacked.exists() else self.survey / "apStar"

    @property
    def is_mock(self) -> bool:
        return self.truth.exists()

    def missing(self, *names: str) -> list[str]:
        """Which of the named products (attribute names, e.g. "catalog", "model") do not exist yet."""
        return [name for name in names if not getattr(self, name).exists()]
