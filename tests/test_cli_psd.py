"""`latentexplorer psd`: Kepler-format light-curve files → psd.h5, one bad file never fatal."""

import subprocess
import sys

import h5py
import numpy as np
from astropy.io import fits

from latentexplorer import psd
from latentexplorer.cli import main
from latentexplorer.io.kepler import write_kepler_llc
from latentexplorer.io.psdfile import read_psd_file
from synthetic import kepler_cadences, oscillating_star, write_tess_lc


def write_llc(path, kic, time_days, flux_ppm, quality=None):
    """A Kepler long-cadence file (TIME, PDCSAP_FLUX, PDCSAP_FLUX_ERR, SAP_QUALITY; KEPLERID in the header)."""
    quality = np.zeros(time_days.size, dtype=np.int32) if quality is None else quality
    write_kepler_llc(path, kic, time_days + 120.0, flux_ppm, np.full(time_days.size, 50.0), quality, kepmag=11.0)
    with fits.open(path) as hdul:  # the layout the acceptance names
        assert hdul[0].header["KEPLERID"] == kic
        assert {"TIME", "PDCSAP_FLUX", "PDCSAP_FLUX_ERR", "SAP_QUALITY"} <= set(hdul[1].columns.names)


def test_kepler_llc_files_go_through_to_hdf5(tmp_path):
    t, y = oscillating_star(40.0, 4.8, seed=0)
    quality = np.zeros(t.size, dtype=np.int32)
    quality[::97] = 32  # reaction-wheel desaturation: cadences carrying garbage flux are removed by the default mask
    y_bad = y.copy()
    y_bad[::97] = 5e5
    write_llc(tmp_path / "kplr000001234-2013131215648_llc.fits", 1234, t, y_bad, quality)
    out = tmp_path / "psd.h5"
    assert main(["psd", str(tmp_path), "-o", str(out), "--no-progress"]) == 0
    result = read_psd_file(out)
    assert list(result.kic) == [1234]
    assert result.target_id[0] == "KIC 1234"
    assert result.flags[0] == 0
    assert np.allclose(result.frequency, psd.frequency_grid())
    good = quality == 0
    assert np.allclose(result.log_psd[0], psd.compute_psd(t[good], y[good]), atol=2e-3)


def test_tess_light_curves_are_keyed_by_their_tic(tmp_path):
    t, y = oscillating_star(40.0, 4.8, seed=0)
    write_tess_lc(tmp_path / "tess_lc.fits", t, y, tic=27916356)
    write_tess_lc(tmp_path / "named_lc.fits", t, y, obj="TIC 1001")  # no TICID card: the OBJECT names it
    write_llc(tmp_path / "kplr000001234-2013131215648_llc.fits", 1234, t, y)
    out = tmp_path / "psd.h5"
    assert main(["psd", str(tmp_path), "-o", str(out), "--no-progress"]) == 0
    result = read_psd_file(out)
    by_file = {name.rsplit("/", 1)[-1]: i for i, name in enumerate(result.source)}
    rows = [by_file[name] for name in ("kplr000001234-2013131215648_llc.fits", "named_lc.fits", "tess_lc.fits")]
    assert list(result.target_id[rows]) == ["KIC 1234", "TIC 1001", "TIC 27916356"]
    assert list(result.kic[rows]) == [1234, -1, -1] and list(result.tic[rows]) == [-1, 1001, 27916356]
    assert not result.flags.any()
    # the same light curve as the Kepler file's (shifted times, float32 flux on another level)
    np.testing.assert_allclose(result.log_psd[rows[2]], result.log_psd[rows[0]], atol=0.01)


def test_a_batch_records_bad_files_and_continues(tmp_path, capsys):
    t, y = oscillating_star(100.0, 9.0, seed=1)
    write_llc(tmp_path / "good_llc.fits", 11, t, y)
    _, t90 = kepler_cadences(90.0)
    write_llc(tmp_path / "short_llc.fits", 12, t90, np.random.default_rng(0).normal(0, 50, t90.size))
    write_llc(tmp_path / "flat_llc.fits", 13, t, np.zeros(t.size))
    fits.HDUList([fits.PrimaryHDU(np.zeros((4, 4)))]).writeto(tmp_path / "image.fits")
    out = tmp_path / "psd.h5"
    assert main(["psd", str(tmp_path), "-o", str(out), "--no-progress"]) == 0
    result = read_psd_file(out)
    by_file = {src.rsplit("/", 1)[-1]: i for i, src in enumerate(result.source)}
    flags = {name: psd.PSDFlag(int(result.flags[i])) for name, i in by_file.items()}
    assert flags["good_llc.fits"] == psd.PSDFlag.OK
    assert flags["short_llc.fits"] == psd.PSDFlag.SHORT_BASELINE
    assert psd.PSDFlag.CONSTANT_FLUX in flags["flat_llc.fits"]
    assert flags["image.fits"] == psd.PSDFlag.UNREADABLE
    assert np.isnan(result.log_psd[by_file["image.fits"]]).all()
    assert np.isfinite(result.log_psd[by_file["short_llc.fits"]]).all()
    assert "2 PSDs computed (1 of them flagged: a baseline or cadence that cannot carry the grid), 2 files failed" \
        in capsys.readouterr().out


