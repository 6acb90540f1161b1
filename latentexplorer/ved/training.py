"""The training loop: compiled train step on device-resident data, plateau LR schedule, early stopping,
and a checkpoint after every epoch from which an interrupted run resumes exactly.

Design (why it is faster than a plain ``model.fit`` of the same network): the training arrays are
converted to tensors once and stay on the device; each step receives only the batch's row indices and
gathers inside the compiled :func:`tf.function`, so there is no per-batch host→device copy and no Python
data adapter. XLA (``jit_compile``) is used where it pays off, on a GPU; on CPU TensorFlow's native
oneDNN kernels are faster than XLA's for these convolutions, while Keras' ``fit`` enables XLA by default
whenever it can.

The checkpoint (``checkpoint.h5``, written atomically) holds the network weights, the best weights seen
so far, the Adam state, the sampler's random-generator state and a JSON record of the epoch counter,
shuffling RNG state, schedule counters, history, configuration and training-data fingerprint.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from .checkpoint import read_checkpoint, write_checkpoint
from .losses import kl_divergence, weighted_mse

__all__ = ["TrainingConfig", "Trainer", "CHECKPOINT_NAME"]

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.h5"
HISTORY_KEYS = ("loss", "mse", "kl", "val_loss", "val_mse", "val_kl", "learning_rate", "epoch_time_s")


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation settings (paper section 5; schedule constants as astroNN's ApokascEncoderDecoder).

    ``learning_rate`` is Adam's initial rate; on a validation-loss plateau of ``lr_patience`` epochs
    (improvement < ``lr_min_delta``) it is multiplied by ``lr_factor`` down to ``min_lr``; training stops
    after ``early_stopping_patience`` epochs without a new best validation loss and the best weights are
    restored. ``jit_compile`` uses XLA for the step (default: only when a GPU is visible).

    ``kl_beta`` (default 1: the paper's Eq. 1 + Eq. 2) weighs the KL term of the objective, training and
    validation alike; ``kl_warmup_epochs`` (default 0) ramps the weight of the KL term of the *training*
    loss linearly, β = kl_beta · min(1, (epoch + 1) / (kl_warmup_epochs + 1)) for epochs 0, 1, …, a
    standard remedy for latent dimensions collapsing onto the prior early in training; validation losses
    (schedule, early stopping, best weights) always use the full ``kl_beta``. ``envelope_height`` is the
    height of the Gaussian of the pixel weights (default 1, the paper's Eq. 1 weights,
    :func:`latentexplorer.psd.envelope_weights`).
    """

    epochs: int
    batch_size: int = 128
    validation_fraction: float = 0.1
    seed: int = 0
    learning_rate: float = 5e-4
    lr_factor: float = 0.5
    lr_patience: int = 6
    lr_min_delta: float = 5e-5
    min_lr: float = 1e-10
    early_stopping_patience: int = 12
    kl_warmup_epochs: int = 0
    kl_beta: float = 1.0
    envelope_height: float = 1.0
    jit_compile: bool = field(default_factory=lambda: bool(tf.config.list_physical_devices("GPU")))

    def __post_init__(self):
        if self.epochs < 1:
            raise ValueError(f"epochs must be ≥ 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {self.batch_size}")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must lie in (0, 1), got {self.validation_fraction}")
        if self.kl_warmup_epochs < 0:
            raise ValueError(f"kl_warmup_epochs must be ≥ 0, got {self.kl_warmup_epochs}")
        if not self.kl_beta > 0:
            raise ValueError(f"kl_beta must be > 0, got {self.kl_beta}")
        if not self.envelope_height >= 0:
            raise ValueError(f"envelope_height must be ≥ 0, got {self.envelope_height}")

    def kl_weight(self, epoch: int) -> float:
        """β, the weight of the KL term in the training loss of (0-based) ``epoch``."""
        return self.kl_beta * min(1.0, (epoch + 1) / (self.kl_warmup_epochs + 1))

    def resumable_with(self, other: "TrainingConfig") -> bool:
        """True when only the epoch target (or XLA use) differs: a checkpoint of ``other`` can continue."""
        a, b = asdict(self), asdict(other)
        for key in ("epochs", "jit_compile"):
            a.pop(key), b.pop(key)
        return a == b


@dataclass
class _State:
    """Everything besides tensors that a resumed run needs."""

    epoch: int = 0  # completed epochs
    history: dict = field(default_factory=lambda: {k: [] for k in HISTORY_KEYS})
    best_val_loss: float = float("inf")
    best_epoch: int = 0
    early_stopping_wait: int = 0
    plateau_best: float = float("inf")
    plateau_wait: int = 0
    stopped_early: bool = False
    shuffle_rng_state: dict | None = None
    train_time_s: float = 0.0


