"""The encode step: spectra → their latent positions (``latent.h5``), chunked and resumable.

:func:`encode_spectra_file` reads the spectra from disk; :func:`encode_mock_survey` synthesises a mock
survey's spectra in memory (the demo's survey-sized map: 30 kB a star need not touch the disk). Both write
the same file through one path (:func:`_encode_into`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .runtime.batch import Staged
from ..io.latent import LatentSet, latent_file_writer
from .runtime.outputs import locks_output
from .runtime.provenance import records_provenance

__all__ = ["load_model_cached", "encode_spectra_file", "encode_mock_survey"]


@functools.lru_cache(maxsize=2)
def _cached_model(model_dir: str, stamp: int):
    """The encoder-decoder saved in ``model_dir``, loaded once per process (``stamp``: its metadata's
    mtime, so a retrained model is reloaded).

    TensorFlow keeps its default thread count (the machine's cores) in Dask workers too; the latents do
    not depend on it (:mod:`latentexplorer.ved.inference`: bit-identical on 1 and 2 threads)."""
    from ..ved import VariationalEncoderDecoder

    return VariationalEncoderDecoder.load(model_dir)


def load_model_cached(model_dir):
    """:meth:`VariationalEncoderDecoder.load` of ``model_dir``, cached per process."""
    model_dir = Path(model_dir).resolve()
    metadata = model_dir / "metadata.json"
    return _cached_model(str(model_dir), metadata.stat().st_mtime_ns if metadata.is_file() else 0)


def _latent_part(ved, apogee_id, spectra, flag) -> dict:
    """One part of latent.h5: the latents of ``spectra`` (n, 7514); NaN rows where a spectrum is all NaN (the
    ingest's unusable spectra, :mod:`latentexplorer.spectra`)."""
    usable = np.isfinite(spectra).any(axis=1)
    mean = np.full((len(spectra), ved.latent_dim), np.nan, np.float32)
    std = mean.copy()
    if usable.all():
        mean, std = ved.encode(spectra)
    elif usable.any():
        mean[usable], std[usable] = ved.encode(spectra[usable])
    return {"APOGEE_ID": np.asarray(apogee_id).astype(str), "z_mean": mean, "z_std": std,
            "flag": np.asarray(flag, np.int32)}


def _read_chunk(model_dir: str, spectra_path: str, start: int, stop: int) -> tuple:
    """(model_dir, apogee_id, spectra, flag) of spectra ``start:stop``: the read stage of an encode chunk."""
    from ..io.spectra_files import read_normalized_spectra

    return (model_dir, *read_normalized_spectra(spectra_path, start, stop))


def _encode_read(read: tuple) -> dict:
    """The part of one encode chunk from its :func:`_read_chunk` (runs where the chunk runs)."""
    model_dir, apogee_id, spectra, flag = read
    return _latent_part(load_model_cached(model_dir), apogee_id, spectra, flag)


#: Latents of spectra ``start:stop``: ``_encode_chunk(model_dir, spectra_path, start, stop)`` → part.
_encode_chunk = Staged(_read_chunk, _encode_read)


def _encode_mock_chunk(model_dir: str, survey, start: int, stop: int) -> dict:
    """Latents of the mock survey's stars ``start:stop``, their normalised spectra synthesised here."""
    spectra = np.concatenate([block for _, block in survey.iter_spectra(start, stop, normalized=True)])
    ids = np.asarray(survey.truth["APOGEE_ID"][start:stop])
    return _latent_part(load_model_cached(model_dir), ids, spectra, np.zeros(stop - start, np.int32))


def _encode_into(model_dir: Path, output: Path, n: int, source: dict, func, job_args, chunk_size: int,
                 progress: bool, client=None, what: str = "the spectra") -> tuple[int, int]:
    """Run ``func(model_dir, *job_args, start, stop)`` over chunks of ``n`` rows into parts, then write
    ``output``; ``source`` describes the spectra for the parts' manifest. Returns (stars, unusable).

    Raises ValueError (naming ``what``, the spectra) when not one spectrum is usable: then nothing is written
    and the parts are removed."""
    from .runtime.batch import PartStore, describe_input, plan_chunks, run_chunks

    ved = load_model_cached(model_dir)
    chunks = plan_chunks(n, chunk_size)
    fingerprint = ved.training_.get("fingerprint", "")
    store = PartStore(output, {"step": "encode", "version": 1, "model": describe_input(model_dir / "model.keras"),
                               "model_fingerprint": fingerprint, **source, "n_rows": n,
                               "chunk_size": int(chunk_size)})
    jobs = [(c, (str(model_dir.resolve()), *job_args, c.start, c.stop)) for c in chunks]
    run_chunks(func, jobs, store, client=client, progress=progress, desc="encoding", unit_rows="spectra")
    parts = list(store.iter_parts(chunks))  # the latents only: ~40 bytes a star
    n_bad = sum(int(np.isnan(part["z_mean"][:, 0]).sum()) for _, part in parts)
    if n_bad == n:
        store.remove()
        raise ValueError(f"{what}: none of the {n} spectra is usable (no finite pixel; zero, negative or constant "
                         "flux; or unreadable); nothing to encode")
    with latent_file_writer(output, n, ved.latent_dim, fingerprint) as write:
        for chunk, part in parts:
            write(chunk.start, LatentSet(part["APOGEE_ID"].astype(str), part["z_mean"], part["z_std"], part["flag"]))
    store.remove()
    return n, n_bad


@locks_output(lambda a: a["output"])
@records_provenance("encode", lambda a: a["output"], lambda a: (a["model_dir"], a["spectra_path"]))
def encode_spectra_file(model_dir, spectra_path, output, chunk_size: int = 1024, progress: bool = True,
                        client=None, overwrite: bool = False) -> tuple[int, int]:
    """Encode every spectrum of ``spectra_path`` with the model in ``model_dir`` into ``output``.

    Streams in chunks of ``chunk_size`` spectra (memory bounded by the chunk size, not the survey),
    each chunk's latents kept as a part file, so an interrupted run resumes where it stopped (see
    :mod:`latentexplorer.steps.runtime.batch`); ``client`` (a dask.distributed Client) spreads the chunks over its
    workers with the same result. Unusable spectra get NaN latents; a file of which not one spectrum is
    usable is refused (ValueError), nothing written.

    ``output`` (:mod:`latentexplorer.io.latent`, written atomically once every chunk is done).

    Returns
    -------
    (stars, unusable) counts.
    """
    from .runtime.batch import describe_input
    from .runtime.outputs import check_output
    from ..io.spectra_files import count_spectra

    model_dir, spectra_path = Path(model_dir), Path(spectra_path)
    output = check_output(output, "latent", (model_dir, spectra_path), overwrite)
    n = count_spectra(spectra_path)
    if n == 0:
        raise ValueError(f"{spectra_path} holds no spectra")
    return _encode_into(model_dir, output, n, {"spectra": describe_input(spectra_path)}, _encode_chunk,
                        (str(spectra_path.resolve()),), chunk_size, progress, client, str(spectra_path))


@locks_output(lambda a: a["output"])
@records_provenance("encode", lambda a: a["output"],
                    lambda a: (a["model_dir"], *a["survey"].written_files("allstar", "truth")))
def encode_mock_survey(model_dir, survey, output, chunk_size: int = 4096, progress: bool = True,
                       overwrite: bool = False) -> tuple[int, int]:
    """Encode every star of a :class:`~latentexplorer.mock.MockSurvey` (allStar row order) into ``output``,
    synthesising its continuum-normalised spectra in memory chunk by chunk — the spectra that
    ``survey.write(spectra_format='normalized')`` writes, so a star written to disk gets the same latent
    from :func:`encode_spectra_file`. Chunked and resumable as :func:`encode_spectra_file`, in this
    process. Returns (stars, unusable) counts."""
    from .runtime.outputs import check_output
    from ..mock.survey import SPECTRA_BLOCK

    check_output(output, "latent", (model_dir,), overwrite)

    if chunk_size % SPECTRA_BLOCK:
        raise ValueError(f"chunk_size must be a multiple of {SPECTRA_BLOCK}, got {chunk_size}")
    source = {"mock_survey": {"seed": int(survey.seed), "n_stars": len(survey.truth)}}
    return _encode_into(Path(model_dir), Path(output), len(survey.truth), source, _encode_mock_chunk, (survey,),
                        chunk_size, progress, what="the mock survey")
