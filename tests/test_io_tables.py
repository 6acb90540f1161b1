"""The workspace's FITS product tables: catalog.fits, orbits.fits, truth.fits (latentexplorer.io)."""

import gzip
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from latentexplorer.io.catalog import CATALOG_COLUMNS, catalog_columns, read_catalog, write_catalog
from latentexplorer.io.orbits import ORBITS_COLUMNS, read_orbits, write_orbits
from latentexplorer.io.tables import read_product_table, write_product_table, write_typed_table
from latentexplorer.io.truth import TRUTH_COLUMNS, read_truth, write_truth

N = 7


def catalog_table(k=3, n=N, seed=0):
    rng = np.random.default_rng(seed)
    flags = np.array([0, 0, 1, 2, 8, 0, 32][:n], np.int32)
    log_age = np.where(flags == 0, rng.uniform(-0.3, 1.1, n), np.nan)
    values = {
        "APOGEE_ID": np.array([f"2M{i:08d}+0000000" for i in range(n)]),
        "telescope": np.where(np.arange(n) % 3 == 0, "lco25m", "apo25m"),
        "field": np.array(["KEPLER", "K2_C4", "120+12"] * 3)[:n],
        "STARFLAG": rng.integers(0, 2**20, n), "ASPCAPFLAG": rng.integers(0, 2**30, n),
        **{f"z{i}": rng.standard_normal(n).astype(np.float32) for i in range(k)},
        **{f"z{i}_err": rng.uniform(0.01, 0.1, n).astype(np.float32) for i in range(k)},
        "LogAge": log_age, "LogAge_Error": np.where(flags == 0, 0.1, np.nan),
        "Age": 10**log_age, "Age_Error": 0.23 * 10**log_age,
        "EVOLSTATE_PRED": np.array(["RC", "RGB", "", "", "RGB", "RC", "RGB"][:n]),
        "P_RC": rng.uniform(0, 1, n), "AGE_FLAG": flags,
    }
    return Table(values)


def orbits_table(n=N, seed=1):
    rng = np.random.default_rng(seed)
    table = Table({"APOGEE_ID": np.array([f"2M{i:08d}-1111111" for i in range(n)])})
    for name, dtype, unit, _ in ORBITS_COLUMNS[1:]:
        table[name] = rng.integers(0, 16, n).astype(dtype) if dtype.startswith("i") else rng.normal(size=n)
        table[name].unit = unit
    return table


def truth_table(n=N, seed=2):
    rng = np.random.default_rng(seed)
    table = Table({"APOGEE_ID": np.array([f"2M{i:08d}+2222222" for i in range(n)]),
                   "KIC": np.where(np.arange(n) < 3, np.arange(n) + 10_000, -1),
                   "EVOLSTATE": np.where(np.arange(n) % 2 == 0, "RC", "RGB")})
    for name in ("MASS", "AGE", "PMRA", "PHI", "LOGG"):
        table[name] = rng.uniform(0.5, 10, n)
    table["AGE"].unit, table["PMRA"].unit, table["MASS"].unit, table["PHI"].unit = "Gyr", "mas/yr", "solMass", "deg"
    table["EXTRA"] = rng.normal(size=n)
    table["EXTRA"].unit, table["EXTRA"].description = "km", "something the mock adds"
    return table


