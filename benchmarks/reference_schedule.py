"""Search the reference encoder-decoder's training schedule on a subset of the reference pairs.

Each candidate trains from scratch on the same ``--n-train`` pairs for the same number of epochs and is scored
on the same held-out pairs (never seen by any candidate): validation MSE of Eq. 1, the decoded envelope within
10 % of the true ν_max (``audits.envelopes.envelope_audit``), RC/RGB misclassification of a random forest on the
latent means (trained on the training pairs' latents), and the latent dimensions left active (mean z_std < 0.5).

    python -m benchmarks.reference_schedule WORKDIR/pairs.h5 --stage 1 --n-train 3000 --n-test 1000 --epochs 6
    python -m benchmarks.reference_schedule WORKDIR/pairs.h5 --stage 2 --n-train 10000 --n-test 1994 --epochs 15

prints one row per candidate and writes them to ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

#: Stage 1 screens schedules on a 3,000-pair subset for 6 epochs; stage 2 trains the survivors on 10,000 pairs.
CANDIDATES = {
    1: {
        "paper: lr 5e-4, batch 32": dict(learning_rate=5e-4, batch_size=32, kl_warmup_epochs=0),
        "lr 1e-3, batch 64, KL warm-up 5": dict(learning_rate=1e-3, batch_size=64, kl_warmup_epochs=5),
        "lr 2e-3, batch 128, KL warm-up 5": dict(learning_rate=2e-3, batch_size=128, kl_warmup_epochs=5),
    },
    2: {
        "paper: lr 5e-4, batch 32": dict(learning_rate=5e-4, batch_size=32, kl_warmup_epochs=0),
        "lr 5e-4, batch 32, KL warm-up 5": dict(learning_rate=5e-4, batch_size=32, kl_warmup_epochs=5),
        "lr 1e-3, batch 32": dict(learning_rate=1e-3, batch_size=32, kl_warmup_epochs=0),
        "lr 5e-4, batch 64": dict(learning_rate=5e-4, batch_size=64, kl_warmup_epochs=0),
    },
}


def score(ved, pairs, train_rows, test_rows) -> dict:
    from sklearn.ensemble import RandomForestClassifier

    from latentexplorer.audits.envelopes import envelope_audit
    from latentexplorer.psd import envelope_weights

    z_train, _ = ved.encode(pairs.spectra[train_rows])
    z_test, z_std = ved.encode(pairs.spectra[test_rows])
    decoded = np.asarray(ved.decode(z_test))
    truth = pairs.log_psd[test_rows]
    weights = envelope_weights(pairs.numax[test_rows], pairs.frequency)
    mse = float(np.mean(np.sum(weights * (decoded - truth) ** 2, axis=1) / np.sum(weights, axis=1)))
    env = envelope_audit(decoded, pairs.frequency, pairs.numax[test_rows])
    rc_train, rc_test = pairs.evolstate[train_rows] == "RC", pairs.evolstate[test_rows] == "RC"
    clf = RandomForestClassifier(200, min_samples_leaf=3, random_state=0, n_jobs=-1).fit(z_train, rc_train)
    return {"weighted_mse": mse, "envelope_within_10pc": env.within_10pc,
            "rc_rgb_misclassified": float(np.mean(clf.predict(z_test) != rc_test)),
            "active_dims": int(np.sum(np.asarray(z_std).mean(axis=0) < 0.5))}


def main(argv=None):
    from latentexplorer.io.pairs import read_pairs
    from latentexplorer.ved import VariationalEncoderDecoder

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("pairs")
    p.add_argument("--n-train", type=int, default=3000)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--stage", type=int, choices=sorted(CANDIDATES), default=1)
    p.add_argument("--out", default="reference_schedule.json", help="JSON file; rows of earlier stages in it are kept")
    a = p.parse_args(argv)
    pairs = read_pairs(a.pairs)
    rows = np.random.default_rng(0).permutation(len(pairs.apogee_id))
    train_rows, test_rows = np.sort(rows[:a.n_train]), np.sort(rows[a.n_train:a.n_train + a.n_test])
    results = []
    if os.path.exists(a.out):
        with open(a.out) as f:
            results = [r for r in json.load(f) if r.get("stage") != a.stage]
    for name, options in CANDIDATES[a.stage].items():
        t0 = time.perf_counter()
        fit_options = {k: v for k, v in options.items() if k != "learning_rate"}
        ved = VariationalEncoderDecoder(5, frequency=pairs.frequency, learning_rate=options["learning_rate"]).fit(
            pairs.spectra[train_rows], pairs.log_psd[train_rows], pairs.numax[train_rows], epochs=a.epochs,
            progress=False, seed=0, early_stopping_patience=a.epochs, **fit_options)
        row = {"stage": a.stage, "candidate": name, **options, "epochs": a.epochs, "n_train": a.n_train, "n_test": a.n_test,
               "train_s": round(time.perf_counter() - t0, 1), **score(ved, pairs, train_rows, test_rows)}
        results.append(row)
        print(json.dumps(row), flush=True)
        with open(a.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
