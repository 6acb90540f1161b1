"""Benchmark: mock apStar synthesis (5,000 stars), continuum normalisation against astroNN's
``apogee_continuum`` (the peer: same mask, degree and weights, one Chebyshev fit per spectrum and chip),
and the stacked HDF5 round trip (default lzf against gzip, the portable filter).

Run: ``.venv/bin/python -m benchmarks.bench_spectra [--repeats 3] [--n-stars 5000] [--n-normalize 1000]``
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from astroNN.apogee.chips import apogee_continuum

from latentexplorer.io.apogee_spectra import StackedSpectraWriter, iter_stacked_spectra
from latentexplorer.mock.spectra import synthesize_apstar
from latentexplorer.spectra import normalize_spectra
from benchmarks.timing import median_time


def giants(n, rng):
    """Uniformly spread giant labels (timing does not depend on their correlations)."""
    return dict(TEFF=rng.uniform(4000, 5200, n), LOGG=rng.uniform(1.5, 3.6, n), FE_H=rng.uniform(-1, 0.4, n),
                ALPHA_M=rng.uniform(0, 0.3, n), C_FE=rng.normal(-0.1, 0.1, n), N_FE=rng.normal(0.3, 0.1, n),
                SNR=rng.uniform(50, 300, n))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-stars", type=int, default=5000)
    parser.add_argument("--n-normalize", type=int, default=1000)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    labels = giants(args.n_stars, rng)

    t_synth = median_time(lambda: synthesize_apstar(labels, np.random.default_rng(1)), args.repeats)
    print(f"synthesize_apstar: {args.n_stars} stars in {t_synth:.2f} s "
          f"({args.n_stars / t_synth:.0f} spectra/s)")

    flux, err, mask = synthesize_apstar(labels, np.random.default_rng(1))
    m = args.n_normalize
    f64, e64 = flux[:m].astype(np.float64), err[:m].astype(np.float64)
    t_ours = median_time(lambda: normalize_spectra(flux[:m], err[:m], mask[:m]), args.repeats)
    t_peer = median_time(lambda: apogee_continuum(f64.copy(), e64.copy(), bitmask=mask[:m], dr=17), args.repeats)
    print(f"normalize_spectra: {m} spectra in {t_ours:.2f} s ({m / t_ours:.0f}/s); "
          f"astroNN apogee_continuum {t_peer:.2f} s ({m / t_peer:.0f}/s); speed-up {t_peer / t_ours:.1f}x")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spectra.h5"
        ids = np.array([f"2M{i:08d}+0000000" for i in range(args.n_stars)])

        def write(compression):
            with StackedSpectraWriter(path, compression=compression) as writer:
                for lo in range(0, args.n_stars, 1000):
                    writer.append(ids[lo:lo + 1000], flux[lo:lo + 1000], err[lo:lo + 1000], mask[lo:lo + 1000])

        raw_mb = (flux.nbytes + err.nbytes + mask.nbytes) / 1e6
        for compression in ("lzf", "gzip"):
            t_write = median_time(lambda: write(compression), args.repeats)
            t_read = median_time(lambda: sum(len(c.apogee_id) for c in iter_stacked_spectra(path, 1024)),
                                 args.repeats)
            print(f"stacked HDF5 ({compression} + shuffle): write {t_write:.2f} s, read {t_read:.2f} s, "
                  f"{raw_mb:.0f} MB raw -> {path.stat().st_size / 1e6:.0f} MB on disk")


if __name__ == "__main__":
    main()
