"""Spectra ingest: APOGEE grid, Brackett lines, continuum normalisation (vs astroNN), bad pixels, file formats."""

import numpy as np
import pytest
from astroNN.apogee.chips import apogee_continuum
from astropy.io import fits

from latentexplorer import spectra as sp
from latentexplorer.io import apogee_spectra as io
from latentexplorer.io import spectra_files
from latentexplorer.mock.spectra import reference_spectrum, synthesize_apstar


def fake_apstar(n, seed=0):
    """Un-normalised spectra: a power-law continuum with absorption dips, 1 % errors, clean bitmask."""
    rng = np.random.default_rng(seed)
    lam = sp.wavelength(full=True)
    cont = 800 * (lam / 16000) ** -2 * (1 + 0.05 * rng.standard_normal((n, 1)))
    flux = cont * (1 - 0.15 * rng.random((n, lam.size)) ** 4)
    err = 0.01 * cont * (1 + rng.random((n, lam.size)))
    return flux.astype(np.float32), err.astype(np.float32), np.zeros(flux.shape, np.int32)


def labels(n):
    return dict(TEFF=np.full(n, 4700.0), LOGG=np.full(n, 2.5), FE_H=np.zeros(n), ALPHA_M=np.full(n, 0.05),
                C_FE=np.zeros(n), N_FE=np.full(n, 0.2), SNR=np.full(n, 150.0))


# ----------------------------------------------------------------------------- grid


def test_wavelength_grid_matches_the_reference_file():
    lam = sp.wavelength()
    assert lam.shape == (7514,)
    np.testing.assert_allclose(lam, reference_spectrum()["wavelength_vac_angstrom"], atol=1e-3)
    assert sp.wavelength(full=True)[0] == pytest.approx(10**4.179)


def test_brackett_lines_from_the_rydberg_formula():
    lam = sp.brackett_wavelengths()
    # Br11 … Br20 fall on the chips; Br11 is at 16811.1 Å in vacuum (NIST)
    assert lam.size == 10
    assert lam[0] == pytest.approx(16811.1, abs=0.2)
    np.testing.assert_allclose(sp.brackett_wavelengths([11, 20]), lam[[0, -1]])
    gaps = sp.chip_gaps()
    assert not np.any((lam[:, None] > gaps[:, 0]) & (lam[:, None] < gaps[:, 1]))
    with pytest.raises(ValueError, match="n_upper"):
        sp.brackett_wavelengths(4)


def test_chip_gaps_and_slices():
    gaps = sp.chip_gaps()
    assert gaps.shape == (2, 2) and np.all(gaps[:, 1] > gaps[:, 0])
    lam = sp.wavelength()
    edges = [s.stop for s in sp.chip_slices()[:2]]
    np.testing.assert_allclose(gaps[:, 0], lam[np.array(edges) - 1])
    np.testing.assert_allclose(gaps[:, 1], lam[edges], rtol=1e-12)


def test_wrong_pixel_count_is_a_clear_error():
    with pytest.raises(ValueError, match="8575.*7514"):
        sp.normalize_spectra(np.ones((2, 8000)))


# ----------------------------------------------------------------------------- normalisation


def test_continuum_normalisation_equals_astronn():
    flux, err, _ = fake_apstar(40)
    expected, _ = apogee_continuum(flux.astype(float), err.astype(float), dr=17)
    expected[expected > 2] = 1.0
    np.testing.assert_allclose(sp.normalize_spectra(flux, err), expected, rtol=2e-5, atol=2e-6)


def test_user_continuum_mask_is_used():
    flux, err, _ = fake_apstar(5)
    mask = np.zeros(7514, bool)
    mask[::25] = True
    expected, _ = apogee_continuum(flux.astype(float), err.astype(float), cont_mask=mask, dr=17)
    got = sp.normalize_spectra(flux, err, continuum_mask=mask)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)
    assert not np.allclose(got, sp.normalize_spectra(flux, err), rtol=1e-3)
    with pytest.raises(ValueError, match="boolean"):
        sp.normalize_spectra(flux, err, continuum_mask=mask.astype(int))


