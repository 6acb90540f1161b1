"""Survey-scale runs: chunked steps resume after an interruption and give the same output on Dask."""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from demo_workspace import tiny_workspace

from latentexplorer.steps.runtime.batch import PartStore, Staged, dask_client, plan_chunks, run_chunks
from latentexplorer.steps.catalog import build_catalog
from latentexplorer.io.kepler import write_kepler_llc
from latentexplorer.io.psdfile import read_psd_file
from latentexplorer.io.catalog import read_catalog
from latentexplorer.io.latent import read_latent
from latentexplorer.steps import compute_orbits, compute_psd_files, encode_spectra_file
from latentexplorer.workspace import Workspace
from synthetic import oscillating_star


def squares(start, stop):
    return {"x": np.arange(start, stop) ** 2}


def test_chunks_cover_every_row_once():
    chunks = plan_chunks(10, 4)
    assert [(c.start, c.stop) for c in chunks] == [(0, 4), (4, 8), (8, 10)]
    assert [c.index for c in chunks] == [0, 1, 2]
    with pytest.raises(ValueError, match="positive"):
        plan_chunks(10, 0)


def test_a_rerun_computes_only_the_chunks_an_interrupted_run_left(tmp_path):
    chunks = plan_chunks(10, 3)
    jobs = [(c, (c.start, c.stop)) for c in chunks]
    store = PartStore(tmp_path / "out.h5", {"step": "squares"})
    calls = []

    def fails_on_third(start, stop):
        calls.append(start)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return squares(start, stop)

    with pytest.raises(KeyboardInterrupt):
        run_chunks(fails_on_third, jobs, store, progress=False)
    assert sorted(p.name for p in store.directory.glob("part-*")) == ["part-000000.npz", "part-000001.npz"]
    calls.clear()
    assert run_chunks(fails_on_third, jobs, PartStore(tmp_path / "out.h5", {"step": "squares"}), progress=False) == 2
    assert calls == [6, 9]
    values = np.concatenate([part["x"] for _, part in store.iter_parts(chunks)])
    np.testing.assert_array_equal(values, np.arange(10) ** 2)


def test_parts_of_a_run_with_other_inputs_are_discarded(tmp_path):
    chunks = plan_chunks(4, 2)
    jobs = [(c, (c.start, c.stop)) for c in chunks]
    run_chunks(squares, jobs, PartStore(tmp_path / "out.h5", {"step": "squares", "input": "a"}), progress=False)
    assert run_chunks(squares, jobs, PartStore(tmp_path / "out.h5", {"step": "squares", "input": "a"}),
                      progress=False) == 0
    assert run_chunks(squares, jobs, PartStore(tmp_path / "out.h5", {"step": "squares", "input": "b"}),
                      progress=False) == 2


def test_a_damaged_chunk_is_discarded_and_computed_again(tmp_path, caplog):
    """A chunk truncated on disk (a full disk, a copy cut short) never fails every rerun with BadZipFile."""
    chunks = plan_chunks(6, 2)
    jobs = [(c, (c.start, c.stop)) for c in chunks]
    store = PartStore(tmp_path / "out.h5", {"step": "squares"})
    run_chunks(squares, jobs, store, progress=False)
    part = store.directory / "part-000001.npz"
    part.write_bytes(part.read_bytes()[:40])
    with caplog.at_level("WARNING"):
        assert run_chunks(squares, jobs, PartStore(tmp_path / "out.h5", {"step": "squares"}), progress=False) == 1
    assert any("part-000001.npz is damaged" in r.getMessage() for r in caplog.records)
    values = np.concatenate([p["x"] for _, p in store.iter_parts(chunks)])
    np.testing.assert_array_equal(values, np.arange(6) ** 2)


def test_parts_with_an_unreadable_manifest_start_afresh(tmp_path):
    chunks = plan_chunks(4, 2)
    jobs = [(c, (c.start, c.stop)) for c in chunks]
    store = PartStore(tmp_path / "out.h5", {"step": "squares"})
    run_chunks(squares, jobs, store, progress=False)
    (store.directory / "manifest.json").write_text("{not json")
    assert run_chunks(squares, jobs, PartStore(tmp_path / "out.h5", {"step": "squares"}), progress=False) == 2


