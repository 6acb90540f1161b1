"""`VariationalEncoderDecoder`: APOGEE spectra → latent space → Kepler log PSD (paper sections 2–5)."""

from __future__ import annotations

import logging
import platform
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .. import __version__
from .record import TrainingRecord
from ..constants import APOGEE_N_PIXELS
from .inference import encoder_function
from .network import build_network
from .persistence import data_fingerprint, read_model, write_model
from .runtime import EncoderDecoderRuntime
from .scaling import PixelScaler, check_spectra
from .training import Trainer, TrainingConfig

__all__ = ["VariationalEncoderDecoder"]

log = logging.getLogger(__name__)


class VariationalEncoderDecoder(EncoderDecoderRuntime):
    """Variational encoder-decoder from continuum-normalised APOGEE spectra to natural-log Kepler PSDs.

    Spectra are standardised per pixel with the training set's mean and standard deviation (stored with
    the model); NaN pixels are bad pixels and set to the continuum (1) first, as the ingest does. The
    encoder gives a Gaussian in a ``latent_dim``-dimensional latent space; the decoder maps a latent
    vector to the PSD on ``frequency``. Training minimises the envelope-weighted MSE (Eq. 1) plus the KL
    divergence (Eq. 2) plus the kernels' L2 penalty. See :mod:`latentexplorer.ved.network` for the layers.
    Inference (``encode``, ``decode``, ``reconstruct``, ``jacobian``) is the contract of
    :class:`~latentexplorer.ved.runtime.EncoderDecoderRuntime`, run by TensorFlow.

    Parameters
    ----------
    latent_dim : int
        Dimension of the latent space (the paper's 5).
    frequency : (k,) array, μHz, optional
        Grid of the PSDs; default :func:`latentexplorer.psd.frequency_grid` (2092 pixels).
    l2 : float
        L2 penalty on every kernel.
    learning_rate : float
        Adam's initial learning rate.
    deterministic : bool
        Make training reproducible for a seed where TensorFlow allows: ``fit`` calls
        :func:`tf.config.experimental.enable_op_determinism`, which is process-wide.

    Attributes (after ``fit`` or ``load``)
    --------------------------------------
    network_ : keras.Model, spectra → [z_mean, z_log_var, log PSD of z_mean]
    scaler_ : PixelScaler
    history_ : dict of per-epoch lists (loss, mse, kl, val_loss, val_mse, val_kl, learning_rate, epoch_time_s)
    training_ : dict, the training configuration and summary (pairs, epochs, best validation loss, time,
        ``fingerprint`` of the training data)
    record_ : :class:`~latentexplorer.ved.record.TrainingRecord` or None, the APOGEE_IDs of the
        training and validation pairs (when ``fit`` was given ``ids``)

    Examples
    --------
    >>> ved = VariationalEncoderDecoder().fit(spectra, log_psd, numax, epochs=50)   # doctest: +SKIP
    >>> z_mean, z_std = ved.encode(spectra)                                          # doctest: +SKIP
    >>> ved.save("model/"); ved = VariationalEncoderDecoder.load("model/")           # doctest: +SKIP
    """

    n_pixels = APOGEE_N_PIXELS

    def __init__(self, latent_dim: int = 5, *, frequency=None, l2: float = 1e-5, learning_rate: float = 5e-4,
                 deterministic: bool = True):
        if int(latent_dim) < 1:
            raise ValueError(f"latent_dim must be ≥ 1, got {latent_dim}")
        if frequency is None:
            from ..psd import frequency_grid

            frequency = frequency_grid()
        self.frequency = np.asarray(frequency, dtype=float)
        if self.frequency.ndim != 1 or self.frequency.size < 4 or np.any(np.diff(self.frequency) <= 0):
            raise ValueError("frequency must be an increasing 1-d grid (μHz) of at least 4 pixels")
        self.latent_dim = int(latent_dim)
        self.l2 = float(l2)
        self.learning_rate = float(learning_rate)
        self.deterministic = bool(deterministic)
        self.network_ = None
        self.scaler_ = None
        self.history_ = {}
        self.training_ = {}
        self.record_ = None
        self._compiled = {}

    def __repr__(self):
        state = "untrained" if self.network_ is None else f"trained on {self.training_.get('n_train', '?')} pairs"
        return (f"VariationalEncoderDecoder(latent_dim={self.latent_dim}, {self.frequency.size} PSD pixels, "
                f"{state})")

    # --- training -------------------------------------------------------------------------------
    def _check_targets(self, log_psd, numax, n):
        y = np.asarray(log_psd, dtype=np.float32)
        if y.ndim != 2 or y.shape[0] != n:
            raise ValueError(f"log_psd must have shape ({n}, {self.frequency.size}), got {y.shape}")
        if y.shape[1] != self.frequency.size:
            raise ValueError(f"log_psd has {y.shape[1]} frequency pixels but the model's grid has "
                             f"{self.frequency.size}: a PSD on another grid")
        if not np.all(np.isfinite(y)):
            raise ValueError("log_psd contains non-finite values")
        numax = np.asarray(numax, dtype=float)
        if numax.shape != (n,) or not np.all(np.isfinite(numax) & (numax > 0)):
            raise ValueError(f"numax must be ({n},) positive finite values in μHz")
        return y, numax

    def fit(self, spectra, log_psd, numax, *, epochs: int = 100, batch_size: int = 128,
            validation_fraction: float = 0.1, seed: int = 0, ids=None, checkpoint_dir=None, resume: bool = False,
            progress: bool = True, **schedule) -> "VariationalEncoderDecoder":
        """Train on spectrum–PSD pairs.

        Parameters
        ----------
        spectra : (n, 7514) array
            Continuum-normalised spectra (not standardised).
        log_psd : (n, k) array
            Natural-log flattened PSDs on :attr:`frequency`.
        numax : (n,) array, μHz
            ν_max of each star, centring the pixel weights of Eq. 1 (:func:`latentexplorer.psd.envelope_weights`).
        epochs, batch_size, validation_fraction, seed
            A random ``validation_fraction`` of the pairs (drawn with ``seed``) is held out for the
            learning-rate schedule and early stopping; the pixel mean/std come from the rest.
        ids : (n,) array of str, optional
            The pairs' APOGEE_IDs: recorded (:attr:`record_`, saved with the model) as the training and
            validation stars, so that audits can hold out exactly the stars the encoder has seen.
        checkpoint_dir : path, optional
            Where to write ``checkpoint.h5`` after every epoch.
        resume : bool
            Continue from the checkpoint in ``checkpoint_dir`` if there is one; ``epochs`` is the total.
        progress : bool
            Show a tqdm bar per epoch.
        **schedule
            Other :class:`~latentexplorer.ved.training.TrainingConfig` fields (``lr_patience``,
            ``early_stopping_patience``, ``jit_compile``, …).

        Returns
        -------
        self
        """
        from ..psd import envelope_weights

        x = check_spectra(spectra, self.n_pixels)
        y, numax = self._check_targets(log_psd, numax, x.shape[0])
        if ids is not None and len(ids) != x.shape[0]:
            raise ValueError(f"ids has {len(ids)} entries for {x.shape[0]} pairs")
        config = TrainingConfig(epochs=int(epochs), batch_size=int(batch_size), validation_fraction=float(
            validation_fraction), seed=int(seed), learning_rate=self.learning_rate, **schedule)
        fingerprint = data_fingerprint(x, y, numax)
        train, val = self.validation_split(x.shape[0], config.validation_fraction, config.seed)
        scaler = PixelScaler.fit(x[train])
        w = envelope_weights(numax, self.frequency, height=config.envelope_height)

        keras.utils.set_random_seed(config.seed)
        if self.deterministic:
            tf.config.experimental.enable_op_determinism()
        network = build_network(self.n_pixels, self.frequency.size, self.latent_dim, l2=self.l2, seed=config.seed)
        trainer = Trainer(network, config, fingerprint)
        arrays = (scaler.transform(x), y, w)
        history = trainer.fit(
            tuple(a[train] for a in arrays),
            tuple(a[val] for a in arrays),
            checkpoint_dir=None if checkpoint_dir is None else Path(checkpoint_dir),
            resume=resume, progress=progress,
        )
        state = trainer.state
        self.network_, self.scaler_, self.history_ = network, scaler, history
        self.record_ = None if ids is None else TrainingRecord(
            np.asarray(ids).astype(str)[train], np.asarray(ids).astype(str)[val], fingerprint)
        self.training_ = dict(
            config=asdict(config), n_train=int(train.size), n_val=int(val.size), epochs_run=state.epoch,
            best_epoch=state.best_epoch, best_val_loss=state.best_val_loss, stopped_early=state.stopped_early,
            train_time_s=state.train_time_s, fingerprint=fingerprint, device=_device_name(),
        )
        self._compiled = {}
        return self

    @staticmethod
    def validation_split(n: int, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """(train rows, validation rows) of ``n`` pairs as :meth:`fit` draws them for ``seed``. Which stars
        a saved model saw is in its :attr:`record_`, not to be redrawn from here."""
        n_val = max(1, int(round(validation_fraction * n)))
        if n - n_val < 1:
            raise ValueError(f"{n} pairs leave nothing to train on with validation_fraction={validation_fraction}")
        order = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0]).permutation(n)
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    # --- inference ------------------------------------------------------------------------------
    def _fn(self, name):
        """Compiled inference functions, built on first use (one trace each: batch axis is None)."""
        if name not in self._compiled:
            if name == "encode":
                self._compiled[name] = encoder_function(self.network_.get_layer("encoder"), self.scaler_.mean,
                                                        self.scaler_.std)
                return self._compiled[name]
            encoder, decoder = self.network_.get_layer("encoder"), self.network_.get_layer("decoder")
            x_spec = [tf.TensorSpec([None, self.n_pixels], tf.float32)]

            def jacobian(x):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    z_mean, _ = encoder(x, training=False)
                return tape.batch_jacobian(z_mean, x)

            fns = {
                "decode": (lambda z: decoder(z, training=False), [tf.TensorSpec([None, self.latent_dim], tf.float32)]),
                "jacobian": (jacobian, x_spec),
            }
            fn, spec = fns[name]
            self._compiled[name] = tf.function(fn, input_signature=spec)
        return self._compiled[name]

    def _batched(self, name, x, batch_size):
        fn = self._fn(name)
        parts = [fn(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
        if isinstance(parts[0], (list, tuple)):
            return [np.concatenate([np.asarray(p[k]) for p in parts]) for k in range(len(parts[0]))]
        return np.concatenate([np.asarray(p) for p in parts])

    # The latents depend neither on the batch size nor on the thread count (see
    # :mod:`latentexplorer.ved.inference`); on two idle cores encode's default 256 spectra a call are ~10 %
    # faster than 128 and as fast as 512, holding ≈ 0.2 GB of intermediates instead of ≈ 0.45 GB.
    def _encode(self, spectra, batch_size):
        z_mean, z_log_var = self._batched("encode", spectra, batch_size)
        return z_mean, z_log_var

    def _decode(self, z, batch_size):
        return self._batched("decode", z, batch_size)

    def _jacobian(self, x, batch_size):
        return self._batched("jacobian", x, batch_size)

    # --- persistence ----------------------------------------------------------------------------
    def save(self, directory) -> Path:
        """Write ``model.keras``, ``pixel_scaler.npz``, ``metadata.json`` and (when known) the training record
        ``training_record.json`` into ``directory``."""
        self._require_fitted()
        metadata = dict(
            package_version=__version__, keras_version=keras.__version__, tensorflow_version=tf.__version__,
            latent_dim=self.latent_dim, n_pixels=self.n_pixels, frequency=self.frequency.tolist(),
            hyperparameters=dict(l2=self.l2, learning_rate=self.learning_rate, deterministic=self.deterministic),
            training=self.training_, history=self.history_,
        )
        return write_model(directory, self.network_, self.scaler_.mean, self.scaler_.std, metadata, self.record_)

    @classmethod
    def load(cls, directory, frequency=None) -> "VariationalEncoderDecoder":
        """Model saved by :meth:`save`; with ``frequency`` given, its grid must match (see :func:`read_model`)."""
        network, mean, std, metadata, record = read_model(directory, frequency)
        hyper = metadata.get("hyperparameters", {})
        ved = cls(metadata["latent_dim"], frequency=metadata["frequency"], **hyper)
        ved.network_, ved.scaler_ = network, PixelScaler(mean, std)
        ved.history_, ved.training_ = metadata.get("history", {}), metadata.get("training", {})
        ved.record_ = record
        return ved


def _device_name() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    return f"GPU ({gpus[0].name})" if gpus else f"CPU ({platform.processor() or platform.machine()})"
