"""`EncoderDecoderRuntime`: the one contract of a trained encoder-decoder's inference — encode, decode,
reconstruct, Jacobian — that both runtimes implement.

The public methods here check the inputs, fix the shapes, dtypes and units, wrap decoded spectra in
:class:`~latentexplorer.powerspectrum.PowerSpectrum` and word the errors; a runtime supplies only the array
kernels :meth:`~EncoderDecoderRuntime._encode`, :meth:`~EncoderDecoderRuntime._decode` and
:meth:`~EncoderDecoderRuntime._jacobian`:

* :class:`latentexplorer.ved.model.VariationalEncoderDecoder` — TensorFlow/Keras, which also trains and saves;
* :class:`latentexplorer.ved.engine.InferenceEngine` — NumPy, what the dashboards run.

This module imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

import abc

import numpy as np

from .scaling import check_spectra

__all__ = ["EncoderDecoderRuntime"]


class EncoderDecoderRuntime(abc.ABC):
    """Inference with a trained encoder-decoder: APOGEE spectra ↔ latent space → natural-log Kepler PSDs.

    Every method's result is independent of ``batch_size`` (at most this many spectra or latent vectors
    are evaluated at once); no spectra or latent vectors (n = 0) give empty results of the same shapes.

    Attributes
    ----------
    frequency : (k,) float64 array, μHz, the decoder's grid
    latent_dim : int
    n_pixels : int, 7514 (the gap-removed APOGEE grid)
    scaler_ : :class:`~latentexplorer.ved.scaling.PixelScaler` (``mean``, ``std``, ``transform``), or None
        before training
    history_, training_ : dict, the training history and configuration
    record_ : :class:`~latentexplorer.ved.record.TrainingRecord` or None, which pairs it trained on
    """

    frequency: np.ndarray
    latent_dim: int
    n_pixels: int
    scaler_ = None
    history_: dict
    training_: dict
    record_ = None

    # --- what a runtime implements (n ≥ 1 rows: the contract answers n = 0 itself) --------------------
    @abc.abstractmethod
    def _encode(self, spectra: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """(n, n_pixels) float32 continuum-normalised spectra, checked and without NaN (not standardised) →
        z_mean, z_log_var, each (n, latent_dim) float32."""

    @abc.abstractmethod
    def _decode(self, z: np.ndarray, batch_size: int) -> np.ndarray:
        """(n, latent_dim) finite float32 latent vectors → (n, k) float32 natural-log PSDs on :attr:`frequency`."""

    @abc.abstractmethod
    def _jacobian(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        """(n, n_pixels) float32 standardised spectra → ∂z_mean/∂x, (n, latent_dim, n_pixels) float32."""

    # --- the contract -------------------------------------------------------------------------------------
    def _require_fitted(self) -> None:
        if self.scaler_ is None:
            raise ValueError(f"this {type(self).__name__} is not trained: call fit() or load() first")

    def _check_call(self, batch_size) -> None:
        """ValueError for an untrained model or a ``batch_size`` below 1."""
        self._require_fitted()
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")

    def encode(self, spectra, sample: bool = False, batch_size: int = 256, seed=None):
        """Latent representation of spectra.

        Parameters
        ----------
        spectra : (n, 7514) or (7514,) array
            Continuum-normalised spectra; NaN pixels are bad pixels, set to the continuum (1).
        sample : bool
            Return a random draw z ~ N(z_mean, z_std²) instead of z_mean.
        batch_size : int
            Most spectra evaluated at once.
        seed : int or numpy.random.Generator, optional
            For ``sample=True``.

        Returns
        -------
        z : (n, latent_dim) float32, the means (or a draw)
        z_std : (n, latent_dim) float32, the encoder's standard deviations exp(½ log σ²)

        Raises
        ------
        ValueError
            Wrong shape or pixel count, infinite values, an entirely NaN spectrum, ``batch_size`` < 1, or an
            untrained model.
        """
        self._check_call(batch_size)
        x = check_spectra(spectra, self.n_pixels)
        if len(x):
            z_mean, z_log_var = self._encode(x, batch_size)
        else:
            z_mean = z_log_var = np.empty((0, self.latent_dim), np.float32)
        z_std = np.exp(0.5 * z_log_var)
        if sample:
            z_mean = z_mean + z_std * np.random.default_rng(seed).standard_normal(z_mean.shape).astype(np.float32)
        return z_mean, z_std

    def decode(self, z, batch_size: int = 512):
        """Decode latent vectors into power spectra.

        Parameters
        ----------
        z : (n, latent_dim) or (latent_dim,) array
        batch_size : int

        Returns
        -------
        :class:`latentexplorer.powerspectrum.PowerSpectrum`
            A stack of n natural-log PSDs, (n, k) float32, on :attr:`frequency` (μHz) — also for one latent
            vector: ``decode(z)[0]`` is that star's spectrum, ``np.asarray(decode(z))`` the bare (n, k) array.

        Raises
        ------
        ValueError
            ``z`` of another shape, with non-finite values, ``batch_size`` < 1, or an untrained model.
        """
        from ..powerspectrum import PowerSpectrum  # astropy: on first use, not with the dashboards' imports

        self._check_call(batch_size)
        z = np.array(z, dtype=np.float32, ndmin=2)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (n, {self.latent_dim}), got {z.shape}")
        if not np.all(np.isfinite(z)):
            raise ValueError("z contains non-finite values")
        log_psd = self._decode(z, batch_size) if len(z) else np.empty((0, self.frequency.size), np.float32)
        return PowerSpectrum(self.frequency, log_psd, meta={"source": "decoded"})

    def reconstruct(self, spectra, batch_size: int = 512):
        """Power spectra decoded from the latent means of ``spectra`` (n, 7514): a (n, k) float32
        :class:`~latentexplorer.powerspectrum.PowerSpectrum` stack on :attr:`frequency`, as :meth:`decode`."""
        return self.decode(self.encode(spectra, batch_size=batch_size)[0], batch_size=batch_size)

    def jacobian(self, spectra, batch_size: int = 32) -> np.ndarray:
        """∂z_mean/∂pixel of each spectrum (n, 7514), in units of the continuum-normalised (not standardised)
        flux: a (n, latent_dim, 7514) float32 array. Input checks as :meth:`encode`."""
        self._check_call(batch_size)
        x = self.scaler_.transform(check_spectra(spectra, self.n_pixels))
        if not len(x):
            return np.empty((0, self.latent_dim, self.n_pixels), np.float32)
        return self._jacobian(x, batch_size) / self.scaler_.std
