"""`InferenceEngine`: a saved encoder-decoder run in NumPy — no TensorFlow, no Keras.

Dashboard kernels only decode latent vectors, encode spectra and take Jacobians; importing TensorFlow
for that costs them 8–11 s. :class:`InferenceEngine` loads the same model directory as
:meth:`latentexplorer.ved.VariationalEncoderDecoder.load` (``model.keras``, ``pixel_scaler.npz``,
``metadata.json``, ``training_record.json``) and evaluates the network as the NumPy layers of
:mod:`latentexplorer.ved.numpy_network`, behind the contract of
:class:`~latentexplorer.ved.runtime.EncoderDecoderRuntime` (``encode``, ``decode``, ``reconstruct``,
``jacobian``, with the attributes ``frequency``, ``latent_dim``, ``n_pixels``, ``history_``, ``training_``,
``record_``, ``scaler_``), so widgets take either runtime. It cannot train or save. Results equal the Keras
class's within a few 1e-7 (encode, decode) and a few 1e-7 of the largest entry (jacobian).

Threads: a call splits its spectra (or latent vectors) into chunks of at most :data:`WORK_BYTES` of
intermediates and runs them on :data:`THREADS` worker threads (NumPy releases the GIL), with OpenBLAS held
to one thread meanwhile through threadpoolctl: OpenBLAS's threads spin while they wait, and on cores that
other processes keep busy (several dashboard kernels) they made calls several times slower. Results do not
depend on the chunking.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .keras_file import read_keras_file
from .numpy_network import backward, forward, read_network, work_bytes
from .persistence import MODEL_FILE, read_model_files
from .runtime import EncoderDecoderRuntime
from .scaling import PixelScaler

__all__ = ["InferenceEngine"]

#: Upper bound, in bytes, of the largest intermediate array of one chunk of spectra or latent vectors.
WORK_BYTES = 32 * 2**20
#: Worker threads of one call (chunks of spectra in parallel); None: the CPUs this process may use, at most 4.
THREADS: int | None = None


def _chunks(n: int, batch_size: int, per_item_bytes: int) -> list[slice]:
    """Rows 0 … n − 1 in slices of at most ``batch_size`` rows and :data:`WORK_BYTES` of intermediates."""
    step = max(1, min(int(batch_size), WORK_BYTES // max(per_item_bytes, 1)))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


_blas = None  # threadpoolctl's controller; False where threadpoolctl is missing
_blas_lock = threading.Lock()


def _threads() -> int:
    if THREADS is not None:
        return max(1, int(THREADS))
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 4))


def _run(fn, chunks) -> None:
    """``fn(chunk)`` for every chunk, spread over :data:`THREADS` worker threads, with BLAS on one thread.

    NumPy releases the GIL in its matrix products and element-wise loops, so chunks run in parallel;
    OpenBLAS's own threads are held at one meanwhile (threadpoolctl), since they spin while they wait and,
    on cores busy with other processes, make a call several times slower. One engine call runs at a time
    in a process (the limit is process-wide).
    """
    global _blas
    with _blas_lock:
        if _blas is None:
            try:
                from threadpoolctl import ThreadpoolController

                _blas = ThreadpoolController()
            except Exception:  # noqa: BLE001 - missing or failing threadpoolctl: leave BLAS as it is
                _blas = False
        with _blas.limit(limits=1, user_api="blas") if _blas else contextlib.nullcontext():
            workers = min(_threads(), len(chunks))
            if workers <= 1:
                for chunk in chunks:
                    fn(chunk)
            else:
                with ThreadPoolExecutor(workers, thread_name_prefix="latentexplorer-engine") as pool:
                    for _ in pool.map(fn, chunks):
                        pass


# --- the engine ------------------------------------------------------------------------------------------
class InferenceEngine(EncoderDecoderRuntime):
    """A saved :class:`~latentexplorer.ved.VariationalEncoderDecoder` evaluated in NumPy (no TensorFlow).

    Build it with :meth:`load`; its inference is :class:`~latentexplorer.ved.runtime.EncoderDecoderRuntime`'s.

    Attributes
    ----------
    frequency : (k,) float64 array, μHz, the decoder's grid
    latent_dim : int
    n_pixels : int, 7514
    scaler_ : :class:`~latentexplorer.ved.scaling.PixelScaler` (``mean``, ``std``, ``transform``)
    history_, training_ : dict, from ``metadata.json``
    record_ : :class:`~latentexplorer.ved.record.TrainingRecord` or None
    metadata_ : dict, the whole of ``metadata.json``
    directory : Path

    Examples
    --------
    >>> engine = InferenceEngine.load("workspace/model")          # doctest: +SKIP
    >>> z, z_std = engine.encode(spectra)                          # doctest: +SKIP
    >>> engine.decode(z[0])[0].plot()                              # doctest: +SKIP
    """

    def __init__(self, *, directory, metadata, scaler, network, record):
        self.directory = Path(directory)
        self.metadata_ = metadata
        self.frequency = np.asarray(metadata["frequency"], dtype=float)
        self.latent_dim = int(metadata["latent_dim"])
        self.n_pixels = int(metadata["n_pixels"])
        self.history_ = metadata.get("history", {})
        self.training_ = metadata.get("training", {})
        self.record_ = record
        self.scaler_ = scaler
        self._network = network

    def __repr__(self):
        return (f"InferenceEngine(latent_dim={self.latent_dim}, {self.frequency.size} PSD pixels, "
                f"trained on {self.training_.get('n_train', '?')} pairs, from {self.directory})")

    @classmethod
    def load(cls, directory, frequency=None) -> InferenceEngine:
        """Read a model directory written by :meth:`VariationalEncoderDecoder.save`.

        Parameters
        ----------
        directory : path
        frequency : (k,) array, μHz, optional
            If given, the stored grid must equal it (relative tolerance 1e-6).

        Raises
        ------
        FileNotFoundError
            The directory or one of its files is missing.
        ValueError
            A damaged or foreign file, a newer format, or files that disagree (pixel count, latent
            dimension, frequency grid);
            :class:`~latentexplorer.ved.numpy_network.UnsupportedModelError` for a layer the engine lacks.
            The message names the file.
        """
        files = read_model_files(directory, frequency)
        directory, metadata = files.directory, files.metadata
        latent_dim, n_pixels, grid = metadata["latent_dim"], metadata["n_pixels"], files.frequency
        model_path = directory / MODEL_FILE
        model_file = read_keras_file(model_path)
        try:
            network = read_network(model_file)
        except (KeyError, TypeError, IndexError) as err:
            raise ValueError(f"{model_path}: not the network of latentexplorer.ved.network ({err!r})") from None
        except ValueError as err:
            raise type(err)(f"{model_path}: {err}") from None
        checks = {
            "encoder input pixels": (network.encoder[0].in_shape, (n_pixels,)),
            "latent dimensions": (network.heads[0].out_shape, (latent_dim,)),
            "decoder input dimensions": (network.decoder[0].in_shape, (latent_dim,)),
            "decoder output pixels": (network.decoder[-1].out_shape, (grid.size,)),
        }
        for what, (found, expected) in checks.items():
            if found != expected:
                raise ValueError(f"{directory}: {what} of {MODEL_FILE} are {found} but the metadata says {expected}")
        return cls(directory=directory, metadata=metadata, scaler=PixelScaler(files.mean, files.std),
                   network=network, record=files.record)

    # --- the runtime's kernels ----------------------------------------------------------------------------
    def _encode(self, spectra, batch_size):
        x = self.scaler_.transform(spectra)
        z_mean = np.empty((len(x), self.latent_dim), np.float32)
        z_log_var = np.empty_like(z_mean)
        mean_head, log_var_head = self._network.heads

        def encode_rows(rows):
            hidden = forward(self._network.encoder, x[rows])
            z_mean[rows] = mean_head.forward(hidden, None)
            z_log_var[rows] = log_var_head.forward(hidden, None)

        _run(encode_rows, _chunks(len(x), batch_size, work_bytes(self._network.encoder)))
        return z_mean, z_log_var

    def _decode(self, z, batch_size):
        out = np.empty((len(z), self.frequency.size), np.float32)

        def decode_rows(rows):
            y = forward(self._network.decoder, z[rows])
            out[rows] = y.reshape(len(y), -1)

        _run(decode_rows, _chunks(len(z), batch_size, work_bytes(self._network.decoder)))
        return out

    def _jacobian(self, x, batch_size):
        """Reverse mode: the cotangents of all ``latent_dim`` means go back together, as one
        (spectra, latent_dim, …) float32 array, through the z_mean head and the encoder's trunk."""
        out = np.empty((len(x), self.latent_dim, self.n_pixels), np.float32)
        z_mean = self._network.heads[0]
        seed = np.eye(self.latent_dim)[None]  # (1, L, L): one cotangent per latent mean, all sent back at once

        def jacobian_rows(rows):
            cache: list = []
            hidden = forward(self._network.encoder, x[rows], cache)
            head: list = []
            z_mean.forward(hidden, head)
            g = z_mean.backward(np.broadcast_to(seed, (len(hidden),) + seed.shape[1:]), head[0])
            g = backward(self._network.encoder, g, cache)
            out[rows] = g.reshape(g.shape[:2] + (-1,))

        per_spectrum = work_bytes(self._network.encoder) * (self.latent_dim + 1) * 2
        _run(jacobian_rows, _chunks(len(x), batch_size, per_spectrum))
        return out
