"""The encoder as one compiled TensorFlow function whose latents do not depend on the thread count.

:func:`encoder_function` builds ``f(spectra) → (z_mean, z_log_var)`` from a trained encoder and its pixel
scaler: standardisation, the convolutions and max-pooling in float32 (TensorFlow's own kernels, as Keras
runs them), then the dense head with a fixed reduction order:

- the first Dense layer's 60,096-term sums (one per hidden unit) are cut into :data:`HEAD_BLOCKS`
  consecutive blocks of 939 terms; one batched float32 matmul gives every block's partial sum. A
  library splits a matmul's reduction over threads only when the other axes offer too little work;
  with one independent small matmul per block (64-way parallelism before any reduction is split) it
  has no reason to, and the test suite checks that 1, 2 and 3 threads give the same bits;
- the blocks' partial sums are added in float64, one after the other in block order, and so are the
  16-term sums of the ``z_mean`` and ``z_log_var`` layers (tanh in float64 between): element-wise
  operations in a fixed order, the same on any number of threads;
- the results are rounded to float32 once, at the end.

Whereas a single float32 matmul over the 60,096 terms is split over threads differently for different
thread counts (≈ 1e-7 relative differences for a batch of one spectrum). The head costs ≈ 2 MFLOP a
spectrum against the convolutions' 63, so the fixed order is nearly free.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

__all__ = ["HEAD_BLOCKS", "encoder_function"]

#: Blocks of the first Dense layer's reduction (its input length must be a multiple: 60,096 = 64 × 939).
HEAD_BLOCKS = 64


def _fixed_order_sum(terms):
    """Σ terms, added one after the other (element-wise tensors of one shape)."""
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _dense64(x, kernel, bias):
    """x @ kernel + bias in float64 as ``len(kernel)`` element-wise products added in row order:
    x (b, m) float64, kernel (m, k) and bias (k,) float64 constants → (b, k)."""
    return _fixed_order_sum([x[:, i:i + 1] * kernel[i] for i in range(kernel.shape[0])]) + bias


def encoder_function(encoder: keras.Model, mean: np.ndarray, std: np.ndarray):
    """``f(x) → (z_mean, z_log_var)``, a ``tf.function`` on cleaned, unstandardised spectra.

    Parameters
    ----------
    encoder : keras.Model
        The network's encoder (:func:`latentexplorer.ved.network.build_encoder`): convolutions up to a
        ``Flatten``, then Dense(16, tanh), ``z_mean`` and ``z_log_var``.
    mean, std : (n_pixels,) float32 arrays
        The pixel scaler's mean and standard deviation.

    Returns
    -------
    tf.function
        (b, n_pixels) float32 spectra (no NaN: see :func:`latentexplorer.ved.scaling.check_spectra`) →
        z_mean, z_log_var, each (b, latent_dim) float32; one trace for any batch size.
    """
    flatten = next(layer for layer in encoder.layers if isinstance(layer, keras.layers.Flatten))
    features = keras.Model(encoder.inputs, flatten.output)
    (w1, b1), (wm, bm), (wv, bv) = [layer.get_weights() for layer in encoder.layers
                                    if isinstance(layer, keras.layers.Dense)]
    n_features, n_hidden = w1.shape
    if n_features % HEAD_BLOCKS:
        raise ValueError(f"the encoder's {n_features} features do not split into {HEAD_BLOCKS} blocks")
    block = n_features // HEAD_BLOCKS
    w1_blocks = tf.constant(np.asarray(w1, np.float32).reshape(HEAD_BLOCKS, block, n_hidden))
    b1, wm, bm, wv, bv = (tf.constant(np.asarray(a, np.float64)) for a in (b1, wm, bm, wv, bv))
    mean, std = tf.constant(np.asarray(mean, np.float32)), tf.constant(np.asarray(std, np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, mean.shape[0]], tf.float32)])
    def encode(x):
        f = features((x - mean) / std, training=False)                           # (b, n_features)
        blocks = tf.reshape(f, [-1, HEAD_BLOCKS, block])                          # (b, blocks, block)
        partial = tf.cast(tf.einsum("bkj,kjh->bkh", blocks, w1_blocks), tf.float64)  # (b, blocks, hidden)
        hidden = tf.tanh(_fixed_order_sum(tf.unstack(partial, axis=1)) + b1)     # (b, hidden)
        return tf.cast(_dense64(hidden, wm, bm), tf.float32), tf.cast(_dense64(hidden, wv, bv), tf.float32)

    return encode
