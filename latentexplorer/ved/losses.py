"""The two terms of the training objective (paper section 2.1).

Both take and return per-star values so the caller decides how to average over a batch; they are
written with ``keras.ops`` and work on NumPy arrays as well as on tensors inside a compiled step.
"""

from __future__ import annotations

from keras import ops

__all__ = ["weighted_mse", "kl_divergence"]


def weighted_mse(y_true, y_pred, weights):
    """Pixel-weighted squared error of each star (paper Eq. 1), summed over the output pixels.

    J_MSE = (1/N) Σ_i w_i (ŷ_i − y_i)². As the published implementation evaluates it (astroNN's
    ``mean_squared_reconstruction_error``), the sum runs over the output pixels of a star and the 1/N
    mean over the N stars of a batch (the caller's batch average). Averaging over the 2092 pixels instead
    would make the KL term (Eq. 2) 2092 times heavier relative to the reconstruction and push the latent
    space towards the prior before it learns ν_max.

    Parameters
    ----------
    y_true, y_pred : (n, N) arrays
        True and predicted natural-log PSD.
    weights : (n, N) array
        Pixel weights (ones for an unweighted MSE; :func:`latentexplorer.psd.envelope_weights` in training).

    Returns
    -------
    (n,) tensor, one loss per star.
    """
    return ops.sum(weights * ops.square(y_pred - y_true), axis=-1)


def kl_divergence(z_mean, z_log_var):
    """Kullback–Leibler divergence of N(μ, σ²) from N(0, 1), summed over latent dimensions (paper Eq. 2).

    J_KL = ½ [ −Σ_i (log σ_i² + 1) + Σ_i exp(log σ_i²) + Σ_i μ_i² ].

    Parameters
    ----------
    z_mean, z_log_var : (n, latent_dim) arrays
        Encoder means μ and log variances log σ².

    Returns
    -------
    (n,) tensor, one divergence per star.
    """
    return 0.5 * ops.sum(ops.exp(z_log_var) + ops.square(z_mean) - z_log_var - 1.0, axis=-1)
