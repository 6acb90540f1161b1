"""The pipeline's steps over files, shared by the CLI commands and the demo: one module per step.

Each reads its inputs through :mod:`latentexplorer.io`, never dies on one bad star (the row is NaN and
flagged), writes its output atomically and returns a small summary.
"""

from .encode import encode_mock_survey, encode_spectra_file
from .orbits import compute_orbits
from .pairs import make_pairs
from .psd import compute_mock_psds, compute_psd_files, find_light_curve_files
from .summary import StepSummary
from .train import train_model

__all__ = ["StepSummary", "find_light_curve_files", "compute_psd_files", "compute_mock_psds", "make_pairs",
           "train_model", "encode_spectra_file", "encode_mock_survey", "compute_orbits"]
