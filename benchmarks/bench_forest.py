"""Benchmark: the age forest's fit on 1,200 stars × 100 trees with uncertainty sampling, then posteriors
for 300,000 stars (the paper's training set and DR17 catalog sizes), against scikit-learn's
RandomForestRegressor doing the same fit + predict. Goal: < 60 s together on 2 cores.

Run: ``.venv/bin/python -m benchmarks.bench_forest [--repeats 3] [--n-jobs 2]``
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.ensemble import RandomForestRegressor

from latentexplorer.ages.forest import ProbabilisticRandomForestRegressor
from benchmarks.timing import median_time

N_TRAIN, N_PREDICT, N_TREES, N_FEATURES = 1200, 300_000, 100, 7  # 5 latent + Teff + [Fe/H]


def synthetic(n, rng):
    """Features, their errors, log-age labels and label errors (dex) of a latent-like problem."""
    X = rng.standard_normal((n, N_FEATURES))
    X_err = np.abs(0.1 + 0.05 * rng.standard_normal((n, N_FEATURES)))
    log_age = 0.5 + 0.3 * np.tanh(X[:, 0]) - 0.2 * X[:, 5] + 0.1 * X[:, 1] * X[:, 6]
    log_age_err = np.full(n, 0.08)  # ≈ 18 %, like APOKASC-2
    return X, X_err, log_age + log_age_err * rng.standard_normal(n), log_age_err


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    X, X_err, y, y_err = synthetic(N_TRAIN, rng)
    X_new, X_new_err, _, _ = synthetic(N_PREDICT, rng)

    forest = ProbabilisticRandomForestRegressor(N_TREES, n_jobs=args.n_jobs, random_state=0)
    plain = RandomForestRegressor(N_TREES, n_jobs=args.n_jobs, random_state=0)
    timings = {
        "prf fit (X_err, y_err)": median_time(lambda: forest.fit(X, y, X_err=X_err, y_err=y_err), args.repeats),
        "prf predict_posterior": median_time(lambda: forest.predict_posterior(X_new), args.repeats),
        "prf predict_posterior (X_err)": median_time(
            lambda: forest.predict_posterior(X_new, X_err=X_new_err), args.repeats
        ),
        "sklearn RF fit": median_time(lambda: plain.fit(X, y), args.repeats),
        "sklearn RF predict": median_time(lambda: plain.predict(X_new), args.repeats),
    }
    prf = timings["prf fit (X_err, y_err)"] + timings["prf predict_posterior"]
    peer = timings["sklearn RF fit"] + timings["sklearn RF predict"]
    print(f"{N_TRAIN} stars x {N_TREES} trees, {N_PREDICT} predictions, n_jobs={args.n_jobs}, "
          f"median of {args.repeats}")
    for name, seconds in timings.items():
        print(f"  {name:32s} {seconds:8.2f} s")
    print(f"  {'prf fit + posterior':32s} {prf:8.2f} s   (goal < 60 s)")
    print(f"  {'sklearn RF fit + predict':32s} {peer:8.2f} s")
    print(f"  ratio prf / sklearn RF: {prf / peer:.2f}")


if __name__ == "__main__":
    main()
