"""latentexplorer.steps: the mock PSD step, the training pairs and their cross-match."""

import logging

import numpy as np
import pytest
from synthetic import write_tess_lc

from latentexplorer import constants as C
from latentexplorer import psd
from latentexplorer.io.psdfile import PSDSet, read_psd_file, write_psd_file
from latentexplorer.io.seismic import read_seismic_catalog, write_seismic_catalog
from latentexplorer.mock import simulate_survey
from latentexplorer.io.pairs import read_pairs
from latentexplorer.steps import compute_mock_psds, compute_psd_files, make_pairs
from latentexplorer.workspace import Workspace


@pytest.fixture(scope="module")
def small_workspace(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    survey = simulate_survey(96, 24, seed=4)
    survey.write(ws.root, progress=False, light_curves=0)
    compute_mock_psds(survey, ws.paths.psd, progress=False, n_jobs=2)
    return ws, survey


def test_mock_psds_do_not_depend_on_the_number_of_processes(small_workspace, tmp_path):
    ws, survey = small_workspace
    compute_mock_psds(survey, tmp_path / "serial.h5", progress=False, n_jobs=1)
    serial, parallel = read_psd_file(tmp_path / "serial.h5"), read_psd_file(ws.paths.psd)
    assert np.array_equal(serial.log_psd, parallel.log_psd)
    assert list(serial.kic) == list(survey.seismic["KIC"])


def test_mock_psds_peak_near_the_true_numax(small_workspace):
    from latentexplorer.seismo import estimate_global_parameters

    ws, survey = small_workspace
    psds = read_psd_file(ws.paths.psd)
    found = np.array([estimate_global_parameters(psds.frequency, row).numax for row in psds.log_psd])
    truth = np.asarray(survey.kepler["NUMAX"])
    assert np.nanmedian(np.abs(found / truth - 1)) < 0.05


def test_pairs_keep_the_papers_training_sample(small_workspace):
    ws, _ = small_workspace
    summary = make_pairs(ws.paths.psd, ws.paths.spectra, ws.paths.seismic, ws.paths.pairs, progress=False)
    seismic = read_seismic_catalog(ws.paths.seismic)
    numax = np.asarray(seismic["NUMAX"])
    expected = (numax > C.TRAIN_NUMAX_RANGE_UHZ[0]) & (numax < C.TRAIN_NUMAX_RANGE_UHZ[1])
    pairs = read_pairs(ws.paths.pairs)
    ids = pairs.apogee_id
    assert pairs.spectra.shape == (len(ids), C.APOGEE_N_PIXELS)
    assert pairs.log_psd.shape == (len(ids), C.PSD_N_PIXELS)
    assert np.allclose(pairs.frequency, psd.frequency_grid())
    assert set(pairs.evolstate) <= {"RGB", "RC"}
    by_kic = {int(k): i for i, k in enumerate(seismic["KIC"])}
    assert all(str(seismic["APOGEE_ID"][by_kic[int(k)]]).strip() == i for k, i in zip(pairs.kic, ids))
    assert np.all((pairs.numax > 4) & (pairs.numax < 250))
    assert summary.done == len(ids) == expected.sum()


def test_pairs_refuse_psds_on_another_grid(small_workspace, tmp_path):
    ws, _ = small_workspace
    psds = read_psd_file(ws.paths.psd)
    other = PSDSet(psds.target_id, psds.kic, psds.tic, psds.frequency[:-1], psds.log_psd[:, :-1], psds.flags,
                   psds.source, psds.baseline_days, psds.n_points)
    write_psd_file(tmp_path / "other.h5", other)
    with pytest.raises(ValueError, match="another frequency grid"):
        make_pairs(tmp_path / "other.h5", ws.paths.spectra, ws.paths.seismic, tmp_path / "pairs.h5", progress=False)
    assert not (tmp_path / "pairs.h5").exists()


def test_pairs_without_any_match_is_a_clear_error(small_workspace, tmp_path):
    ws, _ = small_workspace
    psds = read_psd_file(ws.paths.psd)
    psds.kic = psds.kic + 10**8  # KICs the seismic catalog does not know
    write_psd_file(tmp_path / "foreign.h5", psds)
    with pytest.raises(ValueError, match="no seismic-catalog star"):
        make_pairs(tmp_path / "foreign.h5", ws.paths.spectra, ws.paths.seismic, tmp_path / "pairs.h5", progress=False)


def test_a_tess_light_curve_with_a_tic_in_the_seismic_catalog_becomes_a_training_pair(small_workspace, tmp_path,
                                                                                      caplog):
    ws, survey = small_workspace
    seismic = read_seismic_catalog(ws.paths.seismic)
    numax = np.asarray(seismic["NUMAX"])
    star = int(np.flatnonzero((numax > 10) & (numax < 200))[0])
    kic = int(seismic["KIC"][star])
    seismic["TIC"] = np.full(len(seismic), -1, dtype=np.int64)
    seismic["TIC"][star], seismic["KIC"][star] = 123456789, -1  # a star the catalog knows by its TIC only
    write_seismic_catalog(tmp_path / "seismic.fits", seismic)
    lc = survey.light_curve(kic)  # ~4 years at 29.4 min: a TESS CVZ baseline at the FFI cadence
    time, flux = lc.time_days[lc.good], lc.flux_ppm[lc.good]
    lc_dir = tmp_path / "tess"
    lc_dir.mkdir()
    write_tess_lc(lc_dir / "a_lc.fits", time, flux, tic=123456789)
    write_tess_lc(lc_dir / "b_lc.fits", time, flux, tic=987654321)  # not in the catalog
    write_tess_lc(lc_dir / "c_lc.fits", time, flux, obj="HD 1")  # no target key
    compute_psd_files([lc_dir], tmp_path / "psd.h5", progress=False, n_jobs=1)
    psds = read_psd_file(tmp_path / "psd.h5")
    assert list(psds.tic) == [123456789, 987654321, -1] and list(psds.kic) == [-1, -1, -1]
    assert list(psds.target_id) == ["TIC 123456789", "TIC 987654321", "HD 1"] and not psds.flags.any()

    with caplog.at_level(logging.WARNING, logger="latentexplorer"):
        summary = make_pairs(tmp_path / "psd.h5", ws.paths.spectra, tmp_path / "seismic.fits", tmp_path / "pairs.h5",
                             progress=False)
    pairs = read_pairs(tmp_path / "pairs.h5")
    assert summary.done == 1 and list(pairs.apogee_id) == [str(seismic["APOGEE_ID"][star]).strip()]
    assert list(pairs.kic) == [-1] and pairs.numax[0] == seismic["NUMAX"][star]
    np.testing.assert_array_equal(pairs.log_psd[0], psds.log_psd[0])
    lines = [r.getMessage() for r in caplog.records if "cannot be joined" in r.getMessage()]
    assert len(lines) == 1 and lines[0].endswith(": 1 have no target key (KIC or TIC); 1 have a key the catalog "
                                                 "does not list"), lines
    assert lines[0].startswith(f"{tmp_path / 'psd.h5'}: 2 usable PSDs cannot be joined to {tmp_path / 'seismic.fits'}")

    del seismic["KIC"]  # a TESS catalog: TIC alone
    write_seismic_catalog(tmp_path / "tic_only.fits", seismic)
    make_pairs(tmp_path / "psd.h5", ws.paths.spectra, tmp_path / "tic_only.fits", tmp_path / "tic.h5", progress=False)
    assert (tmp_path / "tic.h5").read_bytes() == (tmp_path / "pairs.h5").read_bytes()


def test_pairs_join_kepler_stars_by_kic_when_the_catalog_also_has_tics(small_workspace, tmp_path):
    ws, _ = small_workspace
    seismic = read_seismic_catalog(ws.paths.seismic)
    seismic["TIC"] = np.arange(1, len(seismic) + 1, dtype=np.int64)  # Kepler stars have TICs too
    write_seismic_catalog(tmp_path / "seismic.fits", seismic)
    assert read_seismic_catalog(tmp_path / "seismic.fits").colnames[:2] == ["KIC", "TIC"]
    make_pairs(ws.paths.psd, ws.paths.spectra, ws.paths.seismic, tmp_path / "kic.h5", progress=False)
    make_pairs(ws.paths.psd, ws.paths.spectra, tmp_path / "seismic.fits", tmp_path / "both.h5", progress=False)
    assert (tmp_path / "kic.h5").read_bytes() == (tmp_path / "both.h5").read_bytes()
