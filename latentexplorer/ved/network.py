"""The encoder and decoder networks (paper section 3.1 and Fig. 1), as plain Keras 3 functional models.

Encoder, on a standardised spectrum of ``n_pixels`` pixels (one channel)::

    Conv1D(32, 8, stride 2, ReLU) → Conv1D(64, 8, stride 2, ReLU) → MaxPool(2) → Flatten
    → Dense(16, tanh) → Dense(latent_dim) "z_mean", Dense(latent_dim) "z_log_var"

Decoder, on a latent vector::

    Dense(16 m, ReLU) → Reshape(m, 16) → Conv1DTranspose(16, 32, stride 2, ReLU) ×2
    → Conv1DTranspose(1, 32) → Flatten → crop to n_frequencies

with m = ⌈n_frequencies / 4⌉, so the two stride-2 transposed convolutions give 4 m ≥ n_frequencies
pixels and the last ``4 m − n_frequencies`` pixels (high-frequency end) are cropped. On the 2092-pixel
grid m = 523 and nothing is cropped. All convolutions use ``"same"`` padding (as astroNN's
``ApokascEncoderDecoder``); every kernel has an L2 penalty. The sampler z = μ + σ ε is not a layer: it is
applied in the training step (and by ``encode(sample=True)``), so the saved model holds no custom code.
"""

from __future__ import annotations

import math

import keras
from keras import layers

__all__ = ["build_encoder", "build_decoder", "build_network", "model_bytes"]

ENCODER_FILTERS = (32, 64)
ENCODER_KERNEL = 8
DECODER_FILTERS = 16
DECODER_KERNEL = 32
HIDDEN_UNITS = 16


def _kw(l2: float, seed: int | None, index: int) -> dict:
    """Shared layer options: L2 on the kernel, Glorot-uniform initialiser seeded per layer."""
    init_seed = None if seed is None else seed + index
    return dict(
        kernel_regularizer=keras.regularizers.L2(l2),
        kernel_initializer=keras.initializers.GlorotUniform(seed=init_seed),
    )


def build_encoder(n_pixels: int, latent_dim: int, *, l2: float = 1e-5, seed: int | None = None) -> keras.Model:
    """Encoder: (batch, n_pixels) standardised spectra → [z_mean, z_log_var], each (batch, latent_dim)."""
    x_in = keras.Input((n_pixels,), name="spectrum")
    x = layers.Reshape((n_pixels, 1))(x_in)
    for i, filters in enumerate(ENCODER_FILTERS):
        x = layers.Conv1D(filters, ENCODER_KERNEL, strides=2, padding="same", activation="relu",
                          **_kw(l2, seed, i))(x)
    x = layers.MaxPooling1D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(HIDDEN_UNITS, activation="tanh", **_kw(l2, seed, 2))(x)
    z_mean = layers.Dense(latent_dim, name="z_mean", **_kw(l2, seed, 3))(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var", **_kw(l2, seed, 4))(x)
    return keras.Model(x_in, [z_mean, z_log_var], name="encoder")


def build_decoder(n_frequencies: int, latent_dim: int, *, l2: float = 1e-5, seed: int | None = None) -> keras.Model:
    """Decoder: (batch, latent_dim) latent vectors → (batch, n_frequencies) natural-log PSD."""
    m = math.ceil(n_frequencies / 4)
    z_in = keras.Input((latent_dim,), name="z")
    y = layers.Dense(m * DECODER_FILTERS, activation="relu", **_kw(l2, seed, 10))(z_in)
    y = layers.Reshape((m, DECODER_FILTERS))(y)
    for i in range(2):
        y = layers.Conv1DTranspose(DECODER_FILTERS, DECODER_KERNEL, strides=2, padding="same", activation="relu",
                                   **_kw(l2, seed, 11 + i))(y)
    y = layers.Conv1DTranspose(1, DECODER_KERNEL, padding="same", **_kw(l2, seed, 13))(y)
    y = layers.Cropping1D((0, 4 * m - n_frequencies))(y)
    y = layers.Flatten(name="log_psd")(y)
    return keras.Model(z_in, y, name="decoder")


def build_network(n_pixels: int, n_frequencies: int, latent_dim: int, *, l2: float = 1e-5,
                  seed: int | None = None) -> keras.Model:
    """Encoder and decoder joined through the latent *means*: spectra → [z_mean, z_log_var, log PSD].

    This is the object saved to the ``.keras`` file; its sub-models are ``get_layer("encoder")`` and
    ``get_layer("decoder")``. Training samples z around z_mean itself (see :mod:`.training`).
    """
    encoder = build_encoder(n_pixels, latent_dim, l2=l2, seed=seed)
    decoder = build_decoder(n_frequencies, latent_dim, l2=l2, seed=seed)
    x_in = keras.Input((n_pixels,), name="spectrum")
    z_mean, z_log_var = encoder(x_in)
    return keras.Model(x_in, [z_mean, z_log_var, decoder(z_mean)], name="variational_encoder_decoder")


def model_bytes(n_pixels: int, n_frequencies: int, latent_dim: int) -> int:
    """Bytes of the float32 weights of :func:`build_network` for these sizes (what one copy of the model takes
    on disk, without the file's overhead)."""
    return 4 * build_network(n_pixels, n_frequencies, latent_dim).count_params()
