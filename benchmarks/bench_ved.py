"""Benchmark of latentexplorer.ved: training pairs/s against a plain ``keras.Model.fit`` of the same
network and loss, encoding spectra/s against plain ``keras.Model.predict`` and a plain ``tf.function`` of
the same encoder, peak RSS of `latentexplorer encode` streaming spectra from disk,
and the Jacobian of one star. Device-agnostic: runs on CPU or GPU and prints which.

    python -m benchmarks.bench_ved [--pairs 768 --epochs 3 --disk-spectra 100000]

Timings are medians over epochs after the first (which includes tracing/compilation) or over repeats.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from latentexplorer.io.apogee_spectra import NormalizedSpectraWriter
from latentexplorer.psd import envelope_weights
from latentexplorer.ved import VariationalEncoderDecoder, kl_divergence, weighted_mse
from latentexplorer.ved.model import _device_name
from latentexplorer.ved.network import build_network
from latentexplorer.ved.scaling import PixelScaler

N_PIX = 7514


def synthetic_pairs(n, seed=0):
    """Pairs whose PSD envelope and a spectral feature both follow ν_max (so the loss can fall)."""
    rng = np.random.default_rng(seed)
    numax = rng.uniform(10.0, 200.0, n)
    line = np.exp(-0.5 * ((np.arange(N_PIX) - 3000) / 40.0) ** 2)
    s = np.log(numax / 50.0)[:, None]
    spectra = (1 - 0.3 * line * (1 + 0.5 * s) + 0.01 * rng.standard_normal((n, N_PIX))).astype(np.float32)
    log_psd = (4 * np.log(envelope_weights(numax)) + 0.1 * rng.standard_normal((n, 2092))).astype(np.float32)
    return spectra, log_psd, numax


class PlainVED(keras.Model):
    """The same network and loss (Eq. 1 + Eq. 2 + L2) trained the textbook way: ``model.fit`` with a
    custom ``train_step`` (as the Keras VAE example and astroNN do), data fed by Keras' array adapter."""

    def __init__(self, network, **kw):
        super().__init__(**kw)
        self.encoder, self.decoder = network.get_layer("encoder"), network.get_layer("decoder")
        self.seed = keras.random.SeedGenerator(0)
        self.tracker = keras.metrics.Mean(name="total_loss")

    @property
    def metrics(self):
        return [self.tracker]

    def _loss(self, x, y, w, training):
        z_mean, z_log_var = self.encoder(x, training=training)
        z = z_mean
        if training:
            z = z_mean + keras.ops.exp(0.5 * z_log_var) * keras.random.normal(keras.ops.shape(z_mean), seed=self.seed)
        pred = self.decoder(z, training=training)
        return (keras.ops.mean(weighted_mse(y, pred, w)) + keras.ops.mean(kl_divergence(z_mean, z_log_var))
                + keras.ops.sum(self.losses))

    def train_step(self, data):
        x, (y, w) = data
        with tf.GradientTape() as tape:
            loss = self._loss(x, y, w, True)
        self.optimizer.apply(tape.gradient(loss, self.trainable_variables), self.trainable_variables)
        self.tracker.update_state(loss, sample_weight=keras.ops.shape(x)[0])
        return {"total_loss": self.tracker.result()}

    def test_step(self, data):
        x, (y, w) = data
        self.tracker.update_state(self._loss(x, y, w, False), sample_weight=keras.ops.shape(x)[0])
        return {"total_loss": self.tracker.result()}


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.t0)


