"""Mock APOGEE spectra: real-format output, real mean/scatter, Brackett lines and calibrated information."""

import numpy as np
import pytest
from sklearn.linear_model import RidgeCV

from latentexplorer import spectra as sp
from latentexplorer.constants import APOGEE_CHIP_RANGES
from latentexplorer.mock import spectra as ms


def giant_labels(n, rng):
    """Plausible APOKASC-like giants (not a Galaxy model): 40 % red clump, the rest on the RGB, with
    Teff following log g and [Fe/H], a high-α sequence at low [Fe/H] and mixing-dependent [C/Fe], [N/Fe]."""
    rc = rng.random(n) < 0.4
    feh = np.clip(rng.normal(-0.1, 0.25, n), -1.0, 0.4)
    logg = np.where(rc, rng.normal(2.45, 0.08, n), rng.uniform(1.5, 3.6, n))
    teff = np.where(rc, 4750 - 250 * feh, 4750 + 280 * (logg - 2.6) - 350 * (feh + 0.1))
    teff = np.clip(teff + rng.normal(0, 60, n), 4000, 5200)
    high = rng.random(n) < 0.25
    alpha = np.where(high, 0.22 - 0.1 * (feh + 0.3), 0.03 - 0.08 * feh) + rng.normal(0, 0.02, n)
    mass_proxy = rng.random(n)
    mixing = np.clip(2.5 - logg, 0, None)
    cfe = -0.05 - 0.15 * mass_proxy - 0.05 * mixing + rng.normal(0, 0.05, n)
    nfe = 0.15 + 0.3 * mass_proxy + 0.05 * mixing + rng.normal(0, 0.05, n)
    snr = np.exp(rng.uniform(np.log(50), np.log(300), n))
    return dict(TEFF=teff, LOGG=logg, FE_H=feh, ALPHA_M=np.clip(alpha, -0.05, 0.35), C_FE=cfe, N_FE=nfe, SNR=snr)


def one_star(**changes):
    labels = {k: np.array([v]) for k, v in ms.REFERENCE_LABELS.items()}
    labels.update({k: np.array([v]) for k, v in changes.items()})
    return labels


def noiseless(**changes):
    """Noiseless normalised spectrum; the same seed gives the same nuisance draws for every call."""
    return ms.synthesize_normalized(one_star(**changes), rng=7, snr=False)[0]


@pytest.fixture(scope="module")
def population():
    """2,400 giants through the full path: apStar-like flux → normalize_spectra."""
    rng = np.random.default_rng(2024)
    labels = giant_labels(2400, rng)
    flux, err, mask = ms.synthesize_apstar(labels, rng)
    return labels, sp.normalize_spectra(flux, err, mask)


def test_apstar_shapes_dtypes_and_gaps():
    labels = giant_labels(20, np.random.default_rng(1))
    flux, err, mask = ms.synthesize_apstar(labels, np.random.default_rng(1))
    assert flux.shape == err.shape == mask.shape == (20, 8575)
    assert (flux.dtype, err.dtype, mask.dtype) == (np.float32, np.float32, np.int32)
    on_chip = np.zeros(8575, bool)
    for a, b in APOGEE_CHIP_RANGES:
        on_chip[a:b] = True
    assert np.all(flux[:, ~on_chip] == 0) and np.all(mask[:, ~on_chip] & 1)
    # an un-normalised continuum: the level is far from 1 and follows S/N² (photon noise)
    level = np.median(flux[:, on_chip], axis=1)
    assert np.corrcoef(np.log(level), np.log(labels["SNR"]))[0, 1] > 0.9
    # the per-pixel S/N at the continuum is the star's SNR
    snr = np.median(flux[:, on_chip] / err[:, on_chip], axis=1)
    np.testing.assert_allclose(snr, labels["SNR"], rtol=0.1)


def test_same_generator_state_same_spectra():
    labels = giant_labels(30, np.random.default_rng(5))
    a = ms.synthesize_apstar(labels, np.random.default_rng(11))
    b = ms.synthesize_apstar(labels, np.random.default_rng(11))
    c = ms.synthesize_apstar(labels, np.random.default_rng(12))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_reference_labels_give_the_real_mean_spectrum():
    ref = ms.reference_spectrum()
    response = ms.SpectrumResponse(
        teff_jitter_k=0, other_elements_sigma=0, microturbulence_sigma=0, broadening_sigma=0,
        rv_residual_sigma_pixels=0,
    )
    spec = ms.synthesize_normalized(one_star(), 0, snr=False, response=response)[0]
    np.testing.assert_allclose(spec, ref["mean_flux"], atol=1e-5)


def test_bad_pixels_are_flagged_with_default_masked_bits():
    labels = giant_labels(200, np.random.default_rng(3))
    flux, err, mask = ms.synthesize_apstar(labels, np.random.default_rng(3))
    on_chip = sp.gap_delete(mask)
    masked = sp.bad_pixel_mask(on_chip)
    per_star = masked.sum(axis=1)
    assert 5 < per_star.mean() < 25  # "occasional": ~12 per star of 7514
    dead = (on_chip & (1 << sp.PIXMASK_BITS["BADPIX"])) != 0
    assert np.all(sp.gap_delete(flux)[dead] == 0) and np.all(sp.gap_delete(err)[dead] >= 1e9)
    assert np.any(on_chip & (1 << sp.PIXMASK_BITS["PERSIST_HIGH"]))


