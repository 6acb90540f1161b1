"""Column stores: one copy of the survey on disk that every dashboard kernel memory-maps."""

import json
import os
import shutil

import numpy as np
import pytest
from demo_workspace import tiny_workspace

from latentexplorer.io.columns import read_columns, source_fingerprint, write_columns
from latentexplorer.widgets.star_view import COLUMNS_DIRECTORY, StarView


def _mapped(array) -> bool:
    """Whether ``array``'s memory is a file mapping (no private copy)."""
    while array is not None and not isinstance(array, np.memmap):
        array = getattr(array, "base", None)
    return array is not None


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "catalog.fits"
    path.write_bytes(b"x" * 100)
    return path


def test_columns_come_back_memory_mapped_with_their_values_and_units(tmp_path, source):
    ids = np.array(["2M0001", "2M00002"], dtype=object)
    z = np.arange(6, dtype=np.float32).reshape(2, 3)
    age = np.array([1.5, np.nan]).astype(">f8")  # big-endian, as FITS stores it
    write_columns(tmp_path / "store", {"APOGEE_ID": ids, "z": z, "Age": age}, [source_fingerprint(source)],
                  {"Age": "Gyr"})
    columns, units = read_columns(tmp_path / "store", [source_fingerprint(source)])
    assert all(_mapped(c) for c in columns.values())
    assert columns["APOGEE_ID"].tolist() == ["2M0001", "2M00002"] and columns["APOGEE_ID"].dtype.kind == "U"
    np.testing.assert_array_equal(columns["z"], z)
    np.testing.assert_array_equal(columns["Age"], age)
    assert columns["Age"].dtype.isnative and units == {"APOGEE_ID": None, "z": None, "Age": "Gyr"}


def test_a_store_made_from_another_version_of_its_source_is_stale(tmp_path, source):
    made_from = [source_fingerprint(source)]
    write_columns(tmp_path / "store", {"a": np.zeros(3)}, made_from)
    source.write_bytes(b"y" * 101)
    assert read_columns(tmp_path / "store", [source_fingerprint(source)]) is None
    assert read_columns(tmp_path / "store", made_from) is not None


@pytest.mark.parametrize("damage", ["no manifest", "foreign manifest", "truncated column"])
def test_a_damaged_or_foreign_store_is_not_read(tmp_path, source, damage):
    made_from = [source_fingerprint(source)]
    store = write_columns(tmp_path / "store", {"a": np.zeros(1000)}, made_from)
    if damage == "no manifest":
        (store / "manifest.json").unlink()
    elif damage == "foreign manifest":
        (store / "manifest.json").write_text(json.dumps({"format": "something.else/1"}))
    else:
        (store / "c000.npy").write_bytes((store / "c000.npy").read_bytes()[:200])
    assert read_columns(store, made_from) is None


def test_rewriting_a_store_replaces_it_whole_and_leaves_no_temporary(tmp_path, source):
    made_from = [source_fingerprint(source)]
    write_columns(tmp_path / "store", {"a": np.zeros(3), "b": np.ones(3)}, made_from)
    write_columns(tmp_path / "store", {"c": np.arange(4)}, made_from)
    columns, _ = read_columns(tmp_path / "store", made_from)
    assert list(columns) == ["c"] and sorted(os.listdir(tmp_path)) == ["catalog.fits", "store"]


def test_columns_of_different_lengths_are_refused(tmp_path, source):
    with pytest.raises(ValueError, match="different lengths"):
        write_columns(tmp_path / "store", {"a": np.zeros(3), "b": np.zeros(4)}, [source_fingerprint(source)])


@pytest.fixture
def workspace(tmp_path):
    """A private copy of the tiny workspace without column stores."""
    copy = tmp_path / "ws"
    shutil.copytree(tiny_workspace(), copy, ignore=shutil.ignore_patterns(COLUMNS_DIRECTORY))
    return copy


def test_the_star_view_maps_its_stars_and_products_instead_of_copying_them(workspace):
    view = StarView(workspace).prepare()
    assert _mapped(view.apogee_id) and _mapped(view.z_mean) and _mapped(view.pairs.log_psd)
    assert _mapped(np.asarray(view.aligned("catalog")["LogAge"]))
    assert sorted(p.name for p in (workspace / COLUMNS_DIRECTORY).iterdir()) == [
        "allstar", "catalog", "encoded", "orbits", "pairs", "pairs_frequency", "seismic", "truth"]


def test_a_second_view_reads_the_stores_the_first_one_made(workspace):
    StarView(workspace).prepare()
    manifest = workspace / COLUMNS_DIRECTORY / "catalog" / "manifest.json"
    made = manifest.stat().st_mtime_ns
    again = StarView(workspace)
    assert len(again.aligned("catalog")) == len(again) and manifest.stat().st_mtime_ns == made


def test_a_rewritten_product_gets_its_store_rebuilt(workspace):
    first = StarView(workspace).label("age")
    catalog = workspace / "catalog.fits"
    stat = catalog.stat()
    os.utime(catalog, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # as a rerun of `catalog` leaves it
    manifest = workspace / COLUMNS_DIRECTORY / "catalog" / "manifest.json"
    before = json.loads(manifest.read_text())["sources"]
    np.testing.assert_array_equal(StarView(workspace).label("age"), first)
    assert json.loads(manifest.read_text())["sources"] != before


def test_a_workspace_where_no_store_can_be_written_is_viewed_from_memory(workspace):
    expected = StarView(workspace).label("fe_h")
    shutil.rmtree(workspace / COLUMNS_DIRECTORY)
    (workspace / COLUMNS_DIRECTORY).write_text("a file where the stores would go")  # as a read-only disk would
    view = StarView(workspace)
    np.testing.assert_array_equal(view.label("fe_h"), expected)
    assert not _mapped(view.z_mean)
