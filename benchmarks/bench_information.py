"""The information ladder of a mock workspace: what each feature set predicts, against truth, on the same
held-out seismic giants (:func:`latentexplorer.audits.ladder.information_ladder`; rows and scores explained there).

Run: ``.venv/bin/python -m benchmarks.bench_information WORKSPACE [--trees 300] [--json ladder.json]``
(the default demo workspace is ``~/.cache/latentexplorer/demo``). Prints the ladder as a Markdown table and
the time it took. ``--model DIR`` scores a candidate encoder-decoder's latents of the same stars in the latent
row (the reference-model search uses it).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from latentexplorer.audits.ladder import information_ladder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--trees", type=int, default=300, help="trees of every forest (default 300)")
    parser.add_argument("--components", type=int, default=30, help="principal components of spectra and PSDs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the ladder as JSON here")
    parser.add_argument("--model", type=Path, default=None,
                        help="score this model directory's latents in the latent row (a candidate encoder)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    ladder = information_ladder(args.workspace, n_trees=args.trees, n_components=args.components, seed=args.seed,
                                 model=args.model)
    print(ladder.to_markdown())
    print(f"\n{args.workspace}: ladder in {time.perf_counter() - start:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(ladder.to_dict(), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