def test_mean_and_scatter_follow_the_real_apogee_spectra(population):
    _, spectra = population
    ref = ms.reference_spectrum()
    mean, std = np.asarray(ref["mean_flux"]), np.asarray(ref["std_flux"])
    diff = np.abs(spectra.mean(axis=0) - mean)
    assert np.median(diff) < 0.006 and np.percentile(diff, 99) < 0.03
    mock_std = spectra.std(axis=0)
    assert np.corrcoef(mock_std, std)[0, 1] > 0.65
    assert 0.85 < np.median(mock_std / std) < 1.15
    # deep lines vary more than the continuum, as in the real data, by a similar factor
    deep, cont = 1 - mean > 0.1, 1 - mean < 0.02
    real_ratio = np.median(std[deep]) / np.median(std[cont])
    mock_ratio = np.median(mock_std[deep]) / np.median(mock_std[cont])
    assert 0.7 < mock_ratio / real_ratio < 1.4


def test_ridge_recovers_labels_to_apogee_like_precision(population):
    """Calibration of the information content (issue 3): not much better than real APOGEE."""
    labels, spectra = population
    y = np.column_stack([labels["TEFF"], labels["LOGG"], labels["FE_H"], labels["C_FE"] - labels["N_FE"],
                         labels["ALPHA_M"]])
    train = slice(0, 2000)
    test = slice(2000, None)
    ridge = RidgeCV(alphas=np.logspace(-4, 3, 15), alpha_per_target=True).fit(spectra[train], y[train])
    scatter = np.std(ridge.predict(spectra[test]) - y[test], axis=0)
    teff, logg, feh, cn, alpha = scatter
    assert 45 < teff < 110
    assert 0.045 < logg < 0.11
    assert 0.018 < feh < 0.055
    assert 0.045 < cn < 0.09
    # [α/M] is in the spectra: a spectrum-based regressor learns it (R² well above 0.5)
    assert alpha < 0.5 * np.std(y[test, 4])


def test_logg_response_peaks_at_the_brackett_lines():
    response = noiseless(LOGG=2.8) - noiseless(LOGG=2.4)
    lam = sp.wavelength()
    pixel = np.median(np.diff(lam))
    for line in sp.brackett_wavelengths():
        near = np.abs(lam - line) < 15.0
        peak = lam[near][np.argmax(np.abs(response[near]))]
        assert abs(peak - line) < 2.5 * pixel, line
        assert response[near].min() < -0.01  # higher gravity: stronger (deeper) hydrogen lines


def test_alpha_and_carbon_respond_in_their_element_windows():
    from astroNN.apogee.chips import aspcap_mask

    alpha_resp = np.abs(noiseless(ALPHA_M=0.25) - noiseless(ALPHA_M=0.05))
    windows = np.any([aspcap_mask(e, dr=17) for e in ("Mg", "Si", "Ca", "O")], axis=0)
    assert alpha_resp[windows].mean() > 5 * alpha_resp[~windows].mean()
    carbon_resp = np.abs(noiseless(C_FE=0.2) - noiseless(C_FE=0.0))
    c_window = np.any([aspcap_mask(e, dr=17) for e in ("C", "N", "CI")], axis=0)
    assert carbon_resp[c_window].mean() > 5 * carbon_resp[~c_window].mean()


def test_cooler_giants_have_deeper_lines():
    cool, hot = noiseless(TEFF=4300.0), noiseless(TEFF=5100.0)
    lines = 1 - ms.reference_spectrum()["mean_flux"] > 0.1
    assert np.mean(cool[lines] < hot[lines]) > 0.9


def test_bad_labels_raise_clear_errors():
    labels = giant_labels(3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="SNR"):
        ms.synthesize_apstar({k: v for k, v in labels.items() if k != "SNR"}, 0)
    with pytest.raises(ValueError, match="equal length"):
        ms.synthesize_apstar(dict(labels, TEFF=labels["TEFF"][:2]), 0)
    with pytest.raises(ValueError, match="non-finite"):
        ms.synthesize_apstar(dict(labels, FE_H=np.array([0.0, np.nan, 0.1])), 0)


def test_species_windows_are_kept_in_the_cache_as_astronn_gives_them(tmp_path, monkeypatch):
    """A page that makes a mock spectrum again reads the species windows from the cache, not astroNN."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    names, masks = ms._species_masks()
    cached = list((tmp_path / "latentexplorer").glob("aspcap_species_dr17_*.npz"))
    assert len(cached) == 1
    expected_names, expected = ms._species_masks_from_astronn()
    assert names == expected_names and names[:2] == ["Fe", "alpha"] and masks.shape == (len(names), 7514)
    np.testing.assert_array_equal(masks, expected)
    monkeypatch.setattr(ms, "_species_masks_from_astronn", lambda: pytest.fail("astroNN asked again"))
    again_names, again = ms._species_masks()
    assert again_names == names
    np.testing.assert_array_equal(again, masks)


def test_a_damaged_species_cache_is_made_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    names, masks = ms._species_masks()
    cached = next((tmp_path / "latentexplorer").glob("aspcap_species_dr17_*.npz"))
    cached.write_bytes(b"not a numpy file")
    again_names, again = ms._species_masks()
    assert again_names == names
    np.testing.assert_array_equal(again, masks)
    assert np.load(cached)["masks"].shape == masks.shape  # written anew
