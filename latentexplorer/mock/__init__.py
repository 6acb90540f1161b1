"""The mock APOGEE–Kepler survey: a simulated Milky Way giant population with known truth, written in
the real surveys' file formats (allStar, apStar, Kepler llc, seismic catalog).

>>> from latentexplorer.mock import simulate_survey
>>> survey = simulate_survey(n_stars=5000, n_kepler=3000, seed=42)   # doctest: +SKIP
>>> survey.write("workspace")                                         # doctest: +SKIP
"""

from .survey import MockSurvey, simulate_survey

__all__ = ["MockSurvey", "simulate_survey"]
