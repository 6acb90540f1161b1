"""The encode step: spectra on disk → their latent positions (``latent.h5``), chunked and resumable."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ..io.latent import LatentSet, latent_file_writer

__all__ = ["load_model_cached", "encode_spectra_file"]


@functools.lru_cache(maxsize=2)
def _cached_model(model_dir: str, stamp: int):
    """The encoder-decoder saved in ``model_dir``, loaded once per process (``stamp``: its metadata's
    mtime, so a retrained model is reloaded).

    TensorFlow keeps its default thread count (the machine's cores) in Dask workers too: oneDNN splits
    a convolution's work by thread count, which can change a latent's last bit, so a worker encodes
    exactly as a single process on the same machine does."""
    from ..ved import VariationalEncoderDecoder

    return VariationalEncoderDecoder.load(model_dir)


def load_model_cached(model_dir):
    """:meth:`VariationalEncoderDecoder.load` of ``model_dir``, cached per process."""
    model_dir = Path(model_dir).resolve()
    metadata = model_dir / "metadata.json"
    return _cached_model(str(model_dir), metadata.stat().st_mtime_ns if metadata.is_file() else 0)


def _encode_chunk(model_dir: str, spectra_path: str, start: int, stop: int) -> dict:
    """Latents of spectra ``start:stop``: the part of one encode chunk (runs where the chunk runs)."""
    from ..spectra import read_normalized_spectra

    ved = load_model_cached(model_dir)
    apogee_id, spectra, flag = read_normalized_spectra(spectra_path, start, stop)
    usable = np.isfinite(spectra).any(axis=1)
    mean = np.full((len(spectra), ved.latent_dim), np.nan, np.float32)
    std = mean.copy()
    if usable.any():
        mean[usable], std[usable] = ved.encode(spectra[usable])
    return {"APOGEE_ID": apogee_id.astype(str), "z_mean": mean, "z_std": std, "flag": flag.astype(np.int32)}


def encode_spectra_file(model_dir, spectra_path, output, chunk_size: int = 1024, progress: bool = True,
                        client=None) -> tuple[int, int]:
    """Encode every spectrum of ``spectra_path`` with the model in ``model_dir`` into ``output``.

    Streams in chunks of ``chunk_size`` spectra (memory bounded by the chunk size, not the survey),
    each chunk's latents kept as a part file, so an interrupted run resumes where it stopped (see
    :mod:`latentexplorer.batch`); ``client`` (a dask.distributed Client) spreads the chunks over its
    workers with the same result. Unusable spectra get NaN latents.

    ``output`` (:mod:`latentexplorer.io.latent`, written atomically once every chunk is done).

    Returns
    -------
    (stars, unusable) counts.
    """
    from ..batch import PartStore, describe_input, plan_chunks, run_chunks
    from ..spectra import count_spectra

    model_dir, spectra_path, output = Path(model_dir), Path(spectra_path), Path(output)
    ved = load_model_cached(model_dir)
    n = count_spectra(spectra_path)
    if n == 0:
        raise ValueError(f"{spectra_path} holds no spectra")
    chunks = plan_chunks(n, chunk_size)
    fingerprint = ved.training_.get("fingerprint", "")
    store = PartStore(output, {"step": "encode", "version": 1, "model": describe_input(model_dir / "model.keras"),
                               "model_fingerprint": fingerprint, "spectra": describe_input(spectra_path),
                               "n_rows": n, "chunk_size": int(chunk_size)})
    jobs = [(c, (str(model_dir.resolve()), str(spectra_path.resolve()), c.start, c.stop)) for c in chunks]
    run_chunks(_encode_chunk, jobs, store, client=client, progress=progress, desc="encoding", unit_rows="spectra")
    n_bad = 0
    with latent_file_writer(output, n, ved.latent_dim, fingerprint) as write:
        for chunk, part in store.iter_parts(chunks):
            write(chunk.start, LatentSet(part["APOGEE_ID"].astype(str), part["z_mean"], part["z_std"], part["flag"]))
            n_bad += int(np.isnan(part["z_mean"][:, 0]).sum())
    store.remove()
    return n, n_bad