def _mean_over_batches(values, sizes):
    return float(np.average(np.asarray(values), weights=np.asarray(sizes)))


class Trainer:
    """Train ``network`` (from :func:`.network.build_network`) on standardised spectra and log PSDs.

    Parameters
    ----------
    network : keras.Model
        Has sub-models ``encoder`` and ``decoder``.
    config : TrainingConfig
    fingerprint : str
        SHA-256 of the training data; a checkpoint from other data is refused on resume.
    """

    def __init__(self, network: keras.Model, config: TrainingConfig, fingerprint: str):
        self.network = network
        self.encoder = network.get_layer("encoder")
        self.decoder = network.get_layer("decoder")
        self.config = config
        self.fingerprint = fingerprint
        self.variables = network.trainable_variables
        self.optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate)
        self.optimizer.build(self.variables)
        self.sampler = tf.random.Generator.from_seed(config.seed)
        self.kl_weight = tf.Variable(1.0, trainable=False, dtype=tf.float32, name="kl_weight")
        self.state = _State()
        self.best_weights = network.get_weights()
        spec = [tf.TensorSpec([None], tf.int32)]
        self._train_step = tf.function(self._train_step_fn, input_signature=spec, jit_compile=config.jit_compile)
        self._eval_step = tf.function(self._eval_step_fn, input_signature=spec, jit_compile=config.jit_compile)

    # --- compiled steps ---------------------------------------------------------------------------
    def _losses(self, y, w, z_mean, z_log_var, z, kl_weight):
        pred = self.decoder(z, training=True)
        mse = tf.reduce_mean(weighted_mse(y, pred, w))
        kl = tf.reduce_mean(kl_divergence(z_mean, z_log_var))
        return mse + kl_weight * kl + tf.add_n(self.network.losses), mse, kl

    def _train_step_fn(self, idx):
        x, y, w = (tf.gather(a, idx) for a in self._train)
        with tf.GradientTape() as tape:
            z_mean, z_log_var = self.encoder(x, training=True)
            eps = self.sampler.normal(tf.shape(z_mean))
            loss, mse, kl = self._losses(y, w, z_mean, z_log_var, z_mean + tf.exp(0.5 * z_log_var) * eps,
                                         self.kl_weight)
        self.optimizer.apply(tape.gradient(loss, self.variables), self.variables)
        return loss, mse, kl

    def _eval_step_fn(self, idx):
        # Validation decodes the latent means: early stopping should not chase sampling noise.
        x, y, w = (tf.gather(a, idx) for a in self._val)
        z_mean, z_log_var = self.encoder(x, training=False)
        return self._losses(y, w, z_mean, z_log_var, z_mean, self.config.kl_beta)

    # --- epochs -----------------------------------------------------------------------------------
    def _batches(self, n, rng=None):
        order = np.arange(n) if rng is None else rng.permutation(n)
        b = self.config.batch_size
        return [tf.constant(order[i:i + b], tf.int32) for i in range(0, n, b)]

    def _run_epoch(self, shuffle_rng, progress):
        parts, sizes = [], []
        batches = self._batches(self._n_train, shuffle_rng)
        bar = tqdm(batches, desc=f"epoch {self.state.epoch + 1}/{self.config.epochs}", unit="batch",
                   leave=False, disable=not progress)
        for idx in bar:
            parts.append([float(v) for v in self._train_step(idx)])
            sizes.append(int(idx.shape[0]))
            bar.set_postfix(loss=f"{parts[-1][0]:.4g}")
        train = [_mean_over_batches(col, sizes) for col in zip(*parts)]
        val_parts, val_sizes = [], []
        for idx in self._batches(self._n_val):
            val_parts.append([float(v) for v in self._eval_step(idx)])
            val_sizes.append(int(idx.shape[0]))
        val = [_mean_over_batches(col, val_sizes) for col in zip(*val_parts)]
        return train, val

    def _learning_rate(self) -> float:
        return float(keras.ops.convert_to_numpy(self.optimizer.learning_rate))

    def _update_schedule(self, val_loss):
        """Reduce-on-plateau and early-stopping bookkeeping after an epoch (Keras' semantics)."""
        s, c = self.state, self.config
        if val_loss < s.plateau_best - c.lr_min_delta:
            s.plateau_best, s.plateau_wait = val_loss, 0
        else:
            s.plateau_wait += 1
            if s.plateau_wait >= c.lr_patience:
                lr = max(self._learning_rate() * c.lr_factor, c.min_lr)
                self.optimizer.learning_rate = lr
                log.info("validation loss on a plateau: learning rate → %.3g", lr)
                s.plateau_wait = 0
        if val_loss < s.best_val_loss:
            s.best_val_loss, s.best_epoch, s.early_stopping_wait = val_loss, s.epoch, 0
            self.best_weights = self.network.get_weights()
        else:
            s.early_stopping_wait += 1
            s.stopped_early = s.early_stopping_wait >= c.early_stopping_patience

    def fit(self, train, val, *, checkpoint_dir=None, resume=False, progress=True) -> dict:
        """Train on ``train`` = (x, y, w) and monitor ``val`` = (x, y, w), NumPy float32 arrays.

        x are standardised spectra (n, n_pixels), y log PSDs (n, n_freq), w pixel weights (n, n_freq).
        With ``resume`` and a checkpoint in ``checkpoint_dir`` the run continues from its last completed
        epoch. Returns the history (lists per epoch, keys :data:`HISTORY_KEYS`); the network ends with
        the weights of the best validation epoch.
        """
        self._train = tuple(tf.convert_to_tensor(a) for a in train)
        self._val = tuple(tf.convert_to_tensor(a) for a in val)
        self._n_train, self._n_val = len(train[0]), len(val[0])
        shuffle_rng = np.random.default_rng(np.random.SeedSequence(self.config.seed).spawn(2)[1])
        path = None if checkpoint_dir is None else checkpoint_dir / CHECKPOINT_NAME
        if resume and path is not None and path.exists():
            self._load_checkpoint(path)
            shuffle_rng.bit_generator.state = self.state.shuffle_rng_state
            log.info("resuming from %s after epoch %d", path, self.state.epoch)
        elif resume:
            log.info("no checkpoint in %s: starting a new run", checkpoint_dir)
        s = self.state
        while s.epoch < self.config.epochs and not s.stopped_early:
            t0 = time.perf_counter()
            self.kl_weight.assign(self.config.kl_weight(s.epoch))
            (loss, mse, kl), (val_loss, val_mse, val_kl) = self._run_epoch(shuffle_rng, progress)
            if not np.isfinite(loss):
                raise FloatingPointError(f"training loss became {loss} in epoch {s.epoch + 1}")
            lr, dt = self._learning_rate(), time.perf_counter() - t0
            for key, value in zip(HISTORY_KEYS, (loss, mse, kl, val_loss, val_mse, val_kl, lr, dt)):
                s.history[key].append(value)
            s.epoch += 1
            s.train_time_s += dt
            self._update_schedule(val_loss)
            s.shuffle_rng_state = shuffle_rng.bit_generator.state
            log.info("epoch %d: loss %.5g (mse %.5g, kl %.4g), val_loss %.5g", s.epoch, loss, mse, kl, val_loss)
            if path is not None:
                self._save_checkpoint(path)
        if s.stopped_early:
            log.info("early stopping after epoch %d (best epoch %d)", s.epoch, s.best_epoch)
        self.network.set_weights(self.best_weights)
        return s.history

    # --- checkpoints ------------------------------------------------------------------------------
    def _save_checkpoint(self, path):
        path.parent.mkdir(parents=True, exist_ok=True)
        record = dict(state=asdict(self.state), config=asdict(self.config), fingerprint=self.fingerprint)
        arrays = {"weights": self.network.get_weights(), "best_weights": self.best_weights,
                  "optimizer": [np.asarray(v) for v in self.optimizer.variables]}
        write_checkpoint(path, record, arrays, self.sampler.state.numpy())

    def _load_checkpoint(self, path):
        record, arrays, sampler_state = read_checkpoint(path, ("weights", "best_weights", "optimizer"))
        saved = TrainingConfig(**record["config"])
        if record["fingerprint"] != self.fingerprint:
            raise ValueError(f"checkpoint {path} was written for other training data; "
                             "remove it or train with --restart")
        if not saved.resumable_with(self.config):
            raise ValueError(f"checkpoint {path} was written with other settings ({saved}); "
                             "remove it or train with --restart")
        if len(arrays["optimizer"]) != len(self.optimizer.variables):
            raise ValueError(f"checkpoint {path} does not match this network's optimizer state")
        self.network.set_weights(arrays["weights"])
        self.best_weights = arrays["best_weights"]
        for var, value in zip(self.optimizer.variables, arrays["optimizer"]):
            var.assign(value)
        self.sampler.state.assign(sampler_state)
        self.state = _State(**record["state"])
