"""The dashboards' logic in Python (no browser): each widget action changes exactly what it should."""

import numpy as np
import pytest
from bokeh.events import Tap
from demo_workspace import tiny_workspace

import latentexplorer.widgets as lw
from latentexplorer import galaxy
from latentexplorer.seismo import estimate_global_parameters
from latentexplorer.spectra import wavelength
from latentexplorer.widgets.jacobian_view import element_windows
from latentexplorer.widgets.star_view import StarView
from latentexplorer.workspace import Workspace


@pytest.fixture(scope="module")
def data():
    return Workspace(tiny_workspace())


@pytest.fixture(scope="module")
def view(data):
    return StarView(data)


@pytest.fixture(scope="module")
def explorer(data):
    return lw.LatentExplorer(data, seed=1)


@pytest.fixture(scope="module")
def inspector(data):
    return lw.StarInspector(data)


@pytest.fixture(scope="module")
def jacobians(data):
    return lw.JacobianView(data, max_stars=12)


@pytest.fixture()
def disk(data):
    return lw.DiskMap(data, min_count=1)


def test_workspace_rows_follow_latent_file(view):
    assert len(view) == view.z_mean.shape[0] == len(view.aligned("allstar")) == len(view.aligned("catalog"))
    np.testing.assert_array_equal(np.asarray(view.aligned("allstar")["APOGEE_ID"]), view.apogee_id)
    with pytest.raises(ValueError, match="no star 'nobody'"):
        view.index_of("nobody")


def test_slider_move_redraws_the_decoded_psd(explorer, data):
    before = np.array(explorer.psd_source.data["log_psd"])
    explorer.sliders[0].value = explorer.sliders[0].max
    after = np.array(explorer.psd_source.data["log_psd"])
    assert np.abs(after - before).max() > 1e-4
    # the page decodes with the numpy engine, the reference here is Keras: equal to float32 round-off (ln PSD)
    np.testing.assert_allclose(after, data.model.decode(explorer.z)[0], rtol=1e-6, atol=1e-6)
    expected = estimate_global_parameters(data.model.frequency, after).numax
    np.testing.assert_equal(explorer.numax, expected)
    assert explorer.numax_span.location == (expected if np.isfinite(expected) else None)


def test_snap_moves_sliders_onto_the_nearest_star(explorer, data, view):
    k = 7
    explorer.set_latent(view.z_mean[k] + 1e-4)
    assert explorer.snap_to_nearest() == view.apogee_id[k]
    np.testing.assert_allclose(explorer.z, view.z_mean[k], atol=1e-6)
    np.testing.assert_allclose(explorer.psd_source.data["log_psd"], np.asarray(data.model.decode(view.z_mean[k]))[0], rtol=1e-6,
                               atol=1e-6)


def test_prior_draw_is_seeded_and_clipped_to_the_sliders(data, view):
    a, b = lw.LatentExplorer(data, seed=3), lw.LatentExplorer(data, seed=3)
    za, zb = a.draw_prior(), b.draw_prior()
    np.testing.assert_array_equal(za, np.random.default_rng(3).standard_normal(view.latent_dim))
    np.testing.assert_array_equal(za, zb)
    lo, hi = np.array([s.min for s in a.sliders]), np.array([s.max for s in a.sliders])
    np.testing.assert_allclose(a.z, np.clip(za, lo, hi))


def test_scatter_axes_and_colour_follow_the_dropdowns(explorer, view):
    explorer.x_dim.value, explorer.y_dim.value, explorer.color_by.value = 3, 4, "fe_h"
    np.testing.assert_array_equal(explorer.scatter_source.data["x"], view.z_mean[:, 3])
    np.testing.assert_array_equal(explorer.scatter_source.data["y"], view.z_mean[:, 4])
    # stars whose ages are out of distribution are drawn grey (NaN through the mapper's nan_color)
    ood = view.out_of_distribution()
    np.testing.assert_allclose(explorer.scatter_source.data["c"], np.where(ood, np.nan, view.label("fe_h")),
                               rtol=1e-6)
    assert explorer.position_source.data["x"] == [explorer.z[3]]


