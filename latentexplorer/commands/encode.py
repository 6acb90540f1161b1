"""Encode spectra into the latent space of a trained encoder-decoder, streaming in chunks.

SPECTRA is anything `latentexplorer.spectra.iter_normalized_spectra` reads: a stacked spectra HDF5
file, a directory of apStar/aspcapStar-like FITS files, or an HDF5 file with a normalised (N, 7514)
'spectra' dataset and 'APOGEE_ID' (e.g. pairs.h5). Memory stays bounded by --chunk-size.

The output HDF5 file (written atomically) holds APOGEE_ID (N,) str, z_mean and z_std (N, latent_dim)
float32 and flag (N,) int32, the ingest's SpectrumFlag bits. Unusable spectra (flag UNREADABLE or
NO_DATA: no finite pixel) get NaN latents and the run goes on; the summary says how many.

Example:
  latentexplorer encode WORKSPACE/model WORKSPACE/survey/spectra.h5 -o WORKSPACE/latent.h5
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import h5py
import numpy as np
from tqdm.auto import tqdm

from ..io.atomic import atomic_output

HELP = "encode spectra into the latent space of a trained model (z_mean, z_std per star)"

log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("model", type=Path, help="model directory (from `latentexplorer train`)")
    parser.add_argument("spectra", type=Path, help="spectra HDF5 file or directory of FITS spectra")
    parser.add_argument("-o", "--output", type=Path, required=True, help="latent HDF5 file to write")
    parser.add_argument("--chunk-size", type=int, default=1024, help="spectra read per chunk (default 1024)")


def _append(dataset, values):
    start = dataset.shape[0]
    dataset.resize(start + len(values), axis=0)
    dataset[start:] = values


def encode_file(ved, spectra_path: Path, output: Path, chunk_size: int, progress: bool = True) -> tuple[int, int]:
    """Stream ``spectra_path`` through ``ved.encode`` into ``output``; returns (stars, unusable stars)."""
    from ..spectra import iter_normalized_spectra

    k = ved.latent_dim
    n_total = n_bad = 0
    with atomic_output(output, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        chunks = dict(chunks=True, maxshape=(None,))
        ids = f.create_dataset("APOGEE_ID", (0,), dtype=h5py.string_dtype("utf-8"), **chunks)
        z_mean = f.create_dataset("z_mean", (0, k), dtype="f4", chunks=True, maxshape=(None, k))
        z_std = f.create_dataset("z_std", (0, k), dtype="f4", chunks=True, maxshape=(None, k))
        flags = f.create_dataset("flag", (0,), dtype="i4", **chunks)
        f.attrs["model_fingerprint"] = ved.training_.get("fingerprint", "")
        f.attrs["latent_dim"] = k
        bar = tqdm(unit="spectra", desc="encoding", disable=not progress)
        for apogee_id, spectra, flag in iter_normalized_spectra(spectra_path, chunk_size):
            usable = np.isfinite(spectra).any(axis=1)
            mean = np.full((len(spectra), k), np.nan, np.float32)
            std = mean.copy()
            if usable.any():
                mean[usable], std[usable] = ved.encode(spectra[usable])
            for dataset, values in ((ids, apogee_id.astype(object)), (z_mean, mean), (z_std, std), (flags, flag)):
                _append(dataset, values)
            n_total += len(spectra)
            n_bad += int((~usable).sum())
            bar.update(len(spectra))
        bar.close()
    return n_total, n_bad


def run(args) -> int:
    from ..ved import VariationalEncoderDecoder

    if args.chunk_size < 1:
        raise ValueError(f"--chunk-size must be positive, got {args.chunk_size}")
    ved = VariationalEncoderDecoder.load(args.model)
    t0 = time.perf_counter()
    n, bad = encode_file(ved, args.spectra, args.output, args.chunk_size)
    dt = time.perf_counter() - t0
    print(f"encoded {n - bad} of {n} spectra ({bad} unusable → NaN) in {dt:.1f} s "
          f"({n / max(dt, 1e-9):.0f} spectra/s) → {args.output}")
    return 0
