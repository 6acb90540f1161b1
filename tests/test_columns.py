"""Column stores (io/columns.py): columns round-trip memory-mapped, a stale or broken store is rebuilt, never
read; the dashboards' per-star arrays (StarView, Workspace.columns) are views of the mapped files, not copies."""

import json
import mmap
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from demo_workspace import tiny_workspace

from latentexplorer.io.columns import COLUMNS_VERSION, column_store, read_columns, write_columns
from latentexplorer.selection import table_column
from latentexplorer.widgets.star_view import ALIGNED, StarView, prepare_columns
from latentexplorer.workspace import Workspace


def _mapped(array) -> bool:
    """Whether ``array``'s memory is a file mapping (its chain of bases ends in an mmap)."""
    base = array
    while getattr(base, "base", None) is not None:
        base = base.base
    return isinstance(base, mmap.mmap)


def _columns():
    return {"x": np.arange(5, dtype=">f8"), "z": np.ones((5, 3), np.float32), "flag": np.array([1, 0, 1, 0, 1], bool),
            "id": np.array(["2M1", "2M22", "", "2M4444", "Ü"]), "empty": np.zeros((0, 7), np.float32),
            "fingerprint": np.array("abc")}


def test_columns_round_trip_memory_mapped_in_native_byte_order(tmp_path):
    source = tmp_path / "product.dat"
    source.write_bytes(b"product")
    write_columns(tmp_path / "store", _columns(), {"product": source}, units={"x": "kpc"})
    store = read_columns(tmp_path / "store", {"product": source})
    assert list(store) == list(_columns()) and store.units == {"x": "kpc", "z": None, "flag": None, "id": None,
                                                               "empty": None, "fingerprint": None}
    for name, values in _columns().items():
        np.testing.assert_array_equal(store[name], values)
        assert store[name].dtype == values.dtype.newbyteorder("=") and not store[name].flags.writeable
    assert all(isinstance(store[n], np.memmap) for n in ("x", "z", "flag", "id", "fingerprint"))
    assert store["empty"].shape == (0, 7)  # an empty file cannot be mapped: a plain empty array
    assert store["fingerprint"].item() == "abc"


def test_a_stale_store_is_rebuilt_and_a_fresh_one_read_as_it_is(tmp_path):
    source = tmp_path / "product.dat"
    source.write_bytes(b"one")
    builds = []

    def build():
        builds.append(source.read_bytes())
        return {"content": np.frombuffer(source.read_bytes(), np.uint8).copy()}, {}

    assert bytes(column_store(tmp_path / "store", {"p": source}, build)["content"]) == b"one"
    assert bytes(column_store(tmp_path / "store", {"p": source}, build)["content"]) == b"one"
    assert len(builds) == 1
    source.write_bytes(b"three")  # the product rewritten: another size and mtime
    assert bytes(column_store(tmp_path / "store", {"p": source}, build)["content"]) == b"three"
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # same size, touched
    column_store(tmp_path / "store", {"p": source}, build)
    assert len(builds) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [".store.lock", "product.dat", "store"]  # no temporaries


@pytest.mark.parametrize("damage", ["foreign", "newer", "truncated", "no manifest"])
def test_a_broken_store_is_never_read(tmp_path, damage):
    source = tmp_path / "product.dat"
    source.write_bytes(b"product")
    write_columns(tmp_path / "store", _columns(), {"product": source})
    manifest = tmp_path / "store" / "manifest.json"
    content = json.loads(manifest.read_text())
    if damage == "foreign":
        content["format"] = "someone.else/1"
    elif damage == "newer":
        content["format"] = f"latentexplorer.columns/{COLUMNS_VERSION + 1}"
    elif damage == "truncated":
        path = tmp_path / "store" / content["columns"]["z"]["file"]
        path.write_bytes(path.read_bytes()[:-8])
    if damage == "no manifest":
        manifest.unlink()
    else:
        manifest.write_text(json.dumps(content))
    assert read_columns(tmp_path / "store", {"product": source}) is None
    rebuilt = column_store(tmp_path / "store", {"product": source}, lambda: (_columns(), {}))
    np.testing.assert_array_equal(rebuilt["z"], _columns()["z"])