def test_star_picker_updates_the_inspector(inspector, data, view):
    target = data.pairs.apogee_id[5]
    inspector.picker.value = target
    row = view.index_of(target)
    assert inspector.current.apogee_id == target
    np.testing.assert_allclose(inspector.sources["inspector_reconstructed_psd"].data["log_psd"],
                               data.model.decode(view.z_mean[row])[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(inspector.sources["inspector_observed_psd"].data["log_psd"], data.pairs.log_psd[5])
    flux = inspector.sources["inspector_spectrum"].data["flux"]
    np.testing.assert_array_equal(flux[np.isfinite(flux)], data.pair_spectra([5])[0])  # NaN only at the 2 chip gaps
    assert inspector.current.numax_observed == estimate_global_parameters(data.frequency, data.pairs.log_psd[5]).numax
    assert target in inspector.info.value


def test_tap_on_the_scatter_picks_that_star(inspector, view):
    inspector.population.selected.indices = [11]
    assert inspector.current.apogee_id == view.apogee_id[11]
    assert inspector.sources["inspector_selected"].data["x"] == [view.z_mean[11, 0]]


def test_a_tap_sends_the_page_the_new_star_and_not_the_wavelengths_again(data, view):
    """Every tap of a survey-sized workshop sends the star's spectrum: its 7,516 wavelengths and 2,092 frequencies
    stay on the page, and only the flux and ln PSDs go."""
    inspector = lw.StarInspector(data, apogee_id=str(view.apogee_id[3]))
    sent = []
    inspector.sources["inspector_spectrum"].document.on_change(sent.append)
    inspector.picker.value = str(view.apogee_id[7])
    columns = {event.model.name: event.cols for event in sent}
    assert columns["inspector_spectrum"] == ["flux"]
    assert columns["inspector_observed_psd"] == columns["inspector_reconstructed_psd"] == ["log_psd"]
    assert inspector.sources["inspector_spectrum"].data["flux"].dtype == np.float32


def _workspace_with_three_spectra(data, path) -> Workspace:
    """A copy of the tiny workspace whose survey holds the normalised spectra of three pairs only, as the
    survey-sized demo holds those of 9,000 of its 200,000 stars."""
    import shutil

    from latentexplorer.io.apogee_spectra import NormalizedSpectraWriter

    shutil.copytree(data.root, path, ignore=shutil.ignore_patterns("columns"))
    ws = Workspace(path)
    ws.paths.spectra.unlink()
    with NormalizedSpectraWriter(ws.paths.spectra) as writer:
        writer.append(ws.pairs.apogee_id[:3], data.pair_spectra([0, 1, 2]))
    return ws


def test_a_mock_star_whose_spectrum_is_not_on_disk_shows_it_made_again_from_the_truth(data, tmp_path):
    from latentexplorer.mock.survey import spectra_from_truth

    ws = _workspace_with_three_spectra(data, tmp_path / "ws")
    view = StarView(ws)
    star = next(str(i) for i in view.apogee_id if i not in set(ws.pairs.apogee_id))
    inspector = lw.StarInspector(ws, apogee_id=star)
    truth_row = int(np.flatnonzero(ws.truth["APOGEE_ID"] == star)[0])
    assert view.rows_in("truth")[view.index_of(star)] == truth_row and "_ROW" not in view.aligned("truth").colnames
    assert view.prepare_spectra() and not StarView(data).prepare_spectra()  # the tiny survey wrote every spectrum
    spectrum, origin = view.spectrum_with_origin(star)
    assert origin == "truth"
    np.testing.assert_array_equal(spectrum, spectra_from_truth(ws.paths.truth, [truth_row])[0])
    flux = inspector.sources["inspector_spectrum"].data["flux"]
    np.testing.assert_array_equal(flux[np.isfinite(flux)], spectrum)  # NaN only at the 2 chip gaps
    assert "made again from its truth.fits" in inspector.info.value
    assert "not in this workspace: spectrum" not in inspector.info.value


def test_a_star_whose_spectrum_cannot_be_had_is_shown_without_it(data, tmp_path):
    """A truth file without the mock's seed (an older file) cannot make the spectrum again: the star still
    shows its latent, decoded PSD and age, and says its spectrum is not in the workspace."""
    from latentexplorer.io.truth import write_truth

    ws = _workspace_with_three_spectra(data, tmp_path / "ws")
    write_truth(data.truth, ws.paths.truth)  # no seed recorded
    view = StarView(ws)
    star = next(str(i) for i in view.apogee_id if i not in set(ws.pairs.apogee_id))
    inspector = lw.StarInspector(ws, apogee_id=star)
    assert inspector.current.apogee_id == star and view.spectrum_with_origin(star) == (None, "")
    assert not view.prepare_spectra()
    np.testing.assert_allclose(inspector.sources["inspector_reconstructed_psd"].data["log_psd"],
                               data.model.decode(view.z_mean[view.index_of(star)])[0], rtol=1e-6, atol=1e-6)
    assert np.isnan(inspector.sources["inspector_spectrum"].data["flux"]).all()
    assert "not in this workspace: spectrum" in inspector.info.value


def test_unknown_id_is_reported_not_raised(inspector):
    shown = inspector.current.apogee_id
    inspector.picker.value = "2M00000000+0000000"
    assert inspector.current.apogee_id == shown
    assert "no star" in inspector.info.value


def test_age_posterior_gives_the_catalog_age(inspector, data, view):
    catalog = view.aligned("catalog")
    row = int(np.flatnonzero(np.isfinite(np.asarray(catalog["Age"], float)))[0])
    summary = inspector.select(view.apogee_id[row])
    n_trees = data.age_model.regressor.n_estimators
    assert summary.age_samples.shape == (n_trees,)
    assert abs(summary.age_samples.mean() - summary.age) <= 1e-9 * summary.age
    assert abs(summary.age_samples.std() - summary.age_err) <= 1e-9 * summary.age_err
    assert summary.age == catalog["Age"][row]
    counts = inspector.sources["inspector_age_posterior"].data["count"]
    assert counts.sum() == n_trees


def test_jacobian_group_average(jacobians, data):
    pairs = data.pairs
    lo, hi = np.percentile(pairs.numax, [20, 60])
    rows = jacobians.group_rows((lo, hi), "RGB")
    assert np.all((pairs.numax[rows] >= lo) & (pairs.numax[rows] <= hi) & (pairs.evolstate[rows] == "RGB"))
    mean, error, n = jacobians.group_jacobian((lo, hi), "RGB")
    used = rows if rows.size <= 12 else np.sort(np.random.default_rng(0).choice(rows, 12, replace=False))
    assert n == used.size
    np.testing.assert_allclose(mean, data.model.jacobian(data.pair_spectra(used)).mean(axis=0), rtol=1e-4, atol=1e-7)


def test_pair_jacobians_are_made_once_per_model(data, tmp_path):
    """The Jacobian view reads every pair's ∂z/∂flux from a store made once with the workspace's model (a move
    reads 64 rows instead of running the network); a retrained model makes it again."""
    import os
    import shutil

    shutil.copytree(data.root, tmp_path / "ws", ignore=shutil.ignore_patterns("columns"))
    ws = Workspace(tmp_path / "ws")
    rows = [7, 3, 150]
    np.testing.assert_allclose(ws.pair_jacobians(rows), data.engine.jacobian(data.pair_spectra(rows)),
                               rtol=1e-5, atol=1e-7)
    made = (ws.paths.columns / "jacobians" / "manifest.json").stat().st_mtime_ns
    ws.pair_jacobians(rows)
    assert (ws.paths.columns / "jacobians" / "manifest.json").stat().st_mtime_ns == made
    weights = ws.paths.model / "model.keras"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))  # "retrained"
    ws.pair_jacobians(rows)
    assert (ws.paths.columns / "jacobians" / "manifest.json").stat().st_mtime_ns != made


