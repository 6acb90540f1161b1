"""The variational encoder-decoder (paper sections 2–5): APOGEE spectra → latent space → Kepler log PSD.

Modules: :mod:`.network` (layers), :mod:`.losses` (Eqs. 1, 2), :mod:`.scaling` (input checks, pixel
standardisation), :mod:`.training` (compiled loop, schedule, checkpoints), :mod:`.persistence`
(``.keras`` + JSON + NPZ), :mod:`.inference` (the compiled, thread-count-independent encoder),
:mod:`.model` (the user-facing class). TensorFlow loads with the first of these
names used, not with the package: :mod:`.scaling` serves :mod:`latentexplorer.ved.engine` without it.
"""

import importlib

#: Public name → submodule, imported on first use.
_NAMES = {"VariationalEncoderDecoder": "model", "TrainingConfig": "training", "PixelScaler": "scaling",
          "weighted_mse": "losses", "kl_divergence": "losses"}

__all__ = list(_NAMES)


def __getattr__(name):
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
