"""Benchmark: mock Kepler light curves per second on one core (goal ≥ 20/s), against the peer a
time-domain simulator would use — a sum of sinusoids at the same mode frequencies and amplitudes,
evaluated at every cadence — and the cost of writing each curve as a Kepler llc FITS file.

Run: ``.venv/bin/python -m benchmarks.bench_mock_lightcurves [--n-stars 40] [--repeats 3]``
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one core
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from latentexplorer import constants as C  # noqa: E402
from latentexplorer.io.kepler import kepler_llc_filename, write_kepler_llc  # noqa: E402
from latentexplorer.mock.lightcurves import synthesize_light_curve  # noqa: E402
from latentexplorer.mock.oscillations import mode_table  # noqa: E402
from latentexplorer.seismo import deltanu_from_numax  # noqa: E402
from benchmarks.timing import median_time  # noqa: E402


def population(n, rng):
    """ν_max log-uniform over 4–250 μHz, 40 % clump stars at 25–90 μHz, Kp 9–14."""
    numax = np.exp(rng.uniform(np.log(4.0), np.log(250.0), n))
    evolstate = np.where((numax > 25) & (numax < 90) & (rng.random(n) < 0.4), "RC", "RGB")
    return numax, deltanu_from_numax(numax), evolstate, rng.uniform(9.0, 14.0, n)


def sum_of_sinusoids(curve):
    """The peer: the same modes as phase-random sinusoids summed at each cadence (no lifetimes)."""
    t_s = (curve.time_days - curve.time_days[0]) * 86400.0
    nu, _, power, _ = mode_table(curve.seismic, 1e6 / (1470.0 * 86400.0))
    phase = np.random.default_rng(0).uniform(0, 2 * np.pi, nu.size)
    flux = np.zeros_like(t_s)
    for f, p, ph in zip(nu * 1e-6, power, phase):
        flux += np.sqrt(2.0 * p) * np.sin(2 * np.pi * f * t_s + ph)
    return flux


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-stars", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    numax, deltanu, evolstate, kepmag = population(args.n_stars, np.random.default_rng(1))

    def synthesize():
        rng = np.random.default_rng(2)
        return [synthesize_light_curve(*row, rng) for row in zip(numax, deltanu, evolstate, kepmag)]

    curves = synthesize()
    t_mock = median_time(synthesize, args.repeats, clock=time.process_time) / args.n_stars
    n_peer = min(5, args.n_stars)
    t_peer = median_time(lambda: [sum_of_sinusoids(c) for c in curves[:n_peer]], args.repeats, clock=time.process_time) / n_peer
    with tempfile.TemporaryDirectory() as tmp:
        def write():
            for kic, c in enumerate(curves, start=1):
                write_kepler_llc(Path(tmp) / kepler_llc_filename(kic), kic, c.time_days, c.flux_ppm,
                                 c.flux_err_ppm, c.quality, kepmag=c.kepmag)

        t_write = median_time(write, args.repeats, clock=time.process_time) / args.n_stars
    n_cad = np.median([c.time_days.size for c in curves])
    print(f"{args.n_stars} stars, ν_max 4–250 μHz, {n_cad:.0f} cadences each "
          f"({1470 / C.KEPLER_LONG_CADENCE_DAYS:.0f} before gaps); median CPU time of {args.repeats} repeats, one core")
    print(f"  mock (frequency-domain synthesis): {1e3 * t_mock:7.1f} ms/curve = {1 / t_mock:6.1f} curves/s"
          f"   (goal ≥ 20/s)")
    print(f"  peer (sum of sinusoids, same modes): {1e3 * t_peer:7.1f} ms/curve = {1 / t_peer:6.1f} curves/s"
          f"   → mock is {t_peer / t_mock:.0f}× faster")
    print(f"  write Kepler llc FITS:             {1e3 * t_write:7.1f} ms/curve")
    print(f"  synthesize + write:                {1 / (t_mock + t_write):6.1f} curves/s")


if __name__ == "__main__":
    main()