def test_jacobian_dimension_switch_redraws_from_cache(jacobians):
    jacobians.numax_range.value = jacobians.numax_range.value  # the full range
    mean, _, _ = jacobians.group_jacobian(jacobians.numax_range.value, jacobians.state.value)
    jacobians.dimension.value = 2
    np.testing.assert_array_equal(jacobians.source.data["dzdx"], mean[2])
    np.testing.assert_array_equal(jacobians.source.data["wavelength"], wavelength())


def test_empty_jacobian_group_says_so(jacobians):
    mean, _, n = jacobians.group_jacobian((1e4, 2e4), "all")
    assert n == 0 and np.isnan(mean).all()


def test_element_windows_cover_the_aspcap_mask():
    from astroNN.apogee import aspcap_mask

    starts, ends = element_windows("Fe")
    lam = wavelength()
    inside = np.zeros(lam.size, bool)
    for a, b in zip(starts, ends):
        inside |= (lam >= a) & (lam <= b)
    np.testing.assert_array_equal(inside, aspcap_mask("Fe", dr=17))


def test_disk_map_of_a_mock_shows_the_same_stars_true_ages_and_the_residual(disk, view):
    sel = disk.selected
    true_age = np.asarray(view.aligned("truth")["AGE"], float)
    expected = galaxy.rz_truth_comparison(disk.R[sel], disk.z[sel], disk.age[sel], true_age[sel], min_count=1)
    np.testing.assert_array_equal(disk.true_rz_source.data["image"][0], expected.truth.statistic)
    np.testing.assert_array_equal(disk.residual_source.data["image"][0], expected.residual.statistic)
    assert {"inner_true", "outer_true"} <= set(disk.dist_source.data)
    assert f"TRUE median age of the same stars {np.nanmedian(true_age[sel]):.1f} Gyr" in disk.status.value