def test_bad_pixels_become_one_and_do_not_bias_the_continuum():
    flux, err, mask = fake_apstar(3)
    clean = sp.normalize_spectra(flux, err, mask)
    cont = sp.default_continuum_mask()
    hit = np.flatnonzero(sp.chip_pixel_index()[cont] < 3274)[:5]  # blue-chip continuum pixels
    pix = sp.chip_pixel_index()[np.flatnonzero(cont)[hit]]
    flux[0, pix] *= 50.0  # cosmic rays on continuum pixels
    mask[0, pix] |= 1 << sp.PIXMASK_BITS["CRPIX"]
    flux[1, 1000] = np.nan
    flux[2, 2000] *= 3.0  # above 2 after normalisation, unflagged
    mask[2, 2500] |= 1 << sp.PIXMASK_BITS["PERSIST_HIGH"]  # not a default bad bit: kept
    out = sp.normalize_spectra(flux, err, mask)
    idx = np.searchsorted(sp.chip_pixel_index(), [1000, 2000, 2500])
    assert np.all(out[0, np.searchsorted(sp.chip_pixel_index(), pix)] == 1.0)
    np.testing.assert_allclose(np.delete(out[0], np.searchsorted(sp.chip_pixel_index(), pix)),
                               np.delete(clean[0], np.searchsorted(sp.chip_pixel_index(), pix)), rtol=2e-3)
    assert out[1, idx[0]] == 1.0 and out[2, idx[1]] == 1.0
    assert out[2, idx[2]] == clean[2, idx[2]]
    assert out.dtype == np.float32 and np.all((out >= 0) & (out <= 2))


def test_all_nan_spectrum_gives_a_nan_row_not_an_error():
    flux, err, mask = fake_apstar(3)
    flux[1] = np.nan
    out = sp.normalize_spectra(flux, err, mask)
    assert np.all(np.isnan(out[1])) and np.all(np.isfinite(out[[0, 2]]))


def test_already_normalised_spectra_are_only_cleaned():
    spec = reference_spectrum()["mean_flux"].data[None].astype(np.float32).repeat(2, axis=0)
    spec[1, 10] = np.nan
    spec[1, 20] = 3.0
    out = sp.normalize_spectra(spec)
    np.testing.assert_array_equal(out[0], spec[0])
    assert out[1, 10] == 1.0 and out[1, 20] == 1.0


def test_mock_apstar_normalises_back_to_its_template():
    flux, err, mask = synthesize_apstar(labels(4), np.random.default_rng(0))
    out = sp.normalize_spectra(flux, err, mask)
    mean = reference_spectrum()["mean_flux"]
    assert np.median(np.abs(out - mean)) < 0.02
    assert abs(np.median(out[:, sp.default_continuum_mask()]) - 1.0) < 0.005


# ----------------------------------------------------------------------------- files


def test_apstar_file_round_trips_through_astropy(tmp_path):
    flux, err, mask = synthesize_apstar(labels(1), np.random.default_rng(1))
    path = io.write_apstar(tmp_path / "apStar-dr17-2M19000000+4400000.fits", "2M19000000+4400000",
                           flux[0], err[0], mask[0], header={"SNR": 150.0, "TELESCOP": "apo25m"})
    with fits.open(path) as hdul:
        assert hdul[0].header["OBJID"] == "2M19000000+4400000" and hdul[0].header["SNR"] == 150.0
        for k in (1, 2, 3):
            assert hdul[k].header["CRVAL1"] == 4.179 and hdul[k].header["CDELT1"] == 6e-6
        np.testing.assert_array_equal(hdul[1].data, flux[0])
        np.testing.assert_array_equal(hdul[3].data, mask[0])
    spec = io.read_apstar(path)
    assert spec.apogee_id == "2M19000000+4400000" and spec.kind == "apStar"
    np.testing.assert_array_equal(spec.flux_err, err[0])
    np.testing.assert_array_equal(spec.bitmask, mask[0])


