"""The simulate step: a mock APOGEE–Kepler survey (:mod:`latentexplorer.mock`) → ``truth.fits`` and the ``survey/``
files of a workspace.

Unlike the other steps it wears neither :func:`~.runtime.outputs.locks_output` nor
:func:`~.runtime.provenance.records_provenance`: its directory may not exist until the step makes it (a lock lives
beside its output), and its files are the pipeline's sources, made from nothing on disk (``latentexplorer status``
calls them survey inputs). It says instead which products its new survey made stale.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["SimulateSummary", "simulate"]


@dataclass
class SimulateSummary:
    """What :func:`simulate` did: the survey (:class:`~latentexplorer.mock.MockSurvey`), the paths it wrote (as
    :meth:`~latentexplorer.mock.MockSurvey.write` returns them), the seconds it took and the products that the
    new survey made stale (:class:`~latentexplorer.io.provenance.StaleProduct`)."""

    survey: object = field(repr=False)
    paths: dict
    seconds: float
    stale: list

    def __str__(self) -> str:
        survey, paths = self.survey, self.paths
        truth = survey.truth
        n_rc = int((truth["EVOLSTATE"] == "RC").sum())
        n_high = int((truth["POPULATION"] == "thick").sum())
        text = (f"simulate: {len(truth)} stars ({n_rc} red clump, {n_high} high-[α/M]), {len(survey.seismic)} Kepler "
                f"giants, {survey.n_light_curves_written} light-curve files, seed {survey.seed}, {self.seconds:.1f} s\n"
                f"  truth    {paths['truth']}\n  allStar  {paths['allstar']}\n  seismic  {paths['seismic']}\n"
                f"  spectra  {paths['spectra']}\n  kepler   {paths['kepler']}/")
        if self.stale:
            text += f"\n  now stale (made from the survey this run replaced): {', '.join(p.name for p in self.stale)}"
        return text


def simulate(output, n_stars: int, n_kepler: int, seed: int = 0, *, spectra_format: str = "stacked",
             light_curves: int | None = None, n_jobs: int = 1, progress: bool = True,
             overwrite: bool = False) -> SimulateSummary:
    """Simulate a mock survey of ``n_stars`` giants, ``n_kepler`` of them Kepler targets (:func:`latentexplorer.mock.
    simulate_survey`), and write it under ``output`` (:meth:`~latentexplorer.mock.MockSurvey.write`: ``spectra_format``,
    the llc files of the first ``light_curves`` Kepler stars (None: all), ``n_jobs`` worker processes).

    Before anything is drawn: a survey that this machine's memory or the free space of ``output`` cannot hold is
    refused (ValueError, OSError ENOSPC), ``output`` is made (PermissionError, FileExistsError when it cannot be a
    writable directory), and a directory that already holds a survey is refused (FileExistsError) unless
    ``overwrite`` — then the survey files are replaced and the mock light curves of the earlier survey removed (yours
    stay). A run that fails (Ctrl-C included) removes what it made, so the rerun is not refused for it.
    """
    from ..io.provenance import stale_products
    from ..mock import simulate_survey
    from ..mock.files import check_survey_fits, existing_survey_files, prepare_directory
    from .runtime.outputs import removes_what_it_made

    check_survey_fits(output, n_stars, n_kepler, spectra_format, light_curves)
    prepare_directory(output)  # fail before simulating, not after
    held = existing_survey_files(output)
    if held and not overwrite:
        raise FileExistsError(f"{output} already holds a survey ({', '.join(held)}); add --overwrite to replace "
                              "it (what was made from it becomes stale), or choose another directory")
    start = time.perf_counter()
    survey = simulate_survey(n_stars, n_kepler, seed)
    with removes_what_it_made(output):  # a failed run leaves nothing that refuses the rerun
        paths = survey.write(output, spectra_format=spectra_format, progress=progress, n_jobs=n_jobs,
                             light_curves=light_curves)
    return SimulateSummary(survey, paths, time.perf_counter() - start, stale_products(output))
