"""Joining products by identifier: the normalisation rules, the warning when few identifiers match, and a
seismic catalog listing a star twice counting it once."""

import logging

import numpy as np
import pytest
from astropy.table import Table, vstack
from synthetic_workspace import make_workspace

from latentexplorer.steps.ages import train_age_model
from latentexplorer.io.seismic import read_seismic_catalog
from latentexplorer.match import MIN_MATCH_FRACTION, match_ids, normalise_ids


def test_identifiers_compare_stripped_upper_case_decoded_and_as_decimal_integers():
    assert list(normalise_ids(np.array([b" 2m00000001+0000000", "2M00000002 ", " x "], dtype=object))) == \
        ["2M00000001+0000000", "2M00000002", "X"]
    assert list(normalise_ids(np.array([123, 7]))) == ["123", "7"]
    assert list(normalise_ids(np.array([123.0, 0.5, np.nan]))) == ["123", "", ""]
    rows = match_ids(np.array(["  2m000a ", "123", "", "nope"]), np.array([b"2M000A", b"123", b""]))
    assert list(rows) == [0, 1, -1, -1]  # a blank identifier never matches, not even a blank one
    assert list(match_ids(np.array([123, 5]), np.array(["5", " 123"]))) == [1, 0]  # int ↔ text


def test_a_repeated_reference_identifier_gives_its_first_row_and_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        rows = match_ids(np.array(["B", "A"]), np.array(["A", "B", "a", "B"]), warn_duplicates="allStar.fits")
    assert list(rows) == [1, 0]
    assert [r.getMessage() for r in caplog.records] == ["allStar.fits: 2 repeated identifiers; the first row of "
                                                        "each is used"]


@pytest.mark.parametrize("n_found, warned", [(9, False), (8, True), (0, True)])
def test_fewer_than_ninety_percent_matched_warns_naming_both_files(n_found, warned, caplog):
    ids = np.array([f"S{i}" for i in range(10)])
    reference = ids[:n_found]
    assert MIN_MATCH_FRACTION == 0.9
    with caplog.at_level(logging.WARNING):
        rows = match_ids(ids, reference, names=("allStar.fits", "latent.h5"))
    assert (rows >= 0).sum() == n_found
    messages = [r.getMessage() for r in caplog.records]
    expected = f"allStar.fits: only {n_found} of 10 identifiers ({10 * n_found:.0f} %) are in latent.h5"
    assert messages == ([expected] if warned else [])


def test_a_seismic_catalog_keeps_the_first_row_of_a_star_listed_twice(tmp_path, caplog):
    ws, _ = make_workspace(tmp_path / "ws", n_stars=40, n_seismic=30)
    table = Table.read(ws.paths.seismic, hdu=1)
    spelt_again = table[:3].copy()
    spelt_again["APOGEE_ID"] = [f" {s.lower()}" for s in spelt_again["APOGEE_ID"]]
    spelt_again["KIC"] = [900, 901, 902]  # same stars by APOGEE_ID, other KICs
    spelt_again["AGE"] = 99.0
    vstack([table, table[5:7], spelt_again]).write(ws.paths.seismic, overwrite=True)
    with caplog.at_level(logging.WARNING):
        seismic = read_seismic_catalog(ws.paths.seismic)
    assert len(seismic) == 30 and not np.any(np.asarray(seismic["AGE"]) == 99.0)
    assert list(seismic["KIC"]) == list(table["KIC"])
    assert any("5 rows repeat an earlier row's KIC or APOGEE_ID" in r.getMessage() for r in caplog.records)


def test_a_seismic_catalog_listed_twice_trains_the_same_age_model(tmp_path):
    once, _ = make_workspace(tmp_path / "once", n_stars=400, n_seismic=300)
    twice, _ = make_workspace(tmp_path / "twice", n_stars=400, n_seismic=300)
    table = Table.read(twice.paths.seismic, hdu=1)
    vstack([table, table]).write(twice.paths.seismic, overwrite=True)
    a = train_age_model(once, n_train=150, n_trees=10, progress=False)
    b = train_age_model(twice, n_train=150, n_trees=10, progress=False)
    assert (b.n_train, b.n_calibration, b.n_test, b.n_eligible) == (a.n_train, a.n_calibration, a.n_test, a.n_eligible)
    assert b.n_eligible == 300
    assert b.test["overall"]["scatter"] == pytest.approx(a.test["overall"]["scatter"], rel=1e-12)