def test_multivisit_and_aspcapstar_files_are_read(tmp_path):
    flux, err, mask = fake_apstar(3)
    path = tmp_path / "apStar-dr17-2M00000002+7417074.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(flux), fits.ImageHDU(err), fits.ImageHDU(mask)]).writeto(path)
    spec = io.read_apstar(path)  # combined spectrum = first row; ID from the file name
    assert spec.apogee_id == "2M00000002+7417074"
    np.testing.assert_array_equal(spec.flux, flux[0])
    norm = sp.normalize_spectra(flux[:1], err[:1])[0]
    model = np.ones(7514, np.float32)
    path = tmp_path / "aspcapStar-dr17-2M00004819-1939595.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(norm), fits.ImageHDU(np.full(7514, 0.01, np.float32)),
                  fits.ImageHDU(model)]).writeto(path)
    spec = io.read_apstar(path)
    assert spec.kind == "aspcapStar" and spec.bitmask is None and spec.apogee_id == "2M00004819-1939595"
    np.testing.assert_allclose(sp.normalize_spectra(spec.flux, spec.flux_err)[0], norm)


def test_stacked_file_round_trip_and_iteration(tmp_path):
    flux, err, mask = fake_apstar(10)
    ids = [f"2M{i:08d}+0000000" for i in range(10)]
    path = tmp_path / "spectra.h5"
    with io.StackedSpectraWriter(path, chunk_rows=4) as writer:
        writer.append(ids[:6], flux[:6], err[:6], mask[:6])
        writer.append(ids[6:], flux[6:], err[6:], mask[6:])
    chunk = io.read_stacked_spectra(path, 3, 8)
    assert list(chunk.apogee_id) == ids[3:8]
    np.testing.assert_array_equal(chunk.flux, flux[3:8])
    np.testing.assert_array_equal(chunk.bitmask, mask[3:8])
    sizes = [len(c.apogee_id) for c in io.iter_stacked_spectra(path, 4)]
    assert sizes == [4, 4, 2]
    assert io.spectra_file_kind(path) == "stacked" and io.count_spectra_rows(path) == 10


def test_stacked_writer_is_atomic_and_checks_shapes(tmp_path):
    flux, err, mask = fake_apstar(2)
    path = tmp_path / "spectra.h5"
    with pytest.raises(RuntimeError):
        with io.StackedSpectraWriter(path) as writer:
            writer.append(["a", "b"], flux, err, mask)
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="flux must have shape"):
        with io.StackedSpectraWriter(path) as writer:
            writer.append(["a"], flux, err, mask)


def test_iter_normalized_spectra_from_a_stacked_file(tmp_path):
    flux, err, mask = fake_apstar(7)
    flux[3] = np.nan
    path = tmp_path / "spectra.h5"
    with io.StackedSpectraWriter(path) as writer:
        writer.append([f"s{i}" for i in range(7)], flux, err, mask)
    chunks = list(spectra_files.iter_normalized_spectra(path, chunk_size=3))
    assert [len(c[0]) for c in chunks] == [3, 3, 1]
    ids, spectra, flags = (np.concatenate(x) for x in zip(*chunks))
    np.testing.assert_array_equal(spectra, sp.normalize_spectra(flux, err, mask))
    assert flags[3] == sp.SpectrumFlag.NO_DATA and np.all(np.delete(flags, 3) == 0)
    assert ids[3] == "s3"


