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

from .options import add_step_options, step_scheduler

HELP = "encode spectra into the latent space of a trained model (z_mean, z_std per star)"


def add_arguments(parser) -> None:
    parser.add_argument("model", type=Path, help="model directory (from `latentexplorer train`)")
    parser.add_argument("spectra", type=Path, help="spectra HDF5 file or directory of FITS spectra")
    parser.add_argument("-o", "--output", type=Path, required=True, help="latent HDF5 file to write")
    add_step_options(parser, chunks=(1024, "spectra read per chunk"))


def run(args) -> int:
    from ..steps import encode_spectra_file

    t0 = time.perf_counter()
    with step_scheduler(args) as client:
        n, bad = encode_spectra_file(args.model, args.spectra, args.output, args.chunk_size,
                                     progress=not args.no_progress, client=client,
                                     overwrite=args.overwrite)
    dt = time.perf_counter() - t0
    print(f"encoded {n - bad} of {n} spectra ({bad} unusable → NaN) in {dt:.1f} s "
          f"({n / max(dt, 1e-9):.0f} spectra/s) → {args.output}")
    return 0
