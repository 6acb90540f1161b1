"""Encode spectra into the latent space of a trained encoder-decoder, streaming in chunks.

SPECTRA is anything `latentexplorer.io.spectra_files.iter_normalized_spectra` reads: a stacked spectra HDF5
file, a directory of apStar/aspcapStar-like FITS files, or an HDF5 file with a normalised (N, 7514)
'spectra' dataset and 'APOGEE_ID' (e.g. pairs.h5). Memory stays bounded by --chunk-size.

The output HDF5 file (written atomically) holds APOGEE_ID (N,) str, z_mean and z_std (N, latent_dim)
float32 and flag (N,) int32, the ingest's SpectrumFlag bits. Unusable spectra (flag UNREADABLE or
NO_DATA: no finite pixel; all zero, negative or constant flux; fewer than half the pixels good and within
[0, 2] once normalised) get NaN latents and the run goes on; the summary says how many.

Each finished chunk is kept in OUTPUT.parts/ until the output is written: an interrupted run (Ctrl-C,
kill -9) resumes where it stopped when run again with the same arguments. --workers N spreads the
chunks over a local Dask cluster, --scheduler ADDRESS over an existing one; the output is the same.

Examples:
  latentexplorer encode WORKSPACE/model WORKSPACE/survey/spectra.h5 -o WORKSPACE/latent.h5
  latentexplorer encode MODEL dr17/survey/spectra.h5 -o dr17/latent.h5 --workers 2
"""

from __future__ import annotations

import time
from pathlib import Path

from ..steps.runtime.batch import add_scheduler_arguments


HELP = "encode spectra into the latent space of a trained model (z_mean, z_std per star)"



def add_arguments(parser) -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing output that is not this step's kind of product (never an input)")
    parser.add_argument("model", type=Path, help="model directory (from `latentexplorer train`)")
    parser.add_argument("spectra", type=Path, help="spectra HDF5 file or directory of FITS spectra")
    parser.add_argument("-o", "--output", type=Path, required=True, help="latent HDF5 file to write")
    parser.add_argument("--chunk-size", type=int, default=1024, help="spectra read per chunk (default 1024)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_scheduler_arguments(parser)


def run(args) -> int:
    from ..steps.runtime.batch import dask_client
    from ..steps import encode_spectra_file

    if args.chunk_size < 1:
        raise ValueError(f"--chunk-size must be positive, got {args.chunk_size}")
    t0 = time.perf_counter()
    with dask_client(args.scheduler, args.workers) as client:
        n, bad = encode_spectra_file(args.model, args.spectra, args.output, args.chunk_size,
                                     progress=not args.no_progress, client=client,
                                     overwrite=args.overwrite)
    dt = time.perf_counter() - t0
    print(f"encoded {n - bad} of {n} spectra ({bad} unusable → NaN) in {dt:.1f} s "
          f"({n / max(dt, 1e-9):.0f} spectra/s) → {args.output}")
    return 0