def test_iter_normalized_spectra_from_a_directory_flags_unreadable_files(tmp_path):
    flux, err, mask = fake_apstar(3)
    for i in range(3):
        io.write_apstar(tmp_path / f"apStar-dr17-2M0000000{i}+0000000.fits", f"2M0000000{i}+0000000",
                        flux[i], err[i], mask[i])
    (tmp_path / "apStar-dr17-2M00000009+0000000.fits").write_bytes(b"not a FITS file")
    ids, spectra, flags = next(spectra_files.iter_normalized_spectra(tmp_path, chunk_size=10))
    assert list(ids) == [f"2M0000000{i}+0000000" for i in (0, 1, 2, 9)]
    assert flags[3] == sp.SpectrumFlag.UNREADABLE and np.all(np.isnan(spectra[3]))
    np.testing.assert_allclose(spectra[:3], sp.normalize_spectra(flux, err, mask), rtol=1e-6)


def _normalized_file(path, n=5):
    spec = np.tile(reference_spectrum()["mean_flux"].data.astype(np.float32), (n, 1))
    spec *= np.linspace(0.99, 1.01, n, dtype=np.float32)[:, None]
    spec[2] = np.nan
    with io.NormalizedSpectraWriter(path) as writer:
        writer.append([f"id{i}" for i in range(n)], spec)
    return spec


def test_iter_normalized_spectra_from_a_normalised_file(tmp_path):
    spec = _normalized_file(tmp_path / "spectra.h5")
    ids, out, flags = next(spectra_files.iter_normalized_spectra(tmp_path / "spectra.h5", chunk_size=8))
    assert list(ids) == [f"id{i}" for i in range(5)]
    np.testing.assert_array_equal(out[[0, 1, 3, 4]], spec[[0, 1, 3, 4]])
    assert flags[2] == sp.SpectrumFlag.NO_DATA


def test_spectra_by_id_reads_only_the_stars_asked_for_in_any_format(tmp_path):
    spec = _normalized_file(tmp_path / "normalized.h5")
    out = spectra_files.spectra_by_id(tmp_path / "normalized.h5", ["id4", "nobody", "id0"])
    np.testing.assert_array_equal(out[[0, 2]], spec[[4, 0]])
    assert np.isnan(out[1]).all()
    flux, err, mask = fake_apstar(3)
    with io.StackedSpectraWriter(tmp_path / "stacked.h5") as writer:
        writer.append(["a", "b", "c"], flux, err, mask)
    np.testing.assert_array_equal(spectra_files.spectra_by_id(tmp_path / "stacked.h5", ["c"])[0],
                                  sp.normalize_spectra(flux, err, mask)[2])


def test_spectra_by_id_of_stars_the_input_lacks_are_nan_rows(tmp_path):
    """The default demo writes 9,000 of its 200,000 spectra: asking for only stars not written is no error."""
    _normalized_file(tmp_path / "normalized.h5")
    out = spectra_files.spectra_by_id(tmp_path / "normalized.h5", ["nobody", "nobody else"])
    assert out.shape == (2, sp.APOGEE_N_PIXELS) and np.isnan(out).all()


def test_a_foreign_hdf5_file_is_not_taken_for_spectra(tmp_path):
    from astropy.table import Table

    Table({"spectra": np.ones((2, 7514)), "APOGEE_ID": ["a", "b"]}).write(tmp_path / "foreign.h5", path="data")
    with pytest.raises(ValueError, match="foreign.h5 is not a latentexplorer"):
        next(spectra_files.iter_normalized_spectra(tmp_path / "foreign.h5"))


def test_astronn_is_imported_without_its_pkg_resources_notice():
    """Every worker process that reads spectra imports astroNN: its import-time notice must not reach the user."""
    import subprocess
    import sys

    code = ("from latentexplorer.spectra import default_continuum_mask\n"
            "from latentexplorer.widgets.jacobian_view import element_windows\n"
            "assert default_continuum_mask().sum() == 532 and len(element_windows('Fe')[0]) > 0")
    run = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "pkg_resources" not in run.stderr