def bench_plain_fit(spectra, log_psd, numax, epochs, jit_compile):
    n_val = max(1, len(spectra) // 10)
    x = PixelScaler.fit(spectra[n_val:]).transform(spectra)
    w = envelope_weights(numax)
    model = PlainVED(build_network(N_PIX, 2092, 5, seed=0))
    model.compile(optimizer=keras.optimizers.Adam(5e-4), jit_compile=jit_compile)
    timer = EpochTimer()
    hist = model.fit(x[n_val:], (log_psd[n_val:], w[n_val:]), batch_size=128, epochs=epochs, verbose=0,
                     validation_data=(x[:n_val], (log_psd[:n_val], w[:n_val])), callbacks=[timer])
    return (len(x) - n_val) / np.median(timer.times[1:]), hist.history["total_loss"][-1], model


def bench_ved_fit(spectra, log_psd, numax, epochs):
    ved = VariationalEncoderDecoder().fit(spectra, log_psd, numax, epochs=epochs, batch_size=128,
                                          validation_fraction=0.1, seed=0, progress=False)
    rate = ved.training_["n_train"] / np.median(ved.history_["epoch_time_s"][1:])
    return rate, ved.history_["loss"][-1], ved


def matmul_gflops():
    a = tf.random.normal((2048, 2048))
    f = tf.function(tf.linalg.matmul)
    f(a, a).numpy()
    t0 = time.perf_counter()
    for _ in range(5):
        f(a, a).numpy()
    return 5 * 2 * 2048**3 / (time.perf_counter() - t0) / 1e9


def bench_encode(ved, n, repeats=5, batch=512):
    """Spectra/s of ``ved.encode`` (from continuum-normalised spectra) beside two peers on the same
    encoder fed standardised spectra: plain ``keras.Model.predict`` and the encoder called as a plain
    ``tf.function`` on ``batch``-spectrum batches. Rounds interleave the three (a shared machine's load
    hits them alike); medians over rounds after a warm-up."""
    spectra = synthetic_pairs(n, seed=5)[0]
    standardised = ved.scaler_.transform(spectra)
    encoder = ved.network_.get_layer("encoder")
    plain = tf.function(lambda x: encoder(x, training=False), input_signature=[tf.TensorSpec([None, N_PIX])])
    runs = {
        "VariationalEncoderDecoder.encode": lambda: ved.encode(spectra),
        "plain keras.Model.predict (batch 512)": lambda: encoder.predict(standardised, batch_size=batch, verbose=0),
        f"plain tf.function, {batch}-spectrum batches": lambda: [
            [np.asarray(t) for t in plain(tf.constant(standardised[i:i + batch]))] for i in range(0, n, batch)],
    }
    times = {label: [] for label in runs}
    for round_ in range(repeats + 1):
        for label, run in runs.items():
            t0 = time.perf_counter()
            run()
            if round_:
                times[label].append(time.perf_counter() - t0)
    return {label: n / np.median(t) for label, t in times.items()}


def bench_jacobian(ved, repeats=5):
    x = synthetic_pairs(1, seed=6)[0]
    t0 = time.perf_counter()
    ved.jacobian(x)
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ved.jacobian(x)
        times.append(time.perf_counter() - t0)
    return first, float(np.median(times))


#: `latentexplorer ARGS` that prints its own peak RSS (VmHWM, Linux) last on stderr. The child's
#: ru_maxrss would count the pages of this (large, forked) benchmark process before the exec.
REPORT_PEAK = ("import atexit, sys; from latentexplorer.cli import main; "
               "atexit.register(lambda: print(next(line for line in open('/proc/self/status') "
               "if line.startswith('VmHWM')), file=sys.stderr)); sys.exit(main(sys.argv[1:]))")


def bench_disk_encode(ved, n, tmp: Path, chunk=1024):
    """Write n random normalised spectra to HDF5, run `latentexplorer encode` in a child process."""
    path = tmp / "spectra.h5"
    rng = np.random.default_rng(7)
    with NormalizedSpectraWriter(path, chunk_rows=256) as writer:
        for i in range(0, n, chunk):
            m = min(chunk, n - i)
            writer.append([f"2M{j:09d}" for j in range(i, i + m)],
                          (1 + 0.02 * rng.standard_normal((m, N_PIX))).astype(np.float32))
    model = ved.save(tmp / "model")
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", REPORT_PEAK, "encode", str(model), str(path),
                           "-o", str(tmp / "latent.h5"), "--chunk-size", str(chunk)], check=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    peak_gb = int(done.stderr.rsplit("VmHWM:", 1)[1].split()[0]) / 1024**2  # kB
    size_gb = path.stat().st_size / 1e9
    return n / dt, peak_gb, size_gb


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--pairs", type=int, default=768, help="training pairs (default 768)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per training run, ≥ 2 (default 3)")
    p.add_argument("--encode", type=int, default=4096, help="spectra for the in-memory encode rates")
    p.add_argument("--disk-spectra", type=int, default=100_000, help="spectra for the from-disk encode (0: skip)")
    args = p.parse_args(argv)
    print(f"device: {_device_name()}; {os.cpu_count()} CPU cores; TensorFlow {tf.__version__}, Keras {keras.__version__}")
    print(f"float32 2048² matmul: {matmul_gflops():.1f} GFLOP/s (context: the encoder needs ≈ 0.065 GFLOP/spectrum)")
    spectra, log_psd, numax = synthetic_pairs(args.pairs)

    # Baselines first: ved.fit enables op determinism process-wide, which turns off Keras' auto-XLA.
    rows = []
    for label, jit in (("plain model.fit (default compile, jit_compile='auto')", "auto"),
                       ("plain model.fit (jit_compile=False)", False)):
        rate, loss, _ = bench_plain_fit(spectra, log_psd, numax, args.epochs, jit)
        rows.append((label, rate, loss))
    rate, loss, ved = bench_ved_fit(spectra, log_psd, numax, args.epochs)
    rows.append(("VariationalEncoderDecoder.fit", rate, loss))
    print(f"\ntraining, {args.pairs} pairs (90 % trained), batch 128, {args.epochs} epochs "
          "(median epoch after the first):")
    for label, r, loss_ in rows:
        print(f"  {label:56s} {r:8.1f} pairs/s   final loss {loss_:.4f}   ratio ved/this {rate / r:.2f}×")

    rates = bench_encode(ved, args.encode)
    ours = rates["VariationalEncoderDecoder.encode"]
    print(f"\nencoding in memory, {args.encode} spectra (median of 5 interleaved rounds):")
    for label, r in rates.items():
        print(f"  {label:56s} {r:8.0f} spectra/s ({r * 0.065:5.1f} GFLOP/s)   ratio encode/this {ours / r:.2f}×")
    first, warm = bench_jacobian(ved)
    print(f"Jacobian of one star (5 × 7514): {warm * 1e3:.1f} ms warm (median of 5), {first:.2f} s first call (tracing)")
    if args.disk_spectra:
        with tempfile.TemporaryDirectory() as tmp:
            rate, peak, size = bench_disk_encode(ved, args.disk_spectra, Path(tmp))
        print(f"encode CLI from disk: {args.disk_spectra} spectra ({size:.2f} GB HDF5): {rate:.0f} spectra/s "
              f"end to end, peak RSS {peak:.2f} GB")


if __name__ == "__main__":
    main()
