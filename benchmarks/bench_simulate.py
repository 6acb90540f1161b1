"""Benchmark: simulate and write the mock survey (default: the demo's 5,000 spectra + 3,000 light curves).

    .venv/bin/python -m benchmarks.bench_simulate [--n-stars 5000] [--n-kepler 3000] [--jobs 2] [--repeats 1]

Times each stage separately — population + catalogs (``simulate_survey``), the stacked spectra, the
light curves (synthesis + llc FITS writing, with ``--jobs`` processes) — and prints the median over
repeats, the per-star rates, and the ratio of the total to the 2-minute goal for the demo survey.
With smaller counts the total is also extrapolated linearly to the demo size.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

DEMO = (5000, 3000)
GOAL_S = 120.0


def _stage_times(n_stars, n_kepler, jobs):
    from latentexplorer.mock import simulate_survey
    from latentexplorer.mock.lightcurves import synthesize_light_curve

    times = {}
    t0 = time.perf_counter()
    survey = simulate_survey(n_stars, n_kepler, seed=1)
    times["population + catalogs"] = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "survey" / "kepler").mkdir(parents=True)
        t0 = time.perf_counter()
        survey._write_spectra(root / "survey", "stacked", progress=False)
        times["spectra (stacked)"] = time.perf_counter() - t0
        kep = survey.kepler[: min(50, n_kepler)]
        t0 = time.perf_counter()
        for i, s in enumerate(kep):
            synthesize_light_curve(float(s["NUMAX"]), float(s["DELTANU"]), str(s["EVOLSTATE"]), float(s["KEPMAG"]), i,
                                   teff=float(s["TEFF"]))
        synth_per_lc = (time.perf_counter() - t0) / max(len(kep), 1)
        t0 = time.perf_counter()
        survey._write_light_curves(root / "survey" / "kepler", progress=False, n_jobs=jobs, limit=None)
        times[f"light curves ({jobs} proc.)"] = time.perf_counter() - t0
    return times, synth_per_lc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-stars", type=int, default=DEMO[0])
    parser.add_argument("--n-kepler", type=int, default=DEMO[1])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    runs = [_stage_times(args.n_stars, args.n_kepler, args.jobs) for _ in range(args.repeats)]
    stages = {k: statistics.median(r[0][k] for r in runs) for k in runs[0][0]}
    synth = statistics.median(r[1] for r in runs)
    total = sum(stages.values())
    print(f"mock survey: {args.n_stars} stars, {args.n_kepler} light curves, {args.jobs} processes, "
          f"median of {args.repeats}")
    counts = dict(zip(stages, (args.n_stars, args.n_stars, args.n_kepler)))
    for name, t in stages.items():
        print(f"  {name:28s} {t:8.2f} s   {counts[name] / t:8.1f} stars/s   ({100 * t / total:4.1f} %)")
    print(f"  light-curve synthesis alone   {1 / synth:8.1f} per s on one core (llc writing is the rest)")
    print(f"  total                         {total:8.2f} s")
    if (args.n_stars, args.n_kepler) != DEMO:
        scale = [DEMO[0] / args.n_stars, DEMO[0] / args.n_stars, DEMO[1] / max(args.n_kepler, 1)]
        total = sum(t * s for t, s in zip(stages.values(), scale))
        print(f"  extrapolated to the demo (5000 + 3000): {total:.1f} s")
    print(f"  ratio to the 2-minute goal: {total / GOAL_S:.2f}")


if __name__ == "__main__":
    main()