def test_columns_that_cannot_be_mapped_are_refused(tmp_path):
    source = tmp_path / "product.dat"
    source.write_bytes(b"product")
    for wrong in (np.array(["a", None], dtype=object), np.ma.masked_array([1.0, 2.0], [False, True])):
        with pytest.raises(ValueError, match="masked or of objects"):
            write_columns(tmp_path / "store", {"bad": wrong}, {"product": source})
    assert not (tmp_path / "store").exists()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A copy of the tiny demo workspace without its column stores."""
    root = tmp_path_factory.mktemp("columns") / "workspace"
    shutil.copytree(tiny_workspace(), root, ignore=shutil.ignore_patterns("columns", ".*.lock"))
    return root


def test_star_view_arrays_are_the_mapped_stores_and_match_the_products(workspace):
    assert prepare_columns(workspace) == ["stars", *(f"stars.{name}" for name in ALIGNED), "pairs", "psd",
                                          "jacobians"]
    ws = Workspace(workspace)
    view = StarView(ws)
    latent = ws.latent
    good = np.isfinite(latent.z_mean).all(axis=1)
    np.testing.assert_array_equal(view.z_mean, latent.z_mean[good])
    np.testing.assert_array_equal(view.apogee_id, latent.apogee_id[good])
    for array in (view.z_mean, view.z_std, view.apogee_id, ws.columns("pairs")["log_psd"], ws.columns("psd")["log_psd"]):
        assert isinstance(array, np.memmap)
    assert view.z_mean is view.z_mean  # the store's array itself: no copy per access
    catalog = view.aligned("catalog")
    for name in ("LogAge", "AGE_FLAG", "APOGEE_ID"):
        assert _mapped(np.asarray(catalog[name]))
    assert _mapped(table_column(catalog, "LogAge"))  # a float64 column reaches the pages uncopied
    assert str(catalog["Age"].unit) == str(ws.catalog["Age"].unit)
    np.testing.assert_array_equal(ws.columns("pairs")["numax"], ws.pairs.numax)


def test_a_changed_product_rebuilds_its_store_for_the_next_view(workspace):
    view = StarView(workspace)
    before = np.array(view.aligned("orbits")["R"])
    manifest = workspace / "columns" / "stars.orbits" / "manifest.json"
    built = manifest.stat().st_mtime_ns
    stat = (workspace / "orbits.fits").stat()
    os.utime(workspace / "orbits.fits", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    np.testing.assert_array_equal(StarView(workspace).aligned("orbits")["R"], before)
    assert manifest.stat().st_mtime_ns != built


@pytest.mark.skipif(shutil.which("unshare") is None or subprocess.run(["unshare", "-Urm", "true"]).returncode != 0,
                    reason="needs unshare (a private mount namespace) to mount read-only")
def test_a_read_only_workspace_without_its_store_keeps_the_columns_in_memory(tmp_path):
    (tmp_path / "product.dat").write_bytes(b"product")
    script = ("import numpy as np; from latentexplorer.io.columns import column_store\n"
              f"s = column_store({str(tmp_path / 'columns' / 'p')!r}, {{'p': {str(tmp_path / 'product.dat')!r}}}, "
              "lambda: ({'x': np.arange(3.0)}, {}))\n"
              "print(type(s['x']).__name__, s['x'].tolist())")
    run = subprocess.run(["unshare", "-Urm", "sh", "-c", f"mount --bind {tmp_path} {tmp_path} && mount -o "
                          f"remount,bind,ro {tmp_path} && {sys.executable} -c \"{script}\""],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[-2] == "ndarray [0.0, 1.0, 2.0]" and "kept in this process's memory" in run.stderr
    assert not (tmp_path / "columns").exists()