# --- round trips -------------------------------------------------------------------------------------
def test_catalog_round_trip_keeps_values_units_descriptions_and_format(tmp_path):
    table = catalog_table()
    write_catalog(table, tmp_path / "catalog.fits", tmp_path / "catalog.csv.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no UnitsWarning or anything else on reading
        back = read_catalog(tmp_path / "catalog.fits")
    expected = catalog_columns(3)
    assert back.colnames == [name for name, _, _ in expected]
    assert back.colnames[:5] == ["APOGEE_ID", "telescope", "field", "STARFLAG", "ASPCAPFLAG"]
    assert back.colnames[5:11] == ["z0", "z1", "z2", "z0_err", "z1_err", "z2_err"]
    for name, unit, description in expected:
        np.testing.assert_array_equal(np.asarray(back[name]), np.asarray(table[name]), err_msg=name)
        assert back[name].unit == (None if unit is None else u.Unit(unit)), name
        assert back[name].description == description, name
    assert back["Age"].unit == u.Gyr and back["LogAge"].unit is None
    assert "dex" in back["LogAge"].description and "astroNN_ages" in back["Age"].description
    assert "32 no [Fe/H]" in back["AGE_FLAG"].description
    assert back["z0"].dtype == np.float32 and back["AGE_FLAG"].dtype == np.int32
    assert back["EVOLSTATE_PRED"][2] == "" and back["field"][2] == "120+12"
    assert back.meta == {"LEFORMAT": "latentexplorer.catalog", "LEFMTVER": 1}
    with fits.open(tmp_path / "catalog.fits") as hdul:
        header = hdul[1].header
        assert header["LEFORMAT"] == "latentexplorer.catalog" and header["LEFMTVER"] == 1
        assert header["EXTNAME"] == "CATALOG"
        i = back.colnames.index("Age") + 1
        assert header[f"TUNIT{i}"] == "Gyr" and header[f"TCOMM{i}"].startswith("age: mean over")
        assert not any("ASTROPY-SERIALIZED" in str(v) for v in header.get("COMMENT", []))
    # the CSV: same columns and values, deterministic bytes
    csv = Table.read(gzip.decompress((tmp_path / "catalog.csv.gz").read_bytes()).decode(), format="ascii.csv")
    assert csv.colnames == back.colnames
    np.testing.assert_allclose(csv["P_RC"], table["P_RC"])
    first = (tmp_path / "catalog.csv.gz").read_bytes()
    write_catalog(table, tmp_path / "again.fits", tmp_path / "again.csv.gz")
    assert (tmp_path / "again.csv.gz").read_bytes() == first
    assert (tmp_path / "again.fits").read_bytes() == (tmp_path / "catalog.fits").read_bytes()


def test_catalog_columns_expand_and_writer_checks_columns(tmp_path):
    names = [name for name, _, _ in catalog_columns(2)]
    assert names.count("z1") == 1 and "z2" not in names and names.index("z1_err") == names.index("z1") + 2
    assert len(catalog_columns(5)) == len(CATALOG_COLUMNS) - 2 + 10
    with pytest.raises(ValueError, match="latent_dim"):
        catalog_columns(0)
    table = catalog_table()
    table.remove_column("P_RC")
    with pytest.raises(ValueError, match="P_RC"):
        write_catalog(table, tmp_path / "catalog.fits")
    with pytest.raises(ValueError, match="z0"):
        write_catalog(Table({"APOGEE_ID": ["a"]}), tmp_path / "catalog.fits")
    assert not (tmp_path / "catalog.fits").exists()


def test_orbits_round_trip(tmp_path):
    table = orbits_table()
    table["phi"] = table["phi"].to(u.deg)  # converted back to the file's radians
    write_orbits(table, tmp_path / "orbits.fits")
    back = read_orbits(tmp_path / "orbits.fits")
    assert back.colnames == [name for name, *_ in ORBITS_COLUMNS]
    for name, _, unit, description in ORBITS_COLUMNS:
        assert back[name].unit == (None if unit is None else u.Unit(unit)), name
        assert back[name].description == description
    np.testing.assert_allclose(back["phi"], orbits_table()["phi"], rtol=1e-15)
    np.testing.assert_array_equal(back["Jr"], table["Jr"])
    assert back["Lz"].unit == u.kpc * u.km / u.s and back["FLAG"].dtype == np.int32
    assert back["APOGEE_ID"][0] == "2M00000000-1111111"
    assert fits.getheader(tmp_path / "orbits.fits", 1)["LEFORMAT"] == "latentexplorer.orbits"


def test_truth_round_trip_keeps_extra_columns(tmp_path):
    table = truth_table()
    write_truth(table, tmp_path / "truth.fits")
    back = read_truth(tmp_path / "truth.fits")
    assert back.colnames == table.colnames
    known = {name: (unit, description) for name, unit, description in TRUTH_COLUMNS}
    for name in table.colnames:
        np.testing.assert_array_equal(np.asarray(back[name]), np.asarray(table[name]), err_msg=name)
        unit, description = known.get(name, (table[name].unit, table[name].description))
        assert back[name].unit == (None if unit is None else u.Unit(unit)), name
        assert back[name].description == description, name
    assert back["EXTRA"].unit == u.km and back["KIC"].dtype == np.int64
    # plain astropy still reads it (units included, without warnings)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = Table.read(tmp_path / "truth.fits")
    assert plain["AGE"].unit == u.Gyr
    with pytest.raises(ValueError, match="AGE"):
        write_truth(Table({"APOGEE_ID": ["x"]}), tmp_path / "bad.fits")


def test_mock_truth_round_trips(tmp_path):
    from latentexplorer.mock.population import draw_population

    truth = draw_population(40, 5, seed=1)
    write_truth(truth, tmp_path / "truth.fits")
    back = read_truth(tmp_path / "truth.fits")
    assert back.colnames == truth.colnames == [name for name, _, _ in TRUTH_COLUMNS]
    for name in truth.colnames:
        np.testing.assert_array_equal(np.asarray(back[name]), np.asarray(truth[name]), err_msg=name)
        assert back[name].unit == truth[name].unit, name


def test_generic_product_table_defaults_to_the_tables_columns(tmp_path):
    table = Table({"a": np.arange(3.0), "s": ["x ", "yy", ""]})
    table["a"].unit, table["a"].description = "kpc", "a length"
    written = write_product_table(tmp_path / "p.fits", table, format_name="latentexplorer.thing", version=2,
                                  extname="THING")
    assert written["a"].description == "a length"
    back = read_product_table(tmp_path / "p.fits", format_name="latentexplorer.thing", max_version=2,
                              command="thing")
    assert back["a"].unit == u.kpc and back["a"].description == "a length" and back["s"].description is None
    assert list(back["s"]) == ["x", "yy", ""]  # stripped
    assert back["a"].dtype.isnative
    with pytest.raises(ValueError, match="dex"):
        bad = Table({"x": [1.0]})
        bad["x"].unit = u.dex
        write_product_table(tmp_path / "q.fits", bad, format_name="latentexplorer.thing", version=1, extname="X")
    with pytest.raises(ValueError, match="ASCII"):
        write_product_table(tmp_path / "q.fits", table, format_name="latentexplorer.thing", version=1,
                            extname="X", columns=[("a", "f8", "kpc", "Länge")])
    with pytest.raises(ValueError, match="convert"):
        write_product_table(tmp_path / "q.fits", table, format_name="latentexplorer.thing", version=1,
                            extname="X", columns=[("a", "f8", "km/s", None)])
    assert not (tmp_path / "q.fits").exists()


def test_typed_table_writer_unchanged(tmp_path):
    write_typed_table(tmp_path / "t.fits", {"A": [1, 2], "B": [1.5, 2.5]}, (("A", "i8", None), ("B", "f4", "K")),
                      "TYPED", "typed table")
    with fits.open(tmp_path / "t.fits") as hdul:
        header = hdul[1].header
        assert header["EXTNAME"] == "TYPED" and header["TUNIT2"] == "K"
        assert "LEFORMAT" not in header and "TCOMM1" not in header
        assert hdul[1].data["B"].dtype == np.dtype(">f4")
    with pytest.raises(ValueError, match="typed table lacks the columns B"):
        write_typed_table(tmp_path / "u.fits", {"A": [1]}, (("A", "i8", None), ("B", "f4", "K")), "T", "typed table")


# --- bad files ----------------------------------------------------------------------------------------
def one_line(err) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_missing_file_says_which_command_writes_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"does not exist \(run `latentexplorer catalog`\)"):
        read_catalog(tmp_path / "catalog.fits")
    with pytest.raises(FileNotFoundError, match="latentexplorer orbits"):
        read_orbits(tmp_path / "orbits.fits")
    with pytest.raises(FileNotFoundError, match="latentexplorer simulate"):
        read_truth(tmp_path / "truth.fits")


