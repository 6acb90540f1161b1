"""Every pipeline step over files, shared by the CLI commands and the demo: one module per step, in the
order a survey runs through them, and the runtime they all run inside (:mod:`.runtime`).

Each step takes paths (or a workspace), checks its output against its inputs before any work, holds its
output's lock while it writes (:func:`~.runtime.outputs.locks_output`), records what the output was made from
(:func:`~.runtime.provenance.records_provenance`), never dies on one bad star (the row is NaN and flagged),
writes atomically and returns a small summary. The mock survey's step, :func:`simulate`, makes the inputs
themselves; :mod:`.reference_model` rebuilds the shipped encoder-decoder from all of them.
"""

from ..lazy import lazy_attributes

#: Public name → the step module defining it, imported on first use (a command loads only its own step).
_STEPS = {"StepSummary": "summary", "SimulateSummary": "simulate", "simulate": "simulate",
          "find_light_curve_files": "psd", "compute_psd_files": "psd", "compute_mock_psds": "psd",
          "make_pairs": "pairs", "train_model": "train", "encode_spectra_file": "encode",
          "encode_mock_survey": "encode", "train_age_model": "ages", "build_catalog": "catalog",
          "compute_orbits": "orbits", "write_report": "report"}

__all__ = list(_STEPS)

__getattr__ = lazy_attributes(__name__, _STEPS)
