"""kill -9 at five points of every chunked step, the final write included: the rerun's output is byte-identical
to an uninterrupted run's, nothing is left beside it (no parts, temporary or lock files) and no worker process
of the killed run lives on. kill -9 of ``ages`` while it writes the age model (a directory of seven files):
the steps that read it use the old model whole or refuse it in one line, never a mix of old and new files.

Each run is the real command in a child process, stopped at an exact point: the child pauses there (a patched
``PartStore`` method, ``os.replace`` or ``os.unlink``) and writes a marker file, then the test kills it with
SIGKILL.
"""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from astropy.table import Table
from demo_workspace import tiny_workspace

from latentexplorer.steps.catalog import build_catalog
from latentexplorer.cli import main
from latentexplorer.ages.files import FOREST_FILES
from latentexplorer.io.provenance import LEDGER_NAME
from latentexplorer.steps import compute_orbits, compute_psd_files, encode_spectra_file
from latentexplorer.workspace import Workspace

CHILD = r"""
import os, sys, time
from pathlib import Path
point, marker, argv = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
import latentexplorer.steps.runtime.batch as batch

def hold():
    marker.write_text(str(os.getpid()))
    time.sleep(600)

kind, _, arg = point.partition(":")
if kind == "manifest":  # the parts directory and its manifest exist, no part yet
    opened = batch.PartStore.open
    batch.PartStore.open = lambda self: (opened(self), hold())[0]
elif kind == "part":  # part ARG has just been written
    written = batch.PartStore.write
    def write(self, index, arrays):
        written(self, index, arrays)
        if index == int(arg):
            hold()
    batch.PartStore.write = write
elif kind == "rename":  # the final write: ARG's temporary file is complete, not yet renamed onto ARG
    replace = os.replace
    def held_replace(src, dst, *args, **kwargs):
        if Path(dst).name == arg:
            hold()
        return replace(src, dst, *args, **kwargs)
    os.replace = held_replace
elif kind == "unlink":  # ARG is about to be removed
    unlink = os.unlink
    def held_unlink(path, *args, **kwargs):
        if Path(path).name == arg:
            hold()
        return unlink(path, *args, **kwargs)
    os.unlink = held_unlink
from latentexplorer.cli import main
sys.exit(main(argv))
"""


def ws():
    return Workspace(tiny_workspace())


