"""A step never writes over one of its inputs, nor over a file it did not make unless told to."""

import json
import shutil

import pytest
from demo_workspace import tiny_workspace

from latentexplorer.cli import main
from latentexplorer.steps.runtime.outputs import check_output, product_name


@pytest.fixture()
def ws(tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(tiny_workspace(), root)
    return root


def _calls(ws):
    s = ws / "survey"
    return {
        "encode onto its spectra": ["encode", str(ws / "model"), str(s / "spectra.h5"), "-o", str(s / "spectra.h5")],
        "pairs onto its PSDs": ["pairs", str(ws / "psd.h5"), str(s / "spectra.h5"), str(s / "seismic.fits"),
                                "-o", str(ws / "psd.h5")],
        "orbits onto its catalog": ["orbits", str(s / "allStar.fits"), "-o", str(s / "allStar.fits")],
        "catalog onto its allStar": ["catalog", str(ws), "-o", str(s / "allStar.fits")],
        "train onto its pairs": ["train", str(ws / "pairs.h5"), "-o", str(ws / "pairs.h5"), "--epochs", "1"],
    }


@pytest.mark.parametrize("case", list(_calls(tiny_workspace())))
def test_an_output_that_is_an_input_is_refused_with_one_line(ws, case, capsys):
    args = _calls(ws)[case]
    target = ws / args[args.index("-o") + 1].split("/ws/", 1)[1]
    before = target.read_bytes() if target.is_file() else None
    assert main(args + ["--overwrite"]) == 2  # not even with --overwrite
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is also an input" in err
    assert (target.read_bytes() if target.is_file() else None) == before
    assert not list(target.parent.glob("*.parts"))


def test_a_file_that_is_not_the_steps_product_is_replaced_only_with_overwrite(ws, capsys):
    foreign = ws / "notes.h5"
    foreign.write_text("my notes")
    args = ["encode", str(ws / "model"), str(ws / "survey" / "spectra.h5"), "-o", str(foreign)]
    assert main(args) == 2
    assert "not a latentexplorer latent file; add --overwrite" in capsys.readouterr().err
    assert foreign.read_text() == "my notes"
    assert main(args + ["--overwrite"]) == 0 and product_name(foreign) == "latent"


def test_a_rerun_replaces_its_own_product(ws):
    assert product_name(ws / "latent.h5") == "latent" and product_name(ws / "catalog.fits") == "catalog"
    assert product_name(ws / "model") == "model" and product_name(ws / "forest") == "forest"
    assert check_output(ws / "latent.h5", "latent", (ws / "model",)) == ws / "latent.h5"
    with pytest.raises(FileExistsError, match="not a latentexplorer catalog"):
        check_output(ws / "latent.h5", "catalog")


def test_a_second_run_on_an_output_being_written_says_who_holds_it(ws, capsys):
    import subprocess
    import sys
    import time

    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from latentexplorer.steps.runtime.outputs import output_lock\n"
        f"with output_lock({str(ws / 'catalog.fits')!r}):\n"
        "    print('locked', flush=True); time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = (ws / "catalog.fits").read_bytes()
        assert main(["catalog", str(ws), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert f"is being written by pid {holder.pid}" in err and len(err.strip().splitlines()) == 1
        assert (ws / "catalog.fits").read_bytes() == before
    finally:
        holder.kill()  # kill -9: the system releases the lock
        holder.wait()
    time.sleep(0.1)
    assert main(["catalog", str(ws), "--no-progress"]) == 0


def test_temporary_files_of_a_killed_run_are_removed_by_the_next(ws):
    stale = [ws / ".catalog.fits.letmp-k3j9x2ab.fits", ws / ".catalog.csv.gz.letmp-l3iyvdv6.csv.gz"]
    for path in stale:
        path.write_bytes(b"half a file")
    # files of yours that merely look like temporaries: only names atomic_output gives are removed
    keep = [ws / name for name in (".catalog.fits.notes", ".catalog.fits.backup-2024", ".catalog.fits.20241201",
                                   ".catalog.fits.letmp-notes")]
    for path in keep:
        path.write_text("mine")
    assert main(["catalog", str(ws), "--no-progress"]) == 0
    assert not any(path.exists() for path in stale) and all(path.read_text() == "mine" for path in keep)
    assert not (ws / ".catalog.fits.lock").exists()


def test_a_demo_rebuilt_with_overwrite_keeps_every_file_it_did_not_make(tmp_path):
    """demo --overwrite removes the files demo.json says the build made, and nothing else."""
    from latentexplorer.demo import _product_files, _remove_demo_products
    from latentexplorer.workspace import WorkspacePaths

    root = tmp_path / "ws"
    shutil.copytree(tiny_workspace(), root)
    made = json.loads((root / "demo.json").read_text())["files"]
    assert "survey/allStar.fits" in made and "model/model.keras" in made and "catalog.csv.gz" in made
    mine = {"report/my_annotations.md": "notes", "survey/my_real_allStar.fits": "data",
            "model/my_model_notes.txt": "notes", "forest/.my_hidden_notes": "notes"}
    for rel, content in mine.items():
        (root / rel).write_text(content)
    kept = _remove_demo_products(WorkspacePaths(root), made)
    assert sorted(kept) == sorted(mine)
    assert all((root / rel).read_text() == content for rel, content in mine.items())
    assert not (root / "psd.h5").exists() and not (root / "survey" / "kepler").exists()
    assert _product_files(WorkspacePaths(root)) == sorted(mine)


def test_a_rerun_of_a_finished_demo_does_not_count_your_files_as_its_own(tmp_path):
    from latentexplorer.demo import build_demo_workspace

    root = tmp_path / "ws"
    shutil.copytree(tiny_workspace(), root)
    before = json.loads((root / "demo.json").read_text())
    (root / "survey" / "my_real_allStar.fits").write_text("data")
    assert build_demo_workspace(root, size="tiny", train=True, progress=False) == {}  # nothing left to do
    assert json.loads((root / "demo.json").read_text()) == before
    assert "survey/my_real_allStar.fits" not in before["files"]
