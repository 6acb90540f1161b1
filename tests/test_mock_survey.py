"""The mock survey's files: formats, round trips, observed catalogs, determinism and the CLI."""

import warnings

import numpy as np
import pytest
from astropy.table import Table

from latentexplorer.cli import main
from latentexplorer.io.allstar import ALLSTAR_COLUMNS, ASPCAPFLAG_BITS, STARFLAG_BITS, read_allstar
from latentexplorer.io.apogee_spectra import read_apstar, read_spectra_rows, read_stacked_spectra
from latentexplorer.io.seismic import SEISMIC_COLUMNS, read_seismic_catalog, write_seismic_catalog
from latentexplorer.io.truth import mapped_truth, read_truth, write_truth
from latentexplorer.mock import MockSurvey, simulate_survey
from latentexplorer.mock.survey import SPECTRA_BLOCK, spectra_from_truth
from latentexplorer.io.spectra_files import count_spectra, read_normalized_spectra


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    survey = simulate_survey(150, 4, seed=3)
    directory = tmp_path_factory.mktemp("mock")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = survey.write(directory, progress=False)
    return survey, directory, paths


@pytest.fixture(scope="module")
def catalogs():
    """A larger survey, catalogs only (nothing written), for the flag and error statistics."""
    return simulate_survey(4000, 1500, seed=8)


def test_layout_and_readme(written):
    survey, directory, paths = written
    assert isinstance(survey, MockSurvey)
    for name in ("truth.fits", "survey/allStar.fits", "survey/seismic.fits", "survey/spectra.h5", "survey/README.txt"):
        assert (directory / name).is_file(), name
    assert len(list((directory / "survey" / "kepler").glob("kplr*_llc.fits"))) == 4
    readme = (directory / "survey" / "README.txt").read_text()
    assert "allStar.fits" in readme and "seismic.fits" in readme and "kepler/" in readme
    assert not list(directory.rglob(".*.tmp"))  # no leftovers of the atomic writes


def test_truth_round_trips_through_fits(written):
    survey, directory, _ = written
    back = read_truth(directory / "truth.fits")
    assert len(back) == 150
    for name in ("APOGEE_ID", "KIC", "EVOLSTATE", "MASS", "AGE", "NUMAX", "DELTANU", "RA", "DEC", "PMRA", "VLOS"):
        np.testing.assert_array_equal(back[name], survey.truth[name])
    assert back["NUMAX"].unit == "uHz" and back["AGE"].unit == "Gyr"


def test_allstar_has_dr17_columns_and_round_trips(written):
    survey, directory, _ = written
    assert [c[0] for c in ALLSTAR_COLUMNS] == read_allstar(directory / "survey" / "allStar.fits").colnames
    back = read_allstar(directory / "survey" / "allStar.fits", columns=["APOGEE_ID", "TEFF", "SNREV"])
    assert back.colnames == ["APOGEE_ID", "TEFF", "SNREV"]
    np.testing.assert_array_equal(back["APOGEE_ID"], survey.truth["APOGEE_ID"])
    np.testing.assert_allclose(back["TEFF"], survey.allstar["TEFF"], rtol=1e-6)
    with pytest.raises(ValueError, match="NOPE"):
        read_allstar(directory / "survey" / "allStar.fits", columns=["NOPE"])


def test_allstar_measurements_errors_and_flags(catalogs, tmp_path):
    truth, allstar = catalogs.truth, catalogs.allstar
    ok = np.isfinite(allstar["TEFF"])
    pull = (allstar["TEFF"][ok] - truth["TEFF"][ok]) / allstar["TEFF_ERR"][ok]
    assert np.std(pull) == pytest.approx(1.0, abs=0.08)
    star_bad = (allstar["ASPCAPFLAG"] & (1 << ASPCAPFLAG_BITS["STAR_BAD"])) > 0
    assert 0 < star_bad.sum() < 60
    assert np.all(np.isnan(allstar["TEFF"][star_bad])) and np.all(np.isfinite(allstar["TEFF"][~star_bad]))
    assert np.isnan(allstar["FE_H"]).sum() > star_bad.sum()  # some stars lack only [Fe/H]
    persist = (allstar["STARFLAG"] & (1 << STARFLAG_BITS["PERSIST_HIGH"])) > 0
    assert persist.sum() > 0 and np.all(allstar["SNREV"][persist] < 0.36 * truth["SNR"][persist])
    # Missing Gaia values are −9999 in the file, NaN once read.
    no_gaia = allstar["GAIAEDR3_PARALLAX"] == -9999.0
    assert no_gaia.sum() > 0
    from latentexplorer.io.allstar import write_allstar

    write_allstar(tmp_path / "a.fits", allstar)
    back = read_allstar(tmp_path / "a.fits", columns=["GAIAEDR3_PARALLAX"])
    np.testing.assert_array_equal(np.isnan(back["GAIAEDR3_PARALLAX"]), no_gaia)