# step → (command line for an output directory OUT, the same run as a library call, outputs, its number of chunks)
STEPS = {
    "psd": (lambda out: ["psd", ws().paths.kepler, "-o", out / "psd.h5", "--chunk-size", "1"],
            lambda out: compute_psd_files([ws().paths.kepler], out / "psd.h5", chunk_size=1, progress=False),
            ("psd.h5",), lambda: len(list(ws().paths.kepler.glob("*.fits")))),
    "encode": (lambda out: ["encode", ws().paths.model, ws().paths.spectra, "-o", out / "latent.h5",
                            "--chunk-size", "32"],
               lambda out: encode_spectra_file(ws().paths.model, ws().paths.spectra, out / "latent.h5", 32,
                                               progress=False),
               ("latent.h5",), lambda: -(-len(ws().allstar) // 32)),
    "catalog": (lambda out: ["catalog", ws().root, "-o", out / "catalog.fits", "--chunk-size", "50"],
                lambda out: build_catalog(ws().root, out / "catalog.fits", progress=False, chunk_size=50),
                ("catalog.fits", "catalog.csv.gz"), lambda: -(-len(ws().allstar) // 50)),
    "orbits": (lambda out: ["orbits", ws().paths.allstar, "-o", out / "orbits.fits", "--chunk-size", "50"],
               lambda out: compute_orbits(ws().paths.allstar, out / "orbits.fits", chunk_size=50, progress=False),
               ("orbits.fits",), lambda: -(-len(ws().allstar) // 50)),
}


def kill_points(step):
    """Where a run of ``step`` is killed; "part:middle" and "part:last" are resolved by :func:`resolve`."""
    outputs = STEPS[step][2]
    points = ["manifest", "part:first", "part:middle", "part:last", f"rename:{outputs[0]}"]
    if len(outputs) > 1:  # the catalog: its CSV has landed, its FITS not yet
        points.append(f"rename:{outputs[1]}")
    return points


def resolve(point, n_chunks):
    index = {"part:first": 0, "part:middle": n_chunks // 2, "part:last": n_chunks - 1}.get(point)
    return point if index is None else f"part:{index}"


CASES = [(step, point) for step in STEPS for point in kill_points(step)]


def digests(directory, names):
    return {name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in names}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Each step's outputs from one uninterrupted run: name → SHA-256."""
    found = {}
    for step, (_, call, outputs, _) in STEPS.items():
        out = tmp_path_factory.mktemp(f"uninterrupted-{step}")
        call(out)
        found[step] = digests(out, outputs)
    return found


def kill_at(point, argv, marker):
    proc = subprocess.Popen([sys.executable, "-c", CHILD, point, str(marker), *map(str, argv), "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    reached = marker.exists()
    workers = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert reached, f"the run never reached {point}: {proc.stderr.read().decode()[-2000:]}"
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"worker processes outlived the killed run: {alive}"


@pytest.mark.slow
@pytest.mark.parametrize("step,point", CASES, ids=[f"{s}-{p.replace(':', '-')}" for s, p in CASES])
def test_kill_9_then_rerun_gives_the_uninterrupted_output_and_no_debris(step, point, uninterrupted, tmp_path):
    argv, call, outputs, n_chunks = STEPS[step]
    assert n_chunks() >= 3
    out = tmp_path / "out"
    out.mkdir()
    kill_at(resolve(point, n_chunks()), argv(out), tmp_path / "marker")
    assert not (out / outputs[0]).exists(), "a killed run left its output (the catalog: its FITS) in place"

    call(out)
    assert digests(out, outputs) == uninterrupted[step]
    assert sorted(p.name for p in out.iterdir()) == sorted([*outputs, LEDGER_NAME])


def test_a_killed_catalog_run_never_leaves_an_old_fits_beside_its_new_csv(uninterrupted, tmp_path):
    from latentexplorer.io.catalog import read_catalog, write_catalog

    out = tmp_path / "out"
    out.mkdir()
    build_catalog(ws().root, out / "catalog.fits", progress=False, chunk_size=50)
    write_catalog(read_catalog(out / "catalog.fits")[:10], out / "catalog.fits", out / "catalog.csv.gz")  # an old pair
    kill_at("rename:catalog.fits", STEPS["catalog"][0](out), tmp_path / "marker")
    assert not (out / "catalog.fits").exists()
    assert digests(out, ["catalog.csv.gz"]) == {"catalog.csv.gz": uninterrupted["catalog"]["catalog.csv.gz"]}


# --- the age model: a directory that lands as one ----------------------------------------------------------
def ages_argv(workspace, seed):
    return ["ages", workspace, "--n-train", "60", "--n-trees", "8", "--seed", str(seed)]


def forest_workspace(directory) -> Path:
    """A copy of the tiny workspace's inputs of ``ages`` and ``catalog`` (no forest yet)."""
    root = directory / "ws"
    shutil.copytree(tiny_workspace(), root, ignore=shutil.ignore_patterns("report", "kepler", "search", "forest",
                                                                          "catalog.*", "orbits.fits"))
    return root


def catalog_ages(workspace, output) -> np.ndarray:
    """The catalog's Age column (Gyr, allStar order; NaN without age) made by the CLI from ``workspace``."""
    assert main(["catalog", str(workspace), "-o", str(output), "--overwrite", "--no-progress"]) == 0
    return np.asarray(Table.read(output)["Age"], float)


@pytest.fixture(scope="module")
def forest_ages(tmp_path_factory):
    """Catalog ages of uninterrupted ``ages`` runs with seed 1 (the old model of the tests) and seed 0."""
    root = forest_workspace(tmp_path_factory.mktemp("uninterrupted-ages"))
    found = {}
    for seed in (1, 0):
        assert main([*ages_argv(str(root), seed), "--no-progress"]) == 0
        found[seed] = catalog_ages(root, root.parent / f"catalog-{seed}.fits")
    return found


FOREST_CASES = {
    "unlink:metadata.json": "old",  # every new file written beside its place, the old model untouched
    "rename:age_forest.skops": "refused",  # the old metadata removed, the new files landing
    "rename:metadata.json": "refused",  # every new file landed but the metadata
}


@pytest.mark.slow
@pytest.mark.parametrize("point", list(FOREST_CASES))
def test_ages_killed_while_writing_leaves_the_old_model_whole_or_refused_in_one_line(point, forest_ages, tmp_path,
                                                                                       capsys):
    old, new = forest_ages[1], forest_ages[0]
    assert np.nanmedian(np.abs(old - new)) > 0.05  # the two models give other ages: a mix would show
    ws = forest_workspace(tmp_path)
    assert main([*ages_argv(str(ws), 1), "--no-progress"]) == 0
    kill_at(point, ages_argv(ws, 0), tmp_path / "marker")
    capsys.readouterr()
    code = main(["catalog", str(ws), "-o", str(tmp_path / "catalog.fits"), "--no-progress"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    main(["status", str(ws)])
    forest_line = next(line for line in capsys.readouterr().out.splitlines() if line.split()[0] == "forest")
    if FOREST_CASES[point] == "old":
        assert code == 0
        np.testing.assert_array_equal(np.asarray(Table.read(tmp_path / "catalog.fits")["Age"], float), old)
        assert forest_line.split()[1] == "ok"
    else:
        assert code == 2 and len(err) == 1 and "Traceback" not in err[0]
        assert "forest is incomplete: it lacks metadata.json" in err[0] and "rerun `latentexplorer ages`" in err[0]
        assert not (tmp_path / "catalog.fits").exists()
        assert "UNUSABLE: age model directory" in forest_line and "is incomplete" in forest_line

    assert main([*ages_argv(str(ws), 0), "--no-progress"]) == 0  # the rerun: the new model, no debris
    np.testing.assert_array_equal(catalog_ages(ws, tmp_path / "catalog.fits"), new)
    assert sorted(p.name for p in (ws / "forest").iterdir()) == sorted(FOREST_FILES)
    assert not [p.name for p in ws.iterdir() if p.name.startswith(".")]
