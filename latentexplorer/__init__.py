"""latentexplorer: spectroscopic ages from APOGEE spectra through a variational encoder-decoder
trained to reconstruct Kepler power spectra (Leung, Bovy, Mackereth & Miglio 2023), and tools to
explore it.

The public face, each name imported on first use (so ``import latentexplorer`` is instant and a dashboard
kernel that never touches the Keras model never imports TensorFlow):

- a workspace and its products: :class:`Workspace`, :class:`WorkspacePaths`, :class:`MissingProduct`;
- power spectra: :class:`PowerSpectrum`, :func:`compute_power_spectrum`;
- the encoder-decoder: :class:`VariationalEncoderDecoder` (Keras: training, encoding),
  :class:`InferenceEngine` (numpy: encode, decode, Jacobian), :class:`TrainingConfig`;
- the age model: :class:`AgeModel`, :class:`ProbabilisticRandomForestRegressor`,
  :class:`ProbabilisticRandomForestClassifier`;
- the mock survey: :func:`simulate_survey`;
- each product's reader and writer (``read_psd_file`` / ``write_psd_file``, ``read_pairs`` /
  ``write_pairs``, ``read_latent`` / ``write_latent``, ``read_forest`` / ``write_forest``,
  ``read_catalog`` / ``write_catalog``, ``read_orbits`` / ``write_orbits``, ``read_truth`` / ``write_truth``,
  ``read_allstar`` / ``write_allstar``, ``read_seismic_catalog`` / ``write_seismic_catalog``,
  ``read_training_record`` / ``write_training_record``).

    >>> import latentexplorer as le
    >>> ws = le.Workspace("~/latentexplorer-demo")      # doctest: +SKIP
    >>> ws.catalog["Age"].mean()                         # doctest: +SKIP
"""

from .lazy import lazy_attributes

__version__ = "0.2.0"

#: Public name → the module (below this package) that defines it.
_PUBLIC = {
    "Workspace": "workspace", "WorkspacePaths": "workspace", "MissingProduct": "workspace",
    "PowerSpectrum": "powerspectrum", "compute_power_spectrum": "psd",
    "VariationalEncoderDecoder": "ved.model", "InferenceEngine": "ved.engine", "TrainingConfig": "ved.training",
    "AgeModel": "ages.model", "ProbabilisticRandomForestRegressor": "ages.forest",
    "ProbabilisticRandomForestClassifier": "ages.forest",
    "simulate_survey": "mock.survey",
    "read_psd_file": "io.psdfile", "write_psd_file": "io.psdfile",
    "read_pairs": "io.pairs", "write_pairs": "io.pairs",
    "read_latent": "io.latent", "write_latent": "io.latent",
    "read_forest": "ages.files", "write_forest": "ages.files",
    "read_catalog": "io.catalog", "write_catalog": "io.catalog",
    "read_orbits": "io.orbits", "write_orbits": "io.orbits",
    "read_truth": "io.truth", "write_truth": "io.truth",
    "read_allstar": "io.allstar", "write_allstar": "io.allstar",
    "read_seismic_catalog": "io.seismic", "write_seismic_catalog": "io.seismic",
    "read_training_record": "ved.record", "write_training_record": "ved.record",
}

__all__ = ["__version__", *_PUBLIC]

__getattr__ = lazy_attributes(__name__, _PUBLIC)


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
