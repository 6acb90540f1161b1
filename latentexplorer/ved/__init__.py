"""The variational encoder-decoder (paper sections 2–5): APOGEE spectra → latent space → Kepler log PSD.

Modules: :mod:`.network` (layers), :mod:`.losses` (Eqs. 1, 2), :mod:`.scaling` (input checks, pixel
standardisation), :mod:`.training` (compiled loop, schedule, checkpoints; :mod:`.checkpoint` its file),
:mod:`.persistence` (``.keras`` + JSON + NPZ; :mod:`.record` the training record), :mod:`.inference` (the
compiled, thread-count-independent encoder), :mod:`.runtime` (the inference contract both runtimes hold),
:mod:`.model` (the user-facing class, TensorFlow), :mod:`.engine` (the same inference in NumPy, on the
layers of :mod:`.numpy_network` read by :mod:`.keras_file`), :mod:`.scores` (the paper's objective and the
envelope placement on held-out pairs), :mod:`.search` (the hyper-parameter search), :mod:`.reference` (the
shipped reference model). TensorFlow loads with the first of the TensorFlow modules used, not with the
package: :mod:`.runtime`, :mod:`.scaling` and :mod:`.engine` run without it.
"""

from ..lazy import lazy_attributes

#: Public name → submodule, imported on first use.
_NAMES = {"VariationalEncoderDecoder": "model", "TrainingConfig": "training", "PixelScaler": "scaling",
          "weighted_mse": "losses", "kl_divergence": "losses"}

__all__ = list(_NAMES)

__getattr__ = lazy_attributes(__name__, _NAMES)