def test_a_staged_function_reads_the_next_chunk_while_this_one_computes_and_no_further(tmp_path):
    """In this process, chunk i + 1's read starts before chunk i's compute ends (compute waits for it),
    and chunk i + 2's does not (one chunk ahead: bounded memory); the parts are those of the plain call."""
    chunks = plan_chunks(10, 3)
    jobs = [(c, (c.start, c.stop)) for c in chunks]
    reads = [threading.Event() for _ in chunks]

    def read(start, stop):
        reads[start // 3].set()
        return np.arange(start, stop)

    def compute(x):
        i = int(x[0]) // 3
        next_read = i + 1 == len(chunks) or reads[i + 1].wait(timeout=30)
        read_two_ahead = i + 2 < len(chunks) and reads[i + 2].is_set()
        return {"x": x ** 2, "next_read": np.array(next_read), "two_ahead": np.array(read_two_ahead)}

    store = PartStore(tmp_path / "out.h5", {"step": "squares"})
    assert run_chunks(Staged(read, compute), jobs, store, progress=False) == 4
    parts = [part for _, part in store.iter_parts(chunks)]
    assert [bool(p["next_read"]) for p in parts] == [True] * 4
    assert [bool(p["two_ahead"]) for p in parts] == [False] * 4
    np.testing.assert_array_equal(np.concatenate([p["x"] for p in parts]), np.arange(10) ** 2)
    assert Staged(read, compute)(3, 6)["x"].tolist() == [9, 16, 25]


def test_scheduler_and_workers_are_exclusive():
    with pytest.raises(ValueError, match="not both"), dask_client("tcp://127.0.0.1:1", 2):
        pass
    with pytest.raises(ValueError, match="at least 1"), dask_client(None, 0):
        pass


def assert_same_latent(a, b):
    for name in ("apogee_id", "z_mean", "z_std", "flag"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    ws = Workspace(tiny_workspace())
    out = tmp_path_factory.mktemp("encode") / "latent.h5"
    n, bad = encode_spectra_file(ws.paths.model, ws.paths.spectra, out, chunk_size=16, progress=False)
    assert (n, bad) == (len(ws.allstar), 0)
    assert not out.with_name("latent.h5.parts").exists()
    return read_latent(out)


SLOW_ENCODE = """
import sys, time
import latentexplorer.steps.encode as step
encode_chunk = step._encode_chunk
def slow(*args):
    time.sleep(0.3)
    return encode_chunk(*args)
step._encode_chunk = slow
step.encode_spectra_file(sys.argv[1], sys.argv[2], sys.argv[3], chunk_size=16, progress=False)
"""


def test_kill_9_during_encode_then_rerun_resumes_and_matches_an_uninterrupted_run(tmp_path, uninterrupted):
    ws = Workspace(tiny_workspace())
    out = tmp_path / "latent.h5"
    parts = tmp_path / "latent.h5.parts"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_ENCODE, str(ws.paths.model), str(ws.paths.spectra), str(out)])
    deadline = time.monotonic() + 240
    while len(list(parts.glob("part-*.npz"))) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list(parts.glob("part-*.npz")))
    assert 3 <= finished < len(plan_chunks(len(uninterrupted), 16))
    assert not out.exists()  # no half-written output

    encode_spectra_file(ws.paths.model, ws.paths.spectra, out, chunk_size=16, progress=False)
    assert_same_latent(read_latent(out), uninterrupted)
    assert not parts.exists()


@pytest.fixture(scope="module")
def local_cluster():
    with dask_client(workers=2) as client:
        yield client


def test_encode_on_a_two_worker_local_cluster_matches_one_process(tmp_path, uninterrupted, local_cluster):
    ws = Workspace(tiny_workspace())
    out = tmp_path / "latent.h5"
    encode_spectra_file(ws.paths.model, ws.paths.spectra, out, chunk_size=16, progress=False, client=local_cluster)
    assert_same_latent(read_latent(out), uninterrupted)


def test_catalog_on_a_two_worker_local_cluster_matches_one_process(tmp_path, local_cluster):
    ws = Workspace(tiny_workspace())
    build_catalog(ws, output=tmp_path / "serial.fits", progress=False, chunk_size=64)
    build_catalog(ws, output=tmp_path / "dask.fits", progress=False, chunk_size=64, client=local_cluster)
    serial, dask = read_catalog(tmp_path / "serial.fits"), read_catalog(tmp_path / "dask.fits")
    assert np.isfinite(serial["LogAge"]).sum() > 10
    for name in serial.colnames:
        np.testing.assert_array_equal(serial[name], dask[name], err_msg=name)
    assert (tmp_path / "serial.csv.gz").read_bytes() == (tmp_path / "dask.csv.gz").read_bytes()


def test_orbits_on_a_two_worker_local_cluster_match_one_process(tmp_path, local_cluster):
    ws = Workspace(tiny_workspace())
    serial = compute_orbits(ws.paths.truth, tmp_path / "serial.fits", chunk_size=100, progress=False)
    dask = compute_orbits(ws.paths.truth, tmp_path / "dask.fits", chunk_size=100, progress=False, client=local_cluster)
    assert (np.asarray(serial["FLAG"]) == 0).sum() > 0.9 * len(serial)
    for name in serial.colnames:
        np.testing.assert_array_equal(serial[name], dask[name], err_msg=name)
    assert serial["Lz"].unit == dask["Lz"].unit


def test_psds_from_two_forked_processes_or_a_two_worker_local_cluster_match_one_process(tmp_path, local_cluster):
    for kic, numax in ((11, 40.0), (12, 90.0), (13, 150.0)):
        t, y = oscillating_star(numax, 0.28 * numax**0.75, baseline_days=400.0, seed=kic)
        write_kepler_llc(tmp_path / f"kplr{kic:09d}-2013131215648_llc.fits", kic, t + 120.0, y,
                         np.full(t.size, 50.0), np.zeros(t.size, np.int32), kepmag=11.0)
    (tmp_path / "kplr000000014-2013131215648_llc.fits").write_text("not a FITS file")
    serial = read_psd_file(compute_psd_files([tmp_path], tmp_path / "serial.h5", progress=False,
                                             chunk_size=3, n_jobs=1).output)
    forked = read_psd_file(compute_psd_files([tmp_path], tmp_path / "forked.h5", progress=False,
                                             chunk_size=3, n_jobs=2).output)
    dask = read_psd_file(compute_psd_files([tmp_path], tmp_path / "dask.h5", progress=False, chunk_size=2,
                                           client=local_cluster).output)
    assert list(serial.kic) == [11, 12, 13, -1] and serial.flags[3] != 0
    for other in (forked, dask):
        for name in ("target_id", "kic", "log_psd", "flags", "source", "baseline_days", "n_points"):
            np.testing.assert_array_equal(getattr(serial, name), getattr(other, name), err_msg=name)