def test_seismic_catalog_errors_like_apokasc2(catalogs):
    seis, truth = catalogs.seismic, catalogs.kepler
    assert len(seis) == 1500
    np.testing.assert_array_equal(seis["KIC"], truth["KIC"])
    rel_age_err = seis["AGE_ERR"] / seis["AGE"]
    assert np.median(rel_age_err) == pytest.approx(0.18, abs=0.01)
    assert rel_age_err.min() >= 0.12 - 1e-9 and rel_age_err.max() <= 0.25 + 1e-9
    assert np.std(np.log(seis["AGE"] / truth["AGE"])) == pytest.approx(0.18, abs=0.02)
    mass_rel = seis["MASS"] / truth["MASS"] - 1
    assert abs(np.median(mass_rel)) < 0.02 and 0.04 < np.std(mass_rel) < 0.12
    assert np.median(seis["NUMAX_ERR"] / seis["NUMAX"]) == pytest.approx(0.015, rel=0.1)


def test_seismic_catalog_round_trip_and_aliases(written, tmp_path):
    survey, directory, _ = written
    back = read_seismic_catalog(directory / "survey" / "seismic.fits")
    assert back.colnames == [c[0] for c in SEISMIC_COLUMNS if c[0] != "TIC"]  # a Kepler mock: KIC only
    np.testing.assert_allclose(back["NUMAX"], survey.seismic["NUMAX"])
    # A catalog with other spellings and numeric states reads into the standard names.
    other = Table({"KIC_ID": [1, 2, 3], "numax": [30.0, 40.0, 50.0], "Dnu": [4.0, 4.5, 5.0], "evstate": [1, 2, 0]})
    other.write(tmp_path / "yu.fits")
    read = read_seismic_catalog(tmp_path / "yu.fits")
    assert list(read["EVOLSTATE"]) == ["RGB", "RC", ""]
    np.testing.assert_array_equal(read["KIC"], [1, 2, 3])
    with pytest.raises(ValueError, match="EVOLSTATE"):
        bad = survey.seismic.copy()
        bad["EVOLSTATE"][0] = "AGB"
        write_seismic_catalog(tmp_path / "bad.fits", bad)


def test_stacked_spectra_match_truth_order_and_blocks(written):
    survey, directory, _ = written
    chunk = read_stacked_spectra(directory / "survey" / "spectra.h5")
    assert chunk.flux.shape == (150, 8575) and chunk.flux.dtype == np.float32
    np.testing.assert_array_equal(chunk.apogee_id, survey.truth["APOGEE_ID"])
    # A block regenerated on its own equals the same rows of the file (per-block random streams).
    rows, (flux, err, mask) = next(survey.iter_spectra(start=SPECTRA_BLOCK))
    np.testing.assert_array_equal(flux, chunk.flux[rows])
    np.testing.assert_array_equal(mask, chunk.bitmask[rows])