def test_disk_map_of_a_real_survey_has_no_truth_view(tmp_path):
    import shutil

    real = tmp_path / "real"
    shutil.copytree(tiny_workspace(), real)
    (real / "truth.fits").unlink()
    disk = lw.DiskMap(Workspace(real), min_count=1)
    assert disk.true_age is None and not hasattr(disk, "residual_source")
    assert "TRUE" not in disk.status.value and "inner_true" not in disk.dist_source.data


def test_disk_filters_are_the_quality_cuts(disk, view):
    catalog, allstar = view.aligned("catalog"), view.aligned("allstar")
    # the map shows 10**LogAge (the catalog estimate with the smaller bias), its error from LogAge_Error
    age, err = galaxy.map_ages(catalog["LogAge"], catalog["LogAge_Error"])
    # the map opens at the paper's Fig. 12 cuts, out-of-distribution ages left out
    expected = galaxy.quality_mask(age, err, allstar["STARFLAG"], allstar["ASPCAPFLAG"], allstar["SNREV"],
                                   np.asarray(allstar["LOGG"], float), max_rel_age_err=0.5, min_snr=30.0,
                                   logg_range=(2.5, 3.3), age_flag=np.asarray(catalog["AGE_FLAG"]))
    expected &= np.isfinite(np.asarray(view.aligned("orbits")["R"], float))
    np.testing.assert_array_equal(disk.selected, expected)
    n_strict = disk.selected.sum()
    disk.max_rel_err.value = 3.0
    assert disk.selected.sum() >= n_strict
    disk.population.value = "high-α"
    assert np.all(galaxy.is_high_alpha(disk.feh[disk.selected], disk.alpha_m[disk.selected]))
    counts = disk.rz_source.data["image"][0]
    assert np.isfinite(counts).sum() > 0 or disk.selected.sum() == 0


