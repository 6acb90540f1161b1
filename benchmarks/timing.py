"""The one timing helper of the benchmarks: medians over repeats (machines are shared and noisy)."""

from __future__ import annotations

import time

import numpy as np


def median_time(fn, repeats: int, clock=time.perf_counter, warmup: bool = False) -> float:
    """Median seconds of ``repeats`` calls of ``fn`` measured with ``clock`` (``time.process_time`` for CPU
    time of this process); ``warmup`` makes one untimed call first (imports, caches, tracing)."""
    if warmup:
        fn()
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return float(np.median(times))