def test_kepler_files_open_with_lightkurve(written):
    import lightkurve

    survey, directory, _ = written
    for path in sorted((directory / "survey" / "kepler").glob("*_llc.fits")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lc = lightkurve.read(path)
        kic = int(lc.meta["KEPLERID"])
        assert kic in set(survey.seismic["KIC"])
        assert len(lc) > 10_000 and np.isfinite(lc.flux.value).mean() > 0.8


def test_same_seed_gives_identical_files(written, tmp_path):
    """Same seed → byte-identical truth, catalogs and light curves, also with two worker processes."""
    survey, directory, _ = written
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        simulate_survey(150, 4, seed=3).write(tmp_path, progress=False, n_jobs=2)
    for name in ("truth.fits", "survey/allStar.fits", "survey/seismic.fits"):
        assert (tmp_path / name).read_bytes() == (directory / name).read_bytes(), name
    for path in (directory / "survey" / "kepler").glob("*_llc.fits"):
        assert (tmp_path / "survey" / "kepler" / path.name).read_bytes() == path.read_bytes()
    other = simulate_survey(150, 4, seed=4)
    assert not np.array_equal(other.truth["MASS"], survey.truth["MASS"])


def test_apstar_format(tmp_path):
    survey = simulate_survey(3, 0, seed=1)
    survey.write(tmp_path, spectra_format="apstar", progress=False)
    files = sorted((tmp_path / "survey" / "apStar").glob("apStar-*.fits"))
    assert len(files) == 3
    spec = read_apstar(files[0])
    assert spec.apogee_id in set(survey.truth["APOGEE_ID"]) and spec.flux.shape == (8575,)
    with pytest.raises(ValueError, match="spectra_format"):
        survey.write(tmp_path, spectra_format="fits")


def test_normalized_format_holds_the_spectra_of_the_stacked_labels_whatever_the_jobs(tmp_path):
    survey = simulate_survey(150, 0, seed=2)
    survey.write(tmp_path / "one", spectra_format="normalized", progress=False)
    survey.write(tmp_path / "two", spectra_format="normalized", progress=False, n_jobs=2)
    path = tmp_path / "one" / "survey" / "spectra.h5"
    assert count_spectra(path) == 150
    ids, spectra, flags = read_normalized_spectra(path, 64, 150)
    np.testing.assert_array_equal(ids, survey.truth["APOGEE_ID"][64:150])
    assert spectra.shape == (86, 7514) and not flags.any()
    assert abs(np.median(spectra) - 1.0) < 0.05  # continuum-normalised
    np.testing.assert_array_equal(read_spectra_rows(path, slice(None)).flux,
                                  read_spectra_rows(tmp_path / "two" / "survey" / "spectra.h5", slice(None)).flux)


def test_the_spectra_not_written_are_made_again_from_the_truth_bit_for_bit(tmp_path):
    """The demo writes the spectra of a sample; every other star's spectrum, the one it was encoded from, is made
    again from truth.fits and its recorded seed."""
    survey = simulate_survey(200, 0, seed=4)
    written = np.arange(200) % 5 == 0
    paths = survey.write(tmp_path, spectra_format="normalized", progress=False, light_curves=0, spectra_rows=written)
    every = np.concatenate([spectra for _, spectra in survey.iter_spectra(normalized=True)])
    rows = np.array([3, 199, 64, 3, 130])  # unwritten, across three blocks, one twice
    np.testing.assert_array_equal(spectra_from_truth(paths["truth"], rows), every[rows])
    on_disk = read_spectra_rows(paths["spectra"], slice(0, 2)).flux  # rows 0 and 5 of the truth
    np.testing.assert_array_equal(spectra_from_truth(paths["truth"], [0, 5]), on_disk)
    with mapped_truth(paths["truth"]) as (header, _):
        assert header["SEED"] == 4


def test_spectra_from_truth_gives_nan_rows_for_rows_it_lacks_and_refuses_a_truth_without_seed(written, tmp_path):
    survey, directory, _ = written
    spectra = spectra_from_truth(directory / "truth.fits", [-1, 150, 10])
    assert np.isnan(spectra[:2]).all() and np.isfinite(spectra[2]).all()
    write_truth(survey.truth, tmp_path / "truth.fits")  # no seed recorded, as in older files
    with pytest.raises(ValueError, match="records no mock seed"):
        spectra_from_truth(tmp_path / "truth.fits", [10])
    with pytest.raises(ValueError, match="not a latentexplorer.truth file"):
        spectra_from_truth(directory / "survey" / "allStar.fits", [10])


def test_bad_seed_raises():
    with pytest.raises(ValueError, match="seed"):
        simulate_survey(10, 1, seed=-1)


def test_cli_writes_and_summarises(tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["simulate", "--n-stars", "6", "--n-kepler", "1", "--seed", "2", "-o", str(tmp_path / "ws"),
                     "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "6 stars" in out and "1 Kepler" in out
    assert len(read_truth(tmp_path / "ws" / "truth.fits")) == 6


def test_cli_overwrite_replaces_the_earlier_mock_light_curves_and_keeps_other_files(tmp_path, capsys):
    from astropy.io import fits

    kepler = tmp_path / "ws" / "survey" / "kepler"
    run = ["simulate", "--n-stars", "8", "--n-kepler", "3", "-o", str(tmp_path / "ws"), "--no-progress"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(run + ["--seed", "2"]) == 0
        earlier = {p.name for p in kepler.glob("*_llc.fits")}
        real = kepler / "kplr000000042-2013131120019_llc.fits"  # a light curve from elsewhere (not the mock's)
        fits.PrimaryHDU(header=fits.Header([("ORIGIN", "NASA/Ames")])).writeto(real)
        (kepler / "my_notes.txt").write_text("mine")
        capsys.readouterr()
        assert main(run + ["--seed", "3", "--light-curves", "1", "--overwrite"]) == 0
    assert "3 Kepler giants, 1 light-curve files" in capsys.readouterr().out
    mock = {p.name for p in kepler.glob("*_llc.fits") if p != real}
    assert len(earlier) == 3 and len(mock) == 1  # the earlier survey's three are gone, the new one is there
    assert real.exists() and (kepler / "my_notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--n-stars", "-5"], "--n-stars"),
        (["--n-stars", "5", "--n-kepler", "9"], "--n-kepler"),
        (["--n-stars", "5", "--n-kepler", "-1"], "--n-kepler"),
    ],
)
def test_cli_rejects_nonsense(tmp_path, capsys, args, message):
    assert main(["simulate", *args, "-o", str(tmp_path / "ws")]) == 2
    assert message in capsys.readouterr().err


def test_cli_rejects_unwritable_output(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["simulate", "--n-stars", "5", "--n-kepler", "1", "-o", str(blocker)]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_cli_a_write_that_fails_leaves_nothing_that_refuses_the_rerun(tmp_path, capsys, monkeypatch):
    """A disk that fills while the light curves are written: one line, no truth.fits left, the rerun runs."""
    import errno

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    run = ["simulate", "--n-stars", "6", "--n-kepler", "1", "-o", str(tmp_path / "ws"), "--no-progress"]
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "my_notes.txt").write_text("mine")
    with monkeypatch.context() as patched:
        patched.setattr(MockSurvey, "_write_light_curves", full_disk)
        assert main(run) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "ws").iterdir()) == ["my_notes.txt"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(run) == 0
