"""Benchmark: encode + ages + catalog on mock surveys of growing size (issue 8), each step a
`latentexplorer` command in its own process, timed with its peak RSS. Prints the table of wall time
against N and the seconds per 1,000 stars, whose constancy is the linear scaling; with --workers, the
encode of the smallest survey is also run on a local Dask cluster and compared with the single process.

The surveys are simulated once into WORKDIR/<N>/ (normalised spectra, 30 kB a star: 22 GB for DR17's
733,901; no light curves; not timed) and reused by later runs; ``--model`` is a trained model directory
(default: the reference model that ships in latentexplorer/data/reference_model/). Each size's end-to-end
time and peak RSS are printed beside the issue's figures: the DR17-sized run before the fast encoder
(1,779 s, of which encode 1,659 s), and the target of ≤ 10 minutes with peak RSS ≤ 2 GB.

Run: ``.venv/bin/python -m benchmarks.bench_survey_scale WORKDIR [--sizes 10000 100000 733901]
[--model DIR] [--workers 2]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from latentexplorer.io.latent import read_latent
from latentexplorer.ved.reference import reference_model_dir

N_KEPLER = 6000  # seismic stars of each mock (the age forest trains on 1,200 of them)
DR17 = 733_901
BEFORE_S = 1779.0  # DR17-sized run (encode + ages + catalog) before the fast encoder (issue: encode 1,659 s)
BEFORE_PER_1000_S = (49.0, 2.36)  # the README's linear model then: 49 s + 2.36 s per 1,000 stars
TARGET_S, TARGET_RSS_GB = 600.0, 2.0


def run_step(args: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in GB) of ``latentexplorer ARGS`` run in ``cwd``."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "latentexplorer", *args, "--no-progress"], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"latentexplorer {' '.join(args)} failed:\n{proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024**2  # ru_maxrss is in kB on Linux


def prepare(workdir: Path, n: int, model: Path) -> Path:
    """WORKDIR/<n>: a simulated survey with the model copied in, outputs of earlier runs removed."""
    root = workdir / str(n)
    if not (root / "survey" / "spectra.h5").exists():
        subprocess.run([sys.executable, "-m", "latentexplorer", "simulate", "--n-stars", str(n), "--n-kepler",
                        str(min(N_KEPLER, n // 2)), "--seed", "17", "-o", str(root), "--spectra-format",
                        "normalized", "--light-curves", "0", "--jobs", "2", "--no-progress"], check=True)
    if not (root / "model").exists():
        shutil.copytree(model, root / "model", ignore=shutil.ignore_patterns("checkpoint"))
    for name in ("latent.h5", "catalog.fits", "catalog.csv.gz", "forest"):
        path = root / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    return root


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--model", type=Path, default=reference_model_dir(), help="trained model directory "
                        "(default: the reference model)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, DR17])
    parser.add_argument("--workers", type=int, default=None, help="also encode the smallest survey on Dask")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    steps = {
        "encode": ["encode", "model", "survey/spectra.h5", "-o", "latent.h5"],
        "ages": ["ages", ".", "--n-train", "1200", "--n-trees", "100"],
        "catalog": ["catalog", "."],
    }
    print(f"{'N':>8} {'encode s':>9} {'ages s':>7} {'catalog s':>9} {'total s':>8} {'s/1000':>7} {'peak RSS GB':>11}"
          f" {'before s':>9} {'ratio':>6}")
    rows = []
    for n in sorted(args.sizes):
        root = prepare(args.workdir, n, args.model)
        times, peak = {}, 0.0
        for name, step in steps.items():
            times[name], rss = run_step(step, root)
            peak = max(peak, rss)
        total = sum(times.values())
        rows.append((n, total))
        before = BEFORE_S if n == DR17 else BEFORE_PER_1000_S[0] + BEFORE_PER_1000_S[1] * n / 1000
        print(f"{n:>8} {times['encode']:>9.1f} {times['ages']:>7.1f} {times['catalog']:>9.1f} {total:>8.1f} "
              f"{1000 * total / n:>7.2f} {peak:>11.2f} {before:>9.0f} {before / total:>5.2f}×", flush=True)
        if n == DR17:
            print(f"DR17-sized run: {total:.0f} s end to end (before: {BEFORE_S:.0f} s; target ≤ {TARGET_S:.0f} s: "
                  f"{'met' if total <= TARGET_S else 'missed'}), peak RSS {peak:.2f} GB (target ≤ {TARGET_RSS_GB:.0f} "
                  f"GB: {'met' if peak <= TARGET_RSS_GB else 'missed'})")
    if len(rows) > 1:
        n, t = np.array(rows, dtype=float).T
        slope, intercept = np.polyfit(n, t, 1)
        print(f"linear fit: {intercept:.1f} s + {1000 * slope:.3f} s per 1000 stars (before: "
              f"{BEFORE_PER_1000_S[0]:.0f} s + {BEFORE_PER_1000_S[1]:.2f} s per 1000); worst |residual| "
              f"{np.max(np.abs(t - (intercept + slope * n)) / t):.1%} of the time; at N = {DR17}: "
              f"{intercept + slope * DR17:.0f} s (before {BEFORE_S:.0f} s, target ≤ {TARGET_S:.0f} s)")
    if args.workers:
        root = args.workdir / str(min(args.sizes))
        single = root / "latent.h5"
        wall, rss = run_step([*steps["encode"][:-1], "latent_dask.h5", "--workers", str(args.workers)], root)
        a, b = read_latent(single), read_latent(root / "latent_dask.h5")
        same = all(np.array_equal(getattr(a, k), getattr(b, k), equal_nan=getattr(a, k).dtype.kind == "f")
                   for k in ("apogee_id", "z_mean", "z_std", "flag"))
        print(f"encode N={min(args.sizes)} on {args.workers} Dask workers: {wall:.1f} s (this process's peak RSS "
              f"{rss:.2f} GB), identical to the single process: {same}")


if __name__ == "__main__":
    main()
