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

import time
from pathlib import Path


HELP = "encode spectra into the latent space of a trained model (z_mean, z_std per star)"



def add_arguments(parser) -> None:
    parser.add_argument("model", type=Path, help="model directory (from `latentexplorer train`)")
    parser.add_argument("spectra", type=Path, help="spectra HDF5 file or directory of FITS spectra")
    parser.add_argument("-o", "--output", type=Path, required=True, help="latent HDF5 file to write")
    parser.add_argument("--chunk-size", type=int, default=1024, help="spectra read per chunk (default 1024)")


def run(args) -> int:
    from ..pipeline import encode_spectra_file
    from ..ved import VariationalEncoderDecoder

    if args.chunk_size < 1:
        raise ValueError(f"--chunk-size must be positive, got {args.chunk_size}")
    ved = VariationalEncoderDecoder.load(args.model)
    t0 = time.perf_counter()
    n, bad = encode_spectra_file(ved, args.spectra, args.output, args.chunk_size)
    dt = time.perf_counter() - t0
    print(f"encoded {n - bad} of {n} spectra ({bad} unusable → NaN) in {dt:.1f} s "
          f"({n / max(dt, 1e-9):.0f} spectra/s) → {args.output}")
    return 0
