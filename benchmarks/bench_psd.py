"""Per-star time of `latentexplorer.psd.compute_psd` against the same chain built from lightkurve.

A 4-year Kepler long-cadence light curve (~68,000 points with gaps) of a mock red giant goes through
both chains; the script prints the medians over repeats, the speed ratio and the equivalence (median
|Δ ln PSD| over the 2092 pixels). Run: python -m benchmarks.bench_psd [--repeats N]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from benchmarks.timing import median_time


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    from latentexplorer import psd, seismo
    from latentexplorer.mock.lightcurves import synthesize_light_curve

    warnings.simplefilter("ignore")
    lc = synthesize_light_curve(40.0, float(seismo.deltanu_from_numax(40.0)), "RGB", 11.5, np.random.default_rng(1))
    t, y = lc.time_days[lc.good], lc.flux_ppm[lc.good]
    ours = median_time(lambda: psd.compute_psd(t, y), args.repeats, warmup=True)
    peer = median_time(lambda: psd.compute_psd_lightkurve(t, y), max(3, args.repeats // 2), warmup=True)
    difference = np.median(np.abs(psd.compute_psd(t, y) - psd.compute_psd_lightkurve(t, y)))
    print(f"light curve: {t.size} points over {np.ptp(t):.0f} d; native grid {psd.native_frequency().size} frequencies")
    print(f"  compute_psd (nifty-ls)         {ours * 1e3:8.1f} ms/star  (median of {args.repeats})")
    print(f"  lightkurve chain (astropy fast) {peer * 1e3:8.1f} ms/star")
    print(f"  speed-up: {peer / ours:.1f}x   median |Δ ln PSD| = {difference:.4f} (goal ≤ 0.02)")


if __name__ == "__main__":
    main()
