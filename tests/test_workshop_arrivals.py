"""The workshop arrivals load test's plan (benchmarks/workshop_arrivals.py): seeded, every visitor within the
arrival window, two different dashboards each; and what it reads from a bokeh document."""

import numpy as np

from benchmarks.workshop_arrivals import arrival_times, find_models, source_rows, workshop_plan
from latentexplorer.serve import DASHBOARDS


def test_plan_is_seeded_and_arrives_within_the_window():
    plan = workshop_plan(30, 120.0, seed=0)
    assert plan == workshop_plan(30, 120.0, seed=0)
    assert plan != workshop_plan(30, 120.0, seed=1)
    times = [v.arrival for v in plan]
    assert len(times) == 30 and times == sorted(times) and 0 <= times[0] and times[-1] < 120.0
    for visitor in plan:
        assert len(set(visitor.dashboards)) == 2 and set(visitor.dashboards) <= set(DASHBOARDS)


def test_arrival_gaps_have_the_poisson_mean():
    """Many windows of 30 arrivals over 120 s: gaps average 120/31 s, and their spread is that of exponential
    gaps (coefficient of variation near 1), not of a regular schedule."""
    rng = np.random.default_rng(0)
    gaps = np.concatenate([np.diff(arrival_times(30, 120.0, rng), prepend=0.0) for _ in range(2000)])
    assert abs(gaps.mean() - 120.0 / 31) < 0.05
    assert 0.9 < gaps.std() / gaps.mean() < 1.0


def test_named_sources_and_their_rows():
    doc = {"roots": [{"type": "object", "name": "Figure", "id": "p1", "attributes": {"renderers": [
        {"type": "object", "name": "ColumnDataSource", "id": "p2", "attributes": {"name": "decoded_psd", "data": {
            "type": "map", "entries": [["x", {"type": "ndarray", "shape": [7]}], ["y", [1, 2]]]}}},
        {"type": "object", "name": "ColumnDataSource", "id": "p3", "attributes": {"name": "empty", "data": {
            "type": "map", "entries": []}}}]}}]}
    [psd] = find_models(doc, "decoded_psd")
    assert psd["id"] == "p2" and source_rows(psd) == 7
    assert source_rows(next(find_models(doc, "empty"))) == 0
    assert [m["id"] for m in find_models(doc)] == ["p1", "p2", "p3"]
