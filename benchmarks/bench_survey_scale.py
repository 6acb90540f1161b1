"""Benchmark: encode + ages + catalog on mock surveys of growing size (issue 8), each step a
`latentexplorer` command in its own process, timed with its peak RSS. Prints the table of wall time
against N and the seconds per 1,000 stars, whose constancy is the linear scaling; with --workers, the
encode of the smallest survey is also run on a local Dask cluster and compared with the single process.

The surveys are simulated once into WORKDIR/<N>/ (normalised spectra, no light curves; not timed) and
reused by later runs; MODEL is a trained model directory (e.g. a demo workspace's model/).

Run: ``.venv/bin/python -m benchmarks.bench_survey_scale MODEL WORKDIR [--sizes 10000 100000 733901]
[--workers 2]``
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

N_KEPLER = 6000  # seismic stars of each mock (the age forest trains on 1,200 of them)


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
    parser.add_argument("model", type=Path)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 733_901])
    parser.add_argument("--workers", type=int, default=None, help="also encode the smallest survey on Dask")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    steps = {
        "encode": ["encode", "model", "survey/spectra.h5", "-o", "latent.h5"],
        "ages": ["ages", ".", "--n-train", "1200", "--n-trees", "100"],
        "catalog": ["catalog", "."],
    }
    print(f"{'N':>8} {'encode s':>9} {'ages s':>7} {'catalog s':>9} {'total s':>8} {'s/1000':>7} {'peak RSS GB':>11}")
    rows = []
    for n in sorted(args.sizes):
        root = prepare(args.workdir, n, args.model)
        times, peak = {}, 0.0
        for name, step in steps.items():
            times[name], rss = run_step(step, root)
            peak = max(peak, rss)
        total = sum(times.values())
        rows.append((n, total))
        print(f"{n:>8} {times['encode']:>9.1f} {times['ages']:>7.1f} {times['catalog']:>9.1f} {total:>8.1f} "
              f"{1000 * total / n:>7.2f} {peak:>11.2f}", flush=True)
    if len(rows) > 1:
        n, t = np.array(rows, dtype=float).T
        slope, intercept = np.polyfit(n, t, 1)
        print(f"linear fit: {intercept:.1f} s + {1000 * slope:.3f} s per 1000 stars; "
              f"worst |residual| {np.max(np.abs(t - (intercept + slope * n)) / t):.1%} of the time")
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
