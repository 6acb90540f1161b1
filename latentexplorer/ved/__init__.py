"""The variational encoder-decoder (paper sections 2–5): APOGEE spectra → latent space → Kepler log PSD.

Modules: :mod:`.network` (layers), :mod:`.losses` (Eqs. 1, 2), :mod:`.scaling` (input checks, pixel
standardisation), :mod:`.training` (compiled loop, schedule, checkpoints), :mod:`.persistence`
(``.keras`` + JSON + NPZ), :mod:`.model` (the user-facing class).
"""

from .losses import kl_divergence, weighted_mse
from .model import VariationalEncoderDecoder
from .scaling import PixelScaler
from .training import TrainingConfig

__all__ = ["VariationalEncoderDecoder", "TrainingConfig", "PixelScaler", "weighted_mse", "kl_divergence"]