def test_click_on_the_map_draws_the_nearest_orbit(disk, view):
    disk.max_rel_err.value = 3.0
    R, z = np.asarray(view.aligned("orbits")["R"], float), np.asarray(view.aligned("orbits")["z"], float)
    disk._on_tap(Tap(model=disk.rz_fig, x=8.0, y=0.1))
    rows = np.flatnonzero(disk.selected)
    nearest = rows[np.argmin((R[rows] - 8.0) ** 2 + (z[rows] - 0.1) ** 2)]
    assert disk.orbit_star == view.apogee_id[nearest]
    orbit = disk.orbit_source.data
    assert len(orbit["R"]) == lw.disk_map.ORBIT_STEPS
    np.testing.assert_allclose([orbit["R"][0], orbit["z"][0]], [R[nearest], z[nearest]], atol=1e-3)
    assert orbit["R"].min() < R[nearest] < orbit["R"].max()  # it moves radially


def test_missing_catalog_gives_a_message_panel(tmp_path):
    for item in tiny_workspace().iterdir():
        if item.name not in ("catalog.fits", "catalog.csv.gz"):
            (tmp_path / item.name).symlink_to(item)
    panel = lw.disk_map_app(tmp_path)
    assert "catalog.fits is missing" in panel.value and "latentexplorer catalog" in panel.value


def test_app_without_workspace_says_how_to_set_it(monkeypatch):
    monkeypatch.delenv(lw.WORKSPACE_ENV, raising=False)
    assert lw.WORKSPACE_ENV in lw.latent_explorer_app().value


def test_element_windows_appear_when_chosen(jacobians):
    renderer = jacobians.window_renderers["Fe"]
    jacobians.elements.value = ("Fe",)
    starts, ends = element_windows("Fe")
    assert renderer.visible and list(renderer.data_source.data["left"]) == list(starts)
    jacobians.elements.value = ()
    assert not renderer.visible


@pytest.mark.parametrize("app", ["latent_explorer", "star_inspector", "jacobian_view", "disk_map"])
def test_a_page_imports_its_own_code_only_and_holds_mapped_stars(app):
    """What a dashboard's kernel runs, in a fresh interpreter: no other page's module, no TensorFlow, Keras,
    scikit-learn, galpy, pandas, matplotlib or scipy.stats, and the per-star arrays it draws from memory-mapped."""
    import subprocess
    import sys

    script = (f"import sys, numpy as np, latentexplorer.widgets as lw\n"
              f"from latentexplorer.widgets.star_view import StarView\n"
              f"lw.{app}_app({str(tiny_workspace())!r})\n"
              "print(' '.join(sorted(m for m in sys.modules if m.startswith('latentexplorer.widgets.'))))\n"
              "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
              f"print(isinstance(StarView({str(tiny_workspace())!r}).z_mean, np.memmap))\n"
              "print('scipy.stats' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    widgets, top, mapped, scipy_stats = run.stdout.splitlines()[-4:]
    others = {f"latentexplorer.widgets.{name}" for name in ("latent_explorer", "star_inspector", "jacobian_view",
                                                              "disk_map")} - {f"latentexplorer.widgets.{app}"}
    if app == "star_inspector":
        others.discard("latentexplorer.widgets.latent_explorer")  # its scatter helpers
    assert f"latentexplorer.widgets.{app}" in widgets.split() and not others & set(widgets.split())
    assert not set(top.split()) & {"tensorflow", "keras", "sklearn", "galpy", "pandas", "matplotlib"}
    assert mapped == "True"
    assert scipy_stats == "False"  # ~0.8 s of CPU at every kernel start: the maps bin in numpy