def test_foreign_fits_table_is_refused(tmp_path):
    path = tmp_path / "catalog.fits"
    catalog_table().write(path)  # plain astropy: no LEFORMAT
    with pytest.raises(ValueError) as err:
        read_catalog(path)
    message = one_line(err)
    assert str(path) in message and "LEFORMAT" in message and "latentexplorer.catalog" in message
    assert err.value.__cause__ is None


def test_another_product_names_both_formats(tmp_path):
    path = tmp_path / "orbits.fits"
    write_orbits(orbits_table(), path)
    with pytest.raises(ValueError) as err:
        read_catalog(path)
    assert one_line(err) == f"{path} is a latentexplorer.orbits file, not a latentexplorer.catalog file"
    with pytest.raises(ValueError, match="latentexplorer.orbits file, not a latentexplorer.truth file"):
        read_truth(path)


def test_newer_version_is_refused(tmp_path):
    path = tmp_path / "catalog.fits"
    write_catalog(catalog_table(), path)
    with fits.open(path, mode="update") as hdul:
        hdul[1].header["LEFMTVER"] = 2
    with pytest.raises(ValueError) as err:
        read_catalog(path)
    message = one_line(err)
    assert str(path) in message and "version 2" in message and "upgrade" in message


def test_missing_column_is_refused(tmp_path):
    path = tmp_path / "orbits.fits"
    table = orbits_table()
    write_product_table(path, table[["APOGEE_ID", "R"]], format_name="latentexplorer.orbits", version=1,
                        extname="ORBITS")
    with pytest.raises(ValueError, match=r"orbits.fits lacks the column\(s\) phi, z"):
        read_orbits(path)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95, -1])
def test_truncated_file_is_one_value_error(tmp_path, keep):
    path = tmp_path / "catalog.fits"
    write_catalog(catalog_table(n=7), path)
    data = path.read_bytes()
    cut = len(data) - 1 if keep == -1 else int(len(data) * keep)
    path.write_bytes(data[:cut])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no astropy warning leaks out either
        with pytest.raises(ValueError) as err:
            read_catalog(path)
    message = one_line(err)
    assert str(path) in message and ("truncated" in message or "no table" in message)


def test_text_empty_and_directory_are_value_errors(tmp_path):
    text = tmp_path / "catalog.fits"
    text.write_text("APOGEE_ID,LogAge\n2M0,0.5\n")
    with pytest.raises(ValueError, match=r"catalog.fits is not a FITS file \(expected a latentexplorer.catalog"):
        read_catalog(text)
    empty = tmp_path / "empty.fits"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty.fits is not a FITS file"):
        read_truth(empty)
    with pytest.raises(ValueError, match="is a directory"):
        read_orbits(tmp_path)


def test_image_in_hdu1_has_no_table(tmp_path):
    path = tmp_path / "image.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((2, 2)))]).writeto(path)
    with pytest.raises(ValueError, match="image.fits has no table in HDU1"):
        read_catalog(path)