def test_missing_input_is_a_clear_error(tmp_path, capsys):
    assert main(["psd", str(tmp_path / "nope.fits"), "-o", str(tmp_path / "psd.h5")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "psd.h5").exists()


def test_output_is_never_half_written(tmp_path, monkeypatch):
    t, y = oscillating_star(100.0, 9.0, seed=1)
    write_llc(tmp_path / "good_llc.fits", 11, t, y)
    out = tmp_path / "psd.h5"

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(h5py.File, "create_dataset", explode)
    try:
        main(["psd", str(tmp_path), "-o", str(out), "--no-progress"])
    except RuntimeError:
        pass
    assert not out.exists()
    assert not list(tmp_path.glob(".psd.h5.*"))


def test_a_broken_link_is_a_failed_row_and_a_batch_where_nothing_worked_exits_non_zero(tmp_path, capsys):
    (tmp_path / "gone_llc.fits").symlink_to(tmp_path / "nowhere.fits")
    (tmp_path / "image.fits").write_bytes(b"not a light curve")
    out = tmp_path / "psd.h5"
    assert main(["psd", str(tmp_path), "-o", str(out), "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "0 PSDs computed" in captured.out and "no light curve gave a PSD" in captured.err
    result = read_psd_file(out)
    assert (result.flags == psd.PSDFlag.UNREADABLE).all() and len(result.flags) == 2


def bad_input_directory(path):
    """A good light curve beside an all-NaN one, one whose every cadence the quality mask drops, and a non-FITS file."""
    t, y = oscillating_star(100.0, 9.0, seed=1)
    write_llc(path / "good_llc.fits", 11, t, y)
    write_llc(path / "nan_llc.fits", 12, t, np.full(t.size, np.nan))
    write_llc(path / "masked_llc.fits", 13, t, y, np.full(t.size, 32, dtype=np.int32))
    (path / "junk.fits").write_bytes(b"not a light curve")
    return path


def psd_command_stderr(inputs, output, *options):
    """stderr of `latentexplorer psd` run as a user runs it (a fresh process: the CLI's own logging set-up)."""
    run = subprocess.run([sys.executable, "-m", "latentexplorer", "psd", str(inputs), "-o", str(output),
                          "--no-progress", *options], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return run.stderr.splitlines()


def test_an_all_nan_light_curve_is_flagged_nonfinite_not_unreadable(tmp_path):
    bad_input_directory(tmp_path)
    out = tmp_path / "psd.h5"
    assert main(["psd", str(tmp_path), "-o", str(out), "--no-progress"]) == 0
    result = read_psd_file(out)
    flags = {src.rsplit("/", 1)[-1]: psd.PSDFlag(int(f)) for src, f in zip(result.source, result.flags)}
    assert flags["nan_llc.fits"] == psd.PSDFlag.NONFINITE | psd.PSDFlag.TOO_FEW_POINTS
    assert flags["masked_llc.fits"] == psd.PSDFlag.TOO_FEW_POINTS  # readable, with no cadence left
    assert flags["junk.fits"] == psd.PSDFlag.UNREADABLE and flags["good_llc.fits"] == psd.PSDFlag.OK


def test_every_warning_of_a_run_is_one_line_naming_its_file_printed_once(tmp_path):
    lines = psd_command_stderr(bad_input_directory(tmp_path), tmp_path / "psd.h5")
    assert len(lines) == 4, lines  # the masked file's lightkurve warning, its PSD failure, the NaN one, the junk one
    assert len(set(lines)) == len(lines)
    for line in lines:
        assert line.startswith("WARNING latentexplorer.") and str(tmp_path) in line, line
    masked = [line for line in lines if "of the cadences will be ignored due to the quality mask" in line]
    assert len(masked) == 1 and "masked_llc.fits" in masked[0]
    assert not any("tpfmodel" in line or "pkg_resources" in line for line in lines)


def test_a_dask_run_prints_no_dask_chatter_at_the_default_level(tmp_path):
    lines = psd_command_stderr(bad_input_directory(tmp_path), tmp_path / "psd.h5", "--workers", "2",
                               "--chunk-size", "2")
    assert not any("distributed" in line or "tpfmodel" in line for line in lines), lines
    assert len(lines) == 4 and all(str(tmp_path) in line for line in lines), lines
