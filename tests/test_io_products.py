"""The workspace's HDF5 and directory products: each says what it is, and a foreign, tampered, truncated or
newer file gets one clear error naming the file."""

import json

import h5py
import numpy as np
import pytest
from astropy.table import Table

from latentexplorer.cli import main
from latentexplorer.ages.files import FOREST_VERSION, read_forest
from latentexplorer.io.latent import LatentSet, read_latent, write_latent
from latentexplorer.io.pairs import PairsSet, read_pair_ids, read_pairs, write_pairs
from latentexplorer.io.psdfile import PSDSet, read_psd_file, write_psd_file
from latentexplorer.ved.record import TrainingRecord, read_training_record, write_training_record
from latentexplorer.psd import frequency_grid


def _latent(path, n=6):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((n, 5)).astype(np.float32)
    write_latent(path, LatentSet(np.array([f"2M{i:08d}" for i in range(n)]), z, np.abs(z), np.zeros(n, np.int32), "f"))
    return path


def _pairs(path, n=4):
    grid = frequency_grid()
    write_pairs(path, PairsSet(np.array([f"2M{i:08d}" for i in range(n)]), np.arange(n), np.ones((n, 7514), np.float32),
                               np.zeros((n, grid.size), np.float32), np.linspace(20, 80, n), np.array(["RGB"] * n), grid))
    return path


def test_latent_and_pairs_round_trip(tmp_path):
    latent = read_latent(_latent(tmp_path / "latent.h5"))
    assert latent.apogee_id[2] == "2M00000002" and latent.z_mean.shape == (6, 5) and latent.model_fingerprint == "f"
    pairs = read_pairs(_pairs(tmp_path / "pairs.h5"), rows=[1, 3])
    assert list(pairs.apogee_id) == ["2M00000001", "2M00000003"] and pairs.spectra.shape == (2, 7514)
    assert list(read_pair_ids(tmp_path / "pairs.h5")) == [f"2M{i:08d}" for i in range(4)]


def test_a_product_read_as_another_names_both(tmp_path):
    _latent(tmp_path / "latent.h5")
    with pytest.raises(ValueError, match=r"latent.h5 is a latentexplorer.latent file, not a latentexplorer.pairs"):
        read_pairs(tmp_path / "latent.h5")


def test_a_foreign_hdf5_file_is_refused(tmp_path):
    Table({"z_mean": np.zeros((2, 5))}).write(tmp_path / "foreign.h5", path="data")
    for reader in (read_latent, read_pairs, read_psd_file):
        with pytest.raises(ValueError, match="foreign.h5 is not a latentexplorer.* file"):
            reader(tmp_path / "foreign.h5")


def test_a_newer_version_is_refused(tmp_path):
    path = _latent(tmp_path / "latent.h5")
    raw = path.read_bytes()
    assert raw.count(b"latentexplorer.latent/1") == 1
    path.write_bytes(raw.replace(b"latentexplorer.latent/1", b"latentexplorer.latent/7"))
    with pytest.raises(ValueError, match="version 7.*upgrade latentexplorer"):
        read_latent(path)


@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_a_truncated_file_gives_one_line_naming_it(tmp_path, keep):
    path = _pairs(tmp_path / "pairs.h5")
    raw = path.read_bytes()
    path.write_bytes(raw[: int(keep * len(raw))])
    with pytest.raises(ValueError, match=r"pairs.h5 is (damaged or truncated|not an HDF5 file)"):
        read_pairs(path)


def test_the_cli_reports_a_foreign_product_in_one_line(tmp_path, capsys):
    from synthetic_workspace import make_workspace

    ws, _ = make_workspace(tmp_path, n_stars=60, n_seismic=40)
    _pairs(ws.paths.latent)  # a pairs file where the latent file should be
    assert main(["ages", str(ws.root)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is a latentexplorer.pairs file, not a latentexplorer.latent file" in err


def test_a_training_record_whose_ids_were_edited_is_refused(tmp_path):
    write_training_record(tmp_path, TrainingRecord(np.array(["a", "b"]), np.array(["c"]), "abc"))
    assert list(read_training_record(tmp_path).train_ids) == ["a", "b"]
    path = tmp_path / "training_record.json"
    payload = json.loads(path.read_text())
    payload["train_ids"].append("d")
    path.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match="was edited"):
        read_training_record(tmp_path)
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a latentexplorer.training_record"):
        read_training_record(tmp_path)


def test_a_forest_file_replaced_by_garbage_is_refused_in_one_line(tmp_path):
    (tmp_path / "metadata.json").write_text(json.dumps({"format": f"latentexplorer.forest/{FOREST_VERSION}"}))
    for name in ("age_forest.skops", "evolstate_forest.skops"):
        (tmp_path / name).write_bytes(b"\x80\x04garbage, not a zip")
    with pytest.raises(ValueError, match="age_forest.skops is not a skops"):
        read_forest(tmp_path)
    (tmp_path / "metadata.json").write_text(json.dumps({"format_version": 1}))
    with pytest.raises(ValueError, match="rerun `latentexplorer ages`"):
        read_forest(tmp_path)


def test_minus_9999_in_an_integer_column_is_missing_but_bitmasks_are_kept(tmp_path):
    from astropy.table import Table

    from latentexplorer.io.allstar import read_allstar

    path = tmp_path / "allStar.fits"
    Table({"APOGEE_ID": ["2M1", "2M2"], "TEFF": np.array([4800, -9999], np.int32),
           "STARFLAG": np.array([0, -9999], np.int64)}).write(path)
    table = read_allstar(path)
    assert table["TEFF"][0] == 4800.0 and np.isnan(table["TEFF"][1])
    assert table["STARFLAG"].dtype.kind == "i" and table["STARFLAG"][1] == -9999


def _psds(path, n=3):
    grid = frequency_grid()
    psds = PSDSet(np.array(["KIC 11", "TIC 22", "HD 1"]), np.array([11, -1, -1]), np.array([-1, 22, -1]), grid,
                  np.zeros((n, grid.size), np.float32), np.zeros(n, np.uint16), np.array(["a", "b", "c"]),
                  np.full(n, 1400.0), np.full(n, 70000))
    write_psd_file(path, psds)
    return path


def test_psd_files_keep_each_light_curves_target_key(tmp_path):
    psds = read_psd_file(_psds(tmp_path / "psd.h5"))
    assert list(psds.kic) == [11, -1, -1] and list(psds.tic) == [-1, 22, -1]
    with h5py.File(tmp_path / "psd.h5") as h5:
        assert h5.attrs["format"] == "latentexplorer.psd/2"


def test_a_version_1_psd_file_reads_with_no_tic(tmp_path):
    path = _psds(tmp_path / "psd.h5")
    with h5py.File(path, "r+") as h5:  # what psd wrote before light curves were keyed by TIC
        h5.attrs["format"] = "latentexplorer.psd/1"
        del h5["TIC"]
    psds = read_psd_file(path)
    assert list(psds.kic) == [11, -1, -1] and list(psds.tic) == [-1, -1, -1]


def test_a_version_2_psd_file_without_tic_is_refused_in_one_line(tmp_path):
    path = _psds(tmp_path / "psd.h5")
    with h5py.File(path, "r+") as h5:
        del h5["TIC"]
    with pytest.raises(ValueError, match=r"psd.h5 lacks the dataset\(s\) TIC of a latentexplorer.psd file"):
        read_psd_file(path)
