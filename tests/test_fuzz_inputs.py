"""Every user mistake in an input gets one line naming the file and the problem (exit code 2), a bad row is
flagged and the run goes on, and nothing the user gave is modified or left half-written.

Each case copies the tiny demo workspace, spoils one input the way a user (or a full disk) would, runs the
real CLI in-process (``latentexplorer.cli.main``) and checks: the exit code; on an error, exactly one line on
stderr matching the expected text (which names the file), no "Traceback"; on success, the expected warning;
every file of the workspace byte-identical afterwards except the step's own outputs; and no new file
(``.parts`` directories, temporary files, locks) other than those outputs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from demo_workspace import tiny_workspace

from latentexplorer.cli import main
from latentexplorer.io.latent import read_latent
from latentexplorer.io.provenance import LEDGER_NAME
from latentexplorer.io.psdfile import read_psd_file
from latentexplorer.match import match_ids
from latentexplorer.psd import PSDFlag
from latentexplorer.ved.reference import MODEL_FILES, reference_model_dir
from latentexplorer.spectra import SpectrumFlag
from latentexplorer.ved.persistence import SCALER_FINGERPRINT

# --- commands (``{ws}`` is the case's workspace) -------------------------------------------------------------
ENCODE = ("encode", "{ws}/model", "{ws}/survey/spectra.h5", "-o", "{ws}/latent2.h5", "--no-progress")
ENCODE_PAIRS = ("encode", "{ws}/model", "{ws}/pairs.h5", "-o", "{ws}/latent2.h5", "--no-progress")
ENCODE_WORKSPACE = ("encode", "{ws}/model", "{ws}/survey/spectra.h5", "-o", "{ws}/latent.h5", "--no-progress")
PAIRS = ("pairs", "{ws}/psd.h5", "{ws}/survey/spectra.h5", "{ws}/survey/seismic.fits", "-o", "{ws}/pairs2.h5",
         "--no-progress")
PSD = ("psd", "{ws}/lc", "-o", "{ws}/psd2.h5", "--no-progress")
CATALOG = ("catalog", "{ws}", "--no-progress")
AGES = ("ages", "{ws}", "--n-train", "60", "--n-trees", "8", "--no-progress")
PSD_KEPLER = ("psd", "{ws}/survey/kepler", "-o", "{ws}/psd2.h5", "--no-progress")
ORBITS = ("orbits", "{ws}/survey/allStar.fits", "-o", "{ws}/orbits2.fits", "--no-progress")
CATALOG_OUT = ("catalog.fits", "catalog.csv.gz")
SPECTRA, SEISMIC, ALLSTAR = "survey/spectra.h5", "survey/seismic.fits", "survey/allStar.fits"
FOREST_OUT = tuple(f"forest/{n}" for n in ("age_forest.skops", "evolstate_forest.skops", "metadata.json",
                                            "training_ids.txt", "calibration_ids.txt", "tree_arrays.npz",
                                            "support.npz"))


# --- ways to spoil a file ----------------------------------------------------------------------------------------
def text(rel, content="APOGEE_ID,TEFF\n2M0000,4800\n"):
    return lambda ws: (ws / rel).write_text(content)


def zero_bytes(rel):
    return lambda ws: (ws / rel).write_bytes(b"")


def truncated(rel, keep=0.5):
    def spoil(ws):
        raw = (ws / rel).read_bytes()
        (ws / rel).write_bytes(raw[: int(len(raw) * keep)])
    return spoil


def directory(rel):
    def spoil(ws):
        (ws / rel).unlink()
        (ws / rel).mkdir()
    return spoil


def removed(rel):
    return lambda ws: (ws / rel).unlink()


def h5_edit(rel, edit):
    def spoil(ws):
        with h5py.File(ws / rel, "a") as f:
            edit(f)
    return spoil


def h5_replace(name, values):
    def edit(f):
        del f[name]
        f[name] = values
    return edit


def h5_rows(name, n):
    def edit(f):
        values = f[name][:n]
        del f[name]
        f.create_dataset(name, data=values, dtype=h5py.string_dtype() if name == "APOGEE_ID" else values.dtype)
    return edit


def h5_nan_rows(name, rows, value=np.nan):
    def edit(f):
        data = f[name][()]
        data[rows] = value
        f[name][...] = data
    return edit


def fits_edit(rel, edit):
    def spoil(ws):
        table = Table.read(ws / rel, hdu=1)
        table = edit(table)
        table.write(ws / rel, overwrite=True)
    return spoil


def set_column(name, values):
    def edit(t):
        t[name] = values(t) if callable(values) else values
        return t
    return edit


def json_edit(rel, edit):
    def spoil(ws):
        data = json.loads((ws / rel).read_text())
        (ws / rel).write_text(json.dumps(edit(data)))
    return spoil


def light_curves_with_target(ws):
    """The tiny demo's light curves (the copy leaves them out), one of them as ``target_llc.fits``."""
    source = tiny_workspace() / "survey" / "kepler"
    shutil.copytree(source, ws / "survey" / "kepler")
    shutil.copy(sorted(source.glob("*.fits"))[0], ws / "survey" / "kepler" / "target_llc.fits")


def light_curves_with(spoil_directory):
    """The tiny demo's light curves (the copy leaves them out), then ``spoil_directory(kepler_dir)``."""
    def spoil(ws):
        shutil.copytree(tiny_workspace() / "survey" / "kepler", ws / "survey" / "kepler")
        spoil_directory(ws / "survey" / "kepler")
    return spoil


def users_gzip(rel):
    """A gzip file of the user's own (its header names the file it was made from, as gzip(1) does)."""
    def spoil(ws):
        import gzip

        with open(ws / rel, "wb") as raw, gzip.GzipFile("my_ages.csv", "wb", fileobj=raw) as f:
            f.write(b"APOGEE_ID,my_age\n2M0000,4.2\n")
    return spoil


def keras_with_unknown_class(ws):
    import zipfile

    path = ws / "model" / "model.keras"
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    config = json.loads(members["config.json"])
    config["class_name"] = "MyCustomModel"
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def apstar_directory_with_a_bad_file(ws):
    """survey/apStar/ with three apStar files from the stacked spectra and one that is not FITS."""
    from latentexplorer.io.apogee_spectra import read_stacked_spectra, write_apstar

    chunk = read_stacked_spectra(ws / "survey/spectra.h5", 0, 3)
    (ws / "survey/apStar").mkdir()
    for i, apogee_id in enumerate(chunk.apogee_id):
        write_apstar(ws / f"survey/apStar/apStar-dr17-{apogee_id}.fits", apogee_id, chunk.flux[i], chunk.flux_err[i],
                     chunk.bitmask[i])
    (ws / "survey/apStar/apStar-dr17-2M99999999+9999999.fits").write_text("not FITS")


def broken_symlink(rel):
    def spoil(ws):
        (ws / rel).unlink()
        (ws / rel).symlink_to(ws / "gone.h5")
    return spoil


def h5_scale_rows(name, rows, factor):
    def edit(f):
        data = f[name][()]
        data[rows] *= factor
        f[name][...] = data
    return edit


def light_curves(edit):
    """lc/ holds two of the demo's Kepler light curves: ``spoilt_llc.fits``, its table's rows through ``edit``
    (a function of the FITS record array), and ``normal_llc.fits`` as it is."""
    def spoil(ws):
        first, second = sorted((tiny_workspace() / "survey" / "kepler").glob("*.fits"))[:2]
        (ws / "lc").mkdir()
        shutil.copy(second, ws / "lc" / "normal_llc.fits")
        with fits.open(first) as hdul:
            hdul[1].data = edit(hdul[1].data).copy()  # a contiguous table, as FITS writes
            hdul.writeto(ws / "lc" / "spoilt_llc.fits")
    return spoil


def shifted_time(scale=1.0, offset=0.0):
    """An edit of :func:`light_curves`: TIME × ``scale`` + ``offset`` (e.g. days to seconds, BKJD to BJD)."""
    def edit(rows):
        rows["TIME"] = rows["TIME"] * scale + offset
        return rows
    return edit


def scaler_of_another_model(ws):
    """model/ holds the shipped reference model with the pixel scaler of the workspace's own (another) model."""
    scaler = (ws / "model" / "pixel_scaler.npz").read_bytes()
    for name in MODEL_FILES:
        shutil.copy(reference_model_dir() / name, ws / "model" / name)
    (ws / "model" / "pixel_scaler.npz").write_bytes(scaler)


def duplicated_seismic_rows(ws):
    table = Table.read(ws / "survey/seismic.fits", hdu=1)
    from astropy.table import vstack
    vstack([table, table]).write(ws / "survey/seismic.fits", overwrite=True)


# --- the cases ---------------------------------------------------------------------------------------------------
@dataclass
class Case:
    argv: tuple
    spoil: object = None
    code: int = 2
    error: str | None = None  #: regex the single stderr line must match (exit code 2)
    warning: str | None = None  #: regex a logged warning must match
    outputs: tuple = ()  #: files the run may write (relative to the workspace), when it succeeds
    check: object = None  #: extra assertion on the workspace afterwards


def _catalog_has_latents(ws):
    catalog = Table.read(ws / "catalog.fits")
    assert np.isfinite(np.asarray(catalog["z0"], float)).mean() > 0.5


def _pair_count(ws, n):
    with h5py.File(ws / "pairs2.h5") as f:
        assert f["APOGEE_ID"].shape == (n,)


def _pairs_counts_each_star_once(ws):
    with h5py.File(ws / "pairs2.h5") as f:
        ids = f["APOGEE_ID"].asstr()[()]
    assert len(ids) == len(set(ids)) > 0


def _forest_test_stars_unique(ws):
    meta = json.loads((ws / "forest" / "metadata.json").read_text())
    seismic = Table.read(ws / "survey/seismic.fits", hdu=1)
    assert meta["n_eligible"] <= len(set(np.char.strip(np.asarray(seismic["APOGEE_ID"]).astype(str))))


CASES = {
    # stacked spectra (encode, pairs)
    "spectra: APOGEE_ID 10 rows, flux 300": Case(
        ENCODE, h5_edit(SPECTRA, h5_rows("APOGEE_ID", 10)),
        error=r"spectra\.h5.*flux has shape \(300, 8575\) but APOGEE_ID has 10 rows"),
    "spectra: flux_err 10 rows": Case(ENCODE, h5_edit(SPECTRA, h5_rows("flux_err", 10)),
                                      error=r"spectra\.h5.*flux_err has shape \(10, 8575\) but APOGEE_ID has 300 rows"),
    "spectra: no flux_err": Case(ENCODE, h5_edit(SPECTRA, lambda f: f.__delitem__("flux_err")),
                                 error=r"spectra\.h5 lacks the dataset\(s\) flux_err"),
    "spectra: no bitmask": Case(PAIRS, h5_edit(SPECTRA, lambda f: f.__delitem__("bitmask")),
                                error=r"spectra\.h5 lacks the dataset\(s\) bitmask"),
    "spectra: no APOGEE_ID": Case(ENCODE, h5_edit(SPECTRA, lambda f: f.__delitem__("APOGEE_ID")),
                                  error=r"spectra\.h5 lacks the dataset\(s\) APOGEE_ID"),
    "spectra: no rows": Case(ENCODE, h5_edit(SPECTRA, lambda f: [h5_rows(n, 0)(f) for n in
                                                              ("APOGEE_ID", "flux", "flux_err", "bitmask")]),
                             error=r"spectra\.h5 holds no spectra"),
    "spectra: truncated": Case(ENCODE, truncated(SPECTRA), error=r"spectra\.h5 is damaged or truncated"),
    "spectra: zero bytes": Case(ENCODE, zero_bytes(SPECTRA), error=r"spectra\.h5 is not an HDF5 file"),
    "spectra: a text file": Case(PAIRS, text(SPECTRA), error=r"spectra\.h5 is not an HDF5 file"),
    "spectra: an empty directory": Case(ENCODE, directory(SPECTRA),
                                        error=r"no \*\.fits spectra in directory .*spectra\.h5"),
    "spectra: every flux NaN": Case(ENCODE, h5_edit(SPECTRA, h5_nan_rows("flux", slice(None))),
                                    error=r"spectra\.h5: none of the 300 spectra is usable"),
    "spectra: some rows inf": Case(ENCODE, h5_edit(SPECTRA, h5_nan_rows("flux", slice(0, 5), np.inf)),
                                   code=0, outputs=("latent2.h5",),
                                   check=lambda ws: _nan_latents(ws / "latent2.h5", 5)),
    "spectra: IDs lower-case and padded": Case(
        PAIRS, h5_edit(SPECTRA, lambda f: h5_replace("APOGEE_ID", np.array(
            [f"  {s.lower()} " for s in f["APOGEE_ID"].asstr()[()]], dtype=h5py.string_dtype()))(f)),
        code=0, outputs=("pairs2.h5",), check=lambda ws: _pairs_counts_each_star_once(ws)),
    "spectra: a broken symlink": Case(ENCODE, broken_symlink(SPECTRA), error=r"spectra\.h5 does not exist"),
    "spectra: one apStar file unreadable": Case(
        ("encode", "{ws}/model", "{ws}/survey/apStar", "-o", "{ws}/latent2.h5", "--no-progress"),
        apstar_directory_with_a_bad_file, code=0, outputs=("latent2.h5",),
        warning=r"could not read spectrum .*2M99999999",
        check=lambda ws: _nan_latents(ws / "latent2.h5", 1)),
    # unusable spectra (encode): NaN latents and the NO_DATA flag, every other spectrum encoded as before
    "spectra: 20 all zero": Case(ENCODE, h5_edit(SPECTRA, h5_nan_rows("flux", slice(0, 20), 0.0)), code=0,
                                 outputs=("latent2.h5",), check=lambda ws: _unusable_spectra(ws, range(20))),
    "spectra: 20 all zero (catalog)": Case(ENCODE_WORKSPACE, h5_edit(SPECTRA, h5_nan_rows("flux", slice(0, 20), 0.0)),
                                           code=0, outputs=("latent.h5",), check=lambda ws: _not_encoded(ws, 20)),
    "spectra: constant flux": Case(ENCODE, h5_edit(SPECTRA, h5_nan_rows("flux", slice(5, 12), 250.0)), code=0,
                                   outputs=("latent2.h5",), check=lambda ws: _unusable_spectra(ws, range(5, 12))),
    "spectra: negative flux": Case(ENCODE, h5_edit(SPECTRA, h5_scale_rows("flux", slice(0, 6), -1.0)), code=0,
                                   outputs=("latent2.h5",), check=lambda ws: _unusable_spectra(ws, range(6))),
    "spectra: 3 pixels in 5 NaN": Case(
        ENCODE, h5_edit(SPECTRA, h5_nan_rows("flux", (slice(0, 8), np.arange(8575) % 5 < 3))), code=0,
        outputs=("latent2.h5",), check=lambda ws: _unusable_spectra(ws, range(8))),
    "spectra: normalised flux far outside [0, 2]": Case(
        ENCODE_PAIRS, h5_edit("pairs.h5", h5_scale_rows("spectra", slice(0, 9), 40.0)), code=0,
        outputs=("latent2.h5",), check=lambda ws: _unusable_spectra(ws, range(9))),
    "spectra: untouched, every one usable": Case(ENCODE, code=0, outputs=("latent2.h5",),
                                                 check=lambda ws: _unusable_spectra(ws, ())),
    # the model directory (encode)
    "model.keras: garbage": Case(ENCODE, text("model/model.keras", "not a zip"),
                                 error=r"model\.keras is not a Keras 3 \.keras file"),
    "model.keras: truncated": Case(ENCODE, truncated("model/model.keras"),
                                   error=r"model\.keras is (not a Keras|damaged)"),
    "model.keras: unknown class": Case(ENCODE, keras_with_unknown_class,
                                       error=r"model\.keras.*(MyCustomModel|unknown|not a)"),
    "model.keras: missing": Case(ENCODE, removed("model/model.keras"),
                                 error=r"model directory .*model lacks model\.keras"),
    "pixel_scaler.npz: garbage": Case(ENCODE, text("model/pixel_scaler.npz", "garbage"),
                                      error=r"pixel_scaler\.npz is not a pixel scaler file(?!.*allow_pickle)"),
    "pixel_scaler.npz: a pickle": Case(ENCODE, lambda ws: (ws / "model/pixel_scaler.npz").write_bytes(
        pickle.dumps({"mean": [1.0]})), error=r"pixel_scaler\.npz is not a pixel scaler file(?!.*allow_pickle)"),
    "pixel_scaler.npz: of another model": Case(
        ENCODE, scaler_of_another_model,
        error=r"model/pixel_scaler\.npz is not the pixel scaler .*model/model\.keras was saved with"),
    "metadata.json: no scaler fingerprint (an older model)": Case(
        ENCODE, json_edit("model/metadata.json", lambda d: {k: v for k, v in d.items() if k != SCALER_FINGERPRINT}),
        code=0, outputs=("latent2.h5",), check=lambda ws: _unusable_spectra(ws, ())),
    "metadata.json: a list": Case(ENCODE, text("model/metadata.json", "[1, 2, 3]"),
                                  error=r"metadata\.json is not a model metadata file"),
    "metadata.json: not JSON": Case(ENCODE, truncated("model/metadata.json", 0.3),
                                    error=r"metadata\.json is not valid JSON"),
    "metadata.json: latent_dim a string": Case(ENCODE, json_edit("model/metadata.json",
                                                                 lambda d: {**d, "latent_dim": "5"}),
                                               error=r"metadata\.json: latent_dim must be a positive integer, not '5'"),
    "metadata.json: frequency text": Case(ENCODE, json_edit("model/metadata.json", lambda d: {**d, "frequency": "x"}),
                                          error=r"metadata\.json: frequency must be a list of numbers"),
    "model: a file": Case(ENCODE, lambda ws: (shutil.rmtree(ws / "model"), (ws / "model").write_text("x")),
                          error=r"model directory .*model does not exist|is not a model directory"),
    # light curves (psd): what the time axis can carry; the other light curve of the batch goes on
    "light curve: every 48th cadence kept": Case(
        PSD, light_curves(lambda rows: rows[::48]), code=0, outputs=("psd2.h5",),
        warning=r"spoilt_llc\.fits: median cadence 2\d(\.\d)? h: Nyquist frequency [56]\.\d+ μHz, below the grid",
        check=lambda ws: (_light_curve_flags(ws, PSDFlag.UNDERSAMPLED), _not_paired(ws))),
    "light curve: time in seconds": Case(PSD, light_curves(shifted_time(scale=86400.0)), code=0,
                                         outputs=("psd2.h5",), warning=r"spoilt_llc\.fits: .*not in days",
                                         check=lambda ws: _light_curve_flags(ws, PSDFlag.TIME_NOT_DAYS)),
    "light curve: time in hours": Case(PSD, light_curves(shifted_time(scale=24.0)), code=0, outputs=("psd2.h5",),
                                       check=lambda ws: _light_curve_flags(ws, PSDFlag.TIME_NOT_DAYS)),
    "light curve: BJD instead of BKJD": Case(PSD, light_curves(shifted_time(offset=2454833.0)), code=0,
                                             outputs=("psd2.h5",), check=lambda ws: _light_curve_flags(ws, PSDFlag.OK)),
    "light curve: time reversed": Case(PSD, light_curves(lambda rows: rows[::-1]), code=0, outputs=("psd2.h5",),
                                       warning=r"spoilt_llc\.fits: .*not sorted",
                                       check=lambda ws: _light_curve_flags(ws, PSDFlag.UNSORTED_TIME)),
    "light curve: every cadence twice": Case(
        PSD, light_curves(lambda rows: rows[np.repeat(np.arange(len(rows)), 2)]), code=0, outputs=("psd2.h5",),
        warning=r"spoilt_llc\.fits: .*repeated", check=lambda ws: _light_curve_flags(ws, PSDFlag.DUPLICATE_TIME)),
    "light curve: 147 days": Case(PSD, light_curves(lambda rows: rows[: len(rows) // 10]), code=0,
                                  outputs=("psd2.h5",), warning=r"spoilt_llc\.fits: light curve spans 14\d d",
                                  check=lambda ws: _light_curve_flags(ws, PSDFlag.SHORT_BASELINE)),
    "light curve: untouched": Case(PSD, light_curves(lambda rows: rows), code=0, outputs=("psd2.h5",),
                                   check=lambda ws: _light_curve_flags(ws, PSDFlag.OK)),
    # the PSD file (pairs)
    "psd.h5: a text file": Case(PAIRS, text("psd.h5"), error=r"psd\.h5 is not an HDF5 file"),
    "psd.h5: zero bytes": Case(PAIRS, zero_bytes("psd.h5"), error=r"psd\.h5 is not an HDF5 file"),
    "psd.h5: truncated": Case(PAIRS, truncated("psd.h5"), error=r"psd\.h5 is damaged or truncated"),
    "psd.h5: a directory": Case(PAIRS, directory("psd.h5"), error=r"psd\.h5 is a directory"),
    "psd.h5: a latent file": Case(PAIRS, lambda ws: shutil.copy(ws / "latent.h5", ws / "psd.h5"),
                                  error=r"psd\.h5 is a latentexplorer\.latent file, not a latentexplorer\.psd"),
    "psd.h5: KIC rows differ": Case(PAIRS, h5_edit("psd.h5", h5_rows("KIC", 150)),
                                    error=r"psd\.h5: inconsistent PSD shapes: target_id \(200,\).*kic \(150,\)"),
    "psd.h5: PSDs without a target key": Case(
        PAIRS, h5_edit("psd.h5", h5_nan_rows("KIC", slice(0, 12), -1)), code=0,
        outputs=("pairs2.h5",), warning=r"psd\.h5: 12 usable PSDs cannot be joined to .*seismic\.fits: 12 have no "
                                        r"target key \(KIC or TIC\)$"),
    "psd.h5: NaN in unflagged PSDs": Case(PAIRS, h5_edit("psd.h5", h5_nan_rows("log_psd", slice(0, 7))), code=0,
                                          outputs=("pairs2.h5",), check=lambda ws: _pair_count(ws, 193)),
    # the seismic catalog (pairs, ages)
    "seismic: a text file": Case(PAIRS, text(SEISMIC), error=r"seismic\.fits is not a readable FITS file"),
    "seismic: zero bytes": Case(AGES, zero_bytes(SEISMIC), error=r"seismic\.fits is not a readable FITS file"),
    "seismic: truncated": Case(PAIRS, truncated(SEISMIC, 0.6), error=r"seismic\.fits is (damaged|not a readable)"),
    "seismic: no rows": Case(AGES, fits_edit(SEISMIC, lambda t: t[:0]), error=r"seismic\.fits has no rows"),
    "seismic: no NUMAX": Case(PAIRS, fits_edit(SEISMIC, lambda t: (t.remove_column("NUMAX"), t)[1]),
                              error=r"seismic\.fits lacks the seismic columns NUMAX"),
    "seismic: KIC as text": Case(PAIRS, fits_edit(SEISMIC, set_column("KIC", lambda t: np.array(
        [f"kic{k}" for k in t["KIC"]]))), error=r"seismic\.fits: KIC must be integers"),
    "seismic: NUMAX as text": Case(PAIRS, fits_edit(SEISMIC, set_column("NUMAX", lambda t: np.array(
        ["fast"] * len(t)))), error=r"seismic\.fits: NUMAX must be numbers, found 'fast'"),
    "seismic: KIC fractional": Case(PAIRS, fits_edit(SEISMIC, set_column("KIC", lambda t: t["KIC"] + 0.5)),
                                    error=r"seismic\.fits: KIC must be integers"),
    "seismic: unknown evolutionary states": Case(PAIRS, fits_edit(SEISMIC, set_column(
        "EVOLSTATE", lambda t: np.array(["XX"] * len(t)))), error=r"no seismic-catalog star of .*seismic\.fits"),
    "seismic: AGE NaN in some rows": Case(AGES, fits_edit(SEISMIC, set_column(
        "AGE", lambda t: np.where(np.arange(len(t)) < 20, np.nan, t["AGE"]))), code=0, outputs=FOREST_OUT),
    "seismic: -9999 NUMAX in some rows": Case(PAIRS, fits_edit(SEISMIC, lambda t: (
        t.__setitem__("NUMAX", np.where(np.arange(len(t)) < 10, -9999.0, t["NUMAX"])), t)[1]), code=0,
        outputs=("pairs2.h5",), check=lambda ws: _pair_count(ws, 190)),
    "seismic: duplicate rows (pairs)": Case(PAIRS, duplicated_seismic_rows, code=0, outputs=("pairs2.h5",),
                                            warning=r"seismic\.fits: \d+ rows repeat an earlier row's",
                                            check=_pairs_counts_each_star_once),
    "seismic: duplicate rows (ages)": Case(AGES, duplicated_seismic_rows, code=0, outputs=FOREST_OUT,
                                           warning=r"seismic\.fits: \d+ rows repeat an earlier row's",
                                           check=_forest_test_stars_unique),
    "seismic: NUMAX NaN in some rows": Case(PAIRS, fits_edit(SEISMIC, set_column(
        "NUMAX", lambda t: np.where(np.arange(len(t)) < 10, np.nan, t["NUMAX"]))), code=0, outputs=("pairs2.h5",)),
    "seismic: IDs match no allStar row": Case(AGES, fits_edit(SEISMIC, set_column(
        "APOGEE_ID", lambda t: np.array([f"X{i}" for i in range(len(t))]))),
        error=r"seismic\.fits: none of its \d+ APOGEE_IDs is in .*allStar\.fits"),
    "seismic: missing": Case(AGES, removed(SEISMIC), error=r"seismic\.fits is missing from the workspace"),
    # the allStar file (catalog, ages, orbits)
    "allStar: a text file": Case(CATALOG, text(ALLSTAR), error=r"allStar\.fits is not a readable FITS file"),
    "allStar: zero bytes": Case(ORBITS, zero_bytes(ALLSTAR), error=r"allStar\.fits is not a readable FITS file"),
    "allStar: truncated": Case(CATALOG, truncated(ALLSTAR, 0.6), error=r"allStar\.fits is (damaged|not a readable)"),
    "allStar: a directory": Case(CATALOG, directory(ALLSTAR), error=r"allStar\.fits is a directory"),
    "allStar: no rows": Case(CATALOG, fits_edit(ALLSTAR, lambda t: t[:0]), error=r"allStar\.fits has no rows"),
    "allStar: no rows (orbits)": Case(ORBITS, fits_edit(ALLSTAR, lambda t: t[:0]),
                                      error=r"allStar\.fits has no rows"),
    "allStar: no LOGG": Case(CATALOG, fits_edit(ALLSTAR, lambda t: (t.remove_column("LOGG"), t)[1]),
                             error=r"allStar.* lacks the columns LOGG"),
    "allStar: IDs lower-case and padded": Case(CATALOG, fits_edit(ALLSTAR, set_column(
        "APOGEE_ID", lambda t: np.array([f" {s.lower()}" for s in np.asarray(t["APOGEE_ID"]).astype(str)]))),
        code=0, outputs=CATALOG_OUT, check=_catalog_has_latents),
    "allStar: IDs as integers": Case(CATALOG, fits_edit(ALLSTAR, set_column(
        "APOGEE_ID", lambda t: np.arange(len(t), dtype=np.int64))),
        error=r"allStar\.fits: none of its \d+ APOGEE_IDs is in .*latent\.h5"),
    "allStar: a third of IDs unknown": Case(CATALOG, fits_edit(ALLSTAR, set_column(
        "APOGEE_ID", lambda t: np.where(np.arange(len(t)) % 3 == 0, "2MNOSUCHSTAR",
                                        np.asarray(t["APOGEE_ID"]).astype(str)))),
        code=0, outputs=CATALOG_OUT,
        warning=r"allStar\.fits: only 200 of 300 identifiers \(67 %\) are in .*latent\.h5"),
    "allStar: TEFF inf": Case(CATALOG, fits_edit(ALLSTAR, set_column("TEFF", np.inf)), code=0,
                              outputs=CATALOG_OUT, check=lambda ws: _all_flagged(ws, 16)),
    "allStar: -9999 in int LOGG of some rows": Case(CATALOG, fits_edit(ALLSTAR, set_column(
        "LOGG", lambda t: np.where(np.arange(len(t)) < 30, -9999, 3).astype(np.int32))), code=0,
        outputs=CATALOG_OUT, check=lambda ws: _flagged(ws, 4, 30)),
    "allStar: SNREV 0 everywhere": Case(CATALOG, fits_edit(ALLSTAR, set_column("SNREV", 0.0)),
                                        error=r"allStar\.fits: not one of its 300 rows keeps a latent representation "
                                              r"\(300 LOW_SNR"),
    "latent.h5: every latent NaN": Case(CATALOG, h5_edit("latent.h5", h5_nan_rows("z_mean", slice(None))),
                                        error=r"allStar\.fits: not one of its 300 rows keeps a latent.*NO_LATENT"),
    "allStar: duplicate IDs": Case(CATALOG, fits_edit(ALLSTAR, set_column(
        "APOGEE_ID", lambda t: np.concatenate([np.asarray(t["APOGEE_ID"][:1]), np.asarray(t["APOGEE_ID"][:-1])]))),
        code=0, outputs=CATALOG_OUT, check=_catalog_has_latents),
    "allStar: TEFF as text": Case(CATALOG, fits_edit(ALLSTAR, set_column(
        "TEFF", lambda t: np.array(["hot"] * len(t)))), error=r"allStar\.fits: TEFF must be numbers"),
    "allStar: no DIST anywhere (orbits)": Case(ORBITS, fits_edit(ALLSTAR, set_column("DIST", np.nan)),
                                               error=r"allStar\.fits: not one of its 300 rows has a position"),
    "allStar: one row with DEC 95 (orbits)": Case(ORBITS, fits_edit(ALLSTAR, set_column(
        "DEC", lambda t: np.where(np.arange(len(t)) == 0, 95.0, t["DEC"]))), code=0, outputs=("orbits2.fits",),
        check=lambda ws: _orbit_flags(ws, first=1, others=0)),
    "allStar: RA NaN and DEC -91 in two rows (orbits)": Case(ORBITS, fits_edit(ALLSTAR, lambda t: (
        t.__setitem__("RA", np.where(np.arange(len(t)) == 0, np.nan, t["RA"])),
        t.__setitem__("DEC", np.where(np.arange(len(t)) == 1, -91.0, t["DEC"])), t)[2]), code=0,
        outputs=("orbits2.fits",), check=lambda ws: _orbit_flags(ws, first=1, others=0, n_first=2)),
    "allStar: a text file (orbits)": Case(ORBITS, text(ALLSTAR), error=r"allStar\.fits is not a readable FITS"),
    "allStar: missing (orbits)": Case(ORBITS, removed(ALLSTAR), error=r"allStar\.fits does not exist"),
    # pairs.h5 (train)
    "pairs.h5: a text file (train)": Case(("train", "{ws}/pairs.h5", "-o", "{ws}/model2", "--epochs", "1"),
                                          text("pairs.h5"), error=r"pairs\.h5 is not an HDF5 file"),
    "pairs.h5: truncated (train)": Case(("train", "{ws}/pairs.h5", "-o", "{ws}/model2", "--epochs", "1"),
                                        truncated("pairs.h5"), error=r"pairs\.h5 is damaged or truncated"),
    # latent.h5, forest/ (catalog)
    "latent.h5: truncated": Case(CATALOG, truncated("latent.h5"), error=r"latent\.h5 is damaged or truncated"),
    "latent.h5: a text file": Case(CATALOG, text("latent.h5"), error=r"latent\.h5 is not an HDF5 file"),
    "latent.h5: z_mean rows differ": Case(CATALOG, h5_edit("latent.h5", h5_rows("z_mean", 10)),
                                          error=r"latent\.h5.*inconsistent latent shapes"),
    "latent.h5: NaN latents": Case(CATALOG, h5_edit("latent.h5", h5_nan_rows("z_mean", slice(0, 20))), code=0,
                                   outputs=CATALOG_OUT),
    "latent.h5: missing (ages)": Case(AGES, removed("latent.h5"), error=r"latent\.h5 is missing from the workspace"),
    "forest: missing": Case(CATALOG, lambda ws: shutil.rmtree(ws / "forest"),
                            error=r"forest is missing from the workspace"),
    "forest: a pickle": Case(CATALOG, lambda ws: (ws / "forest/age_forest.skops").write_bytes(pickle.dumps([1, 2])),
                             error=r"age_forest\.skops is not a skops"),
    "forest: garbage": Case(CATALOG, text("forest/evolstate_forest.skops"),
                            error=r"evolstate_forest\.skops is not a skops"),
    "forest: metadata a list": Case(CATALOG, text("forest/metadata.json", "[]"),
                                    error=r"forest.*metadata\.json is not a latentexplorer\.forest file"),
    "forest: metadata not JSON": Case(CATALOG, text("forest/metadata.json", "{"),
                                      error=r"forest.*metadata\.json is not valid JSON"),
    "forest: tree arrays garbage": Case(CATALOG, text("forest/tree_arrays.npz"),
                                        error=r"tree_arrays\.npz is not a readable tree-array file"),
    # outputs
    "output: directory missing": Case(("catalog", "{ws}", "-o", "{ws}/nowhere/c.fits", "--no-progress"),
                                      error=r"output directory .*nowhere does not exist"),
    # --overwrite never destroys an input, however it is named (issue 25, item 1)
    "overwrite: psd onto the directory of its light curves": Case(
        ("psd", "{ws}/survey/kepler", "-o", "{ws}/survey", "--overwrite", "--no-progress"),
        light_curves_with(lambda k: None), error=r"survey holds .*_llc\.fits, an input of this step"),
    "overwrite: psd onto a light curve of its input directory": Case(
        ("psd", "{ws}/survey/kepler", "-o", "{ws}/survey/kepler/target_llc.fits", "--overwrite", "--no-progress"),
        light_curves_with_target, error=r"target_llc\.fits is also an input of this step"),
    "overwrite: encode onto its model's weights": Case(
        ("encode", "{ws}/model", "{ws}/survey/spectra.h5", "-o", "{ws}/model/model.keras", "--overwrite"),
        error=r"model\.keras lies inside .*model, an input of this step"),
    "overwrite: catalog onto its age forest": Case(
        ("catalog", "{ws}", "-o", "{ws}/forest/age_forest.skops", "--overwrite", "--no-progress"),
        error=r"age_forest\.skops lies inside .*forest, an input of this step"),
    "overwrite: train into the directory holding its pairs": Case(
        ("train", "{ws}/pairs.h5", "-o", "{ws}", "--overwrite", "--epochs", "1"),
        error=r"holds .*pairs\.h5, an input of this step"),
    "catalog: an unrelated CSV where its CSV goes": Case(
        ("catalog", "{ws}", "-o", "{ws}/ages.fits", "--no-progress"), users_gzip("ages.csv.gz"),
        error=r"ages\.csv\.gz exists and is not a latentexplorer catalog file; add --overwrite"),
    "catalog: a foreign gzip as the CSV, with --overwrite": Case(
        ("catalog", "{ws}", "-o", "{ws}/ages.fits", "--no-progress", "--overwrite"), users_gzip("ages.csv.gz"),
        code=0, outputs=("ages.fits", "ages.csv.gz")),
    "temporaries: your files named like them are kept": Case(
        ENCODE, lambda ws: [(ws / n).write_text("mine") for n in (".latent2.h5.backup-2024", ".latent2.h5.20241201",
                                                                   ".latent2.h5.letmp-mine")],
        code=0, outputs=("latent2.h5",)),
    "lock: a symbolic link to another file": Case(
        ENCODE, lambda ws: os.symlink(ws / SEISMIC, ws / ".latent2.h5.lock"),
        error=r"lock .*\.latent2\.h5\.lock of .*latent2\.h5 is a symbolic link, which is never followed"),
    "lock: a dangling symbolic link": Case(
        ENCODE, lambda ws: os.symlink(ws / "nowhere", ws / ".latent2.h5.lock"),
        error=r"\.latent2\.h5\.lock of .* is a symbolic link"),
    "lock: a hard link to another file": Case(
        ENCODE, lambda ws: os.link(ws / SEISMIC, ws / ".latent2.h5.lock"),
        error=r"\.latent2\.h5\.lock of .* is linked to another file"),
    "lock: a directory": Case(ENCODE, lambda ws: (ws / ".latent2.h5.lock").mkdir(),
                              error=r"\.latent2\.h5\.lock of .* is a directory"),
    "output: a 243-character name": Case(
        ("encode", "{ws}/model", "{ws}/survey/spectra.h5", "-o", "{ws}/" + "l" * 240 + ".h5", "--no-progress"),
        code=0, outputs=("l" * 240 + ".h5",)),
    "demo.json: not JSON": Case(("demo", "--build-only", "--size", "tiny", "--train", "--workspace", "{ws}"),
                                truncated("demo.json", 0.3), error=r"exists and is not a demo workspace"),
    "demo.json: a list": Case(("demo", "--build-only", "--size", "tiny", "--train", "--workspace", "{ws}"),
                              text("demo.json", "[1, 2]"), error=r"exists and is not a demo workspace"),
    "simulate: a trillion stars": Case(("simulate", "--n-stars", "1000000000000", "--n-kepler", "0", "-o", "{ws}/big"),
                                       error=r"a survey of 1,000,000,000,000 stars needs about 4 PB of memory"),
    "simulate: more light curves than the disk holds": Case(
        ("simulate", "--n-stars", "200000", "--n-kepler", "200000", "-o", "{ws}/big"),
        error=r"a survey of 200,000 stars \(stacked spectra\) needs about 1\.\d+ TB in .*big, .* free"),
    # links and foreign files among light curves (psd): a flagged row each, the batch goes on
    "light curves: a symbolic link loop among them": Case(
        PSD_KEPLER, light_curves_with(lambda k: os.symlink(k / "loop_llc.fits", k / "loop_llc.fits")), code=0,
        outputs=("psd2.h5",), check=lambda ws: _unreadable_rows(ws, "loop_llc.fits")),
    "light curves: a link to a missing file among them": Case(
        PSD_KEPLER, light_curves_with(lambda k: os.symlink(k / "gone.fits", k / "dangling_llc.fits")), code=0,
        outputs=("psd2.h5",), check=lambda ws: _unreadable_rows(ws, "dangling_llc.fits")),
    "light curves: a text file named like one": Case(
        PSD_KEPLER, light_curves_with(lambda k: (k / "notes_llc.fits").write_text("my notes")), code=0,
        outputs=("psd2.h5",), check=lambda ws: _unreadable_rows(ws, "notes_llc.fits")),
    "workspace: a symbolic link loop (serve)": Case(
        ("serve", "{ws}/loop", "--no-browser"), lambda ws: os.symlink(ws / "loop", ws / "loop"),
        error=r"loop is a symbolic link loop \(it leads back to itself\)"),
    "workspace: a symbolic link loop (status)": Case(
        ("status", "{ws}/loop"), lambda ws: os.symlink(ws / "loop", ws / "loop"),
        error=r"loop (is a symbolic link loop|does not exist)"),
    "provenance.json: not JSON (status)": Case(("status", "{ws}"), text(LEDGER_NAME, "{garbage"), code=1),
    "provenance.json: a foreign JSON object (status)": Case(("status", "{ws}"), text(LEDGER_NAME, '{"a": 1}'), code=1),
    "report: no age forest": Case(("report", "{ws}", "--no-progress"), lambda ws: shutil.rmtree(ws / "forest"),
                                  error=r"1200 training stars asked, but only \d+ of the \d+ eligible stars"),
    "orbits: default output of a workspace's allStar": Case(
        ("orbits", "{ws}/survey/allStar.fits", "--no-progress", "--overwrite"), code=0, outputs=("orbits.fits",),
        check=lambda ws: (not (ws / "survey" / "orbits.fits").exists()) or pytest.fail("wrote survey/orbits.fits")),
}


def _orbit_flags(ws, first, others, n_first=1):
    """The first ``n_first`` rows of orbits2.fits carry FLAG ``first`` (MISSING_POSITION) with NaN R; the
    stars with a position otherwise keep theirs."""
    table = Table.read(ws / "orbits2.fits")
    flags = np.asarray(table["FLAG"])
    assert np.all(flags[:n_first] == first) and np.isnan(np.asarray(table["R"][:n_first], float)).all()
    assert np.isfinite(np.asarray(table["R"][n_first:], float)).mean() > 0.9 and (flags[n_first:] == others).mean() > 0.5


def _unreadable_rows(ws, name):
    """psd2.h5 holds the tiny demo's light curves, each with a PSD, and ``name`` as one UNREADABLE row."""
    psd = read_psd_file(ws / "psd2.h5")
    bad = np.array([Path(source).name == name for source in psd.source])
    assert bad.sum() == 1 and psd.flags[bad][0] & PSDFlag.UNREADABLE and np.isnan(psd.log_psd[bad]).all()
    assert np.isfinite(psd.log_psd[~bad]).all() and (~bad).sum() == len(list((ws / "survey/kepler").glob("kplr*")))


def _unusable_spectra(ws, rows):
    """latent2.h5 has NaN latents and the NO_DATA flag on ``rows`` (indices into its spectra) alone; every other
    star has the latents of the workspace's own latent.h5."""
    new, old = read_latent(ws / "latent2.h5"), read_latent(ws / "latent.h5")
    unusable = np.isnan(new.z_mean).any(axis=1)
    assert np.flatnonzero(unusable).tolist() == list(rows)
    assert np.all(new.flag[list(rows)] & SpectrumFlag.NO_DATA)
    np.testing.assert_allclose(new.z_mean[~unusable], old.z_mean[match_ids(new.apogee_id[~unusable], old.apogee_id)],
                               atol=1e-5)


def _not_encoded(ws, n):
    """The catalog made from latent.h5 flags exactly the first ``n`` stars of the spectra not encoded (AGE_FLAG 1)."""
    assert main(["catalog", str(ws), "--no-progress"]) == 0
    catalog = Table.read(ws / "catalog.fits")
    with h5py.File(ws / SPECTRA) as f:
        spoilt = f["APOGEE_ID"].asstr()[:n]
    not_encoded = (np.asarray(catalog["AGE_FLAG"]) & 1) != 0
    assert sorted(np.char.strip(np.asarray(catalog["APOGEE_ID"][not_encoded]).astype(str))) == sorted(spoilt)
    assert np.isnan(np.asarray(catalog["z0"], float)[not_encoded]).all()


def _light_curve_flags(ws, spoilt):
    """psd2.h5 flags ``spoilt_llc.fits`` with exactly ``spoilt`` and ``normal_llc.fits`` with none (a finite PSD)."""
    psds = read_psd_file(ws / "psd2.h5")
    flags = {Path(source).name: PSDFlag(int(flag)) for source, flag in zip(psds.source, psds.flags)}
    assert flags == {"spoilt_llc.fits": spoilt, "normal_llc.fits": PSDFlag.OK}
    assert np.isfinite(psds.log_psd[[Path(source).name == "normal_llc.fits" for source in psds.source]]).all()


def _not_paired(ws):
    """pairs made from psd2.h5 hold the normal light curve's star, not the spoilt one's."""
    psds = read_psd_file(ws / "psd2.h5")
    assert main([a.format(ws=ws) for a in PAIRS[:1] + ("{ws}/psd2.h5",) + PAIRS[2:]]) == 0
    with h5py.File(ws / "pairs2.h5") as f:
        paired = f["KIC"][()].tolist()
    assert paired == [int(kic) for kic, source in zip(psds.kic, psds.source) if source.endswith("normal_llc.fits")]


def _nan_latents(path, n):
    with h5py.File(path) as f:
        z = f["z_mean"][()]
    assert np.isnan(z).any(axis=1).sum() == n


def _flagged(ws, bit, n):
    flags = np.asarray(Table.read(ws / "catalog.fits")["AGE_FLAG"])
    assert ((flags & bit) != 0).sum() == n


def _all_flagged(ws, bit):
    catalog = Table.read(ws / "catalog.fits")
    assert np.all(np.asarray(catalog["AGE_FLAG"]) & bit) and np.isnan(np.asarray(catalog["Age"], float)).all()


# --- the runner --------------------------------------------------------------------------------------------------
def _snapshot(root: Path) -> dict:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = (f"link to {os.readlink(path)}" if path.is_symlink() else "dir" if path.is_dir()
                    else hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def _copy_workspace(tmp_path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(tiny_workspace(), root, ignore=shutil.ignore_patterns("report", "kepler", "checkpoint"))
    return root


@pytest.mark.parametrize("name", list(CASES))
def test_a_spoilt_input_gives_one_line_or_a_flag(name, tmp_path, capsys, caplog, monkeypatch):
    case = CASES[name]
    monkeypatch.setattr("latentexplorer.steps.psd.default_jobs", lambda: 1)  # PSD rows here: their warnings in caplog
    ws = _copy_workspace(tmp_path)
    if case.spoil is not None:
        case.spoil(ws)
    before = _snapshot(ws)
    capsys.readouterr()
    with caplog.at_level(logging.WARNING):
        code = main([a.format(ws=ws) for a in case.argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code == case.code, err
    after = _snapshot(ws)
    if case.code == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, err
        assert re.search(case.error, lines[0]), lines[0]
        assert after == before  # inputs untouched, no output, no debris
    else:
        may_change = {o for o in case.outputs} | {str(Path(o).parent) for o in case.outputs} | \
            {LEDGER_NAME}  # the workspace's ledger: the step records what it read
        assert {k: v for k, v in after.items() if k not in may_change} == \
               {k: v for k, v in before.items() if k not in may_change}
        assert {k for k in after if k in may_change} >= set(case.outputs)
    if case.warning:
        assert any(re.search(case.warning, r.getMessage()) for r in caplog.records
                   if r.levelno >= logging.WARNING), [r.getMessage() for r in caplog.records]
    if case.check is not None:
        case.check(ws)


@pytest.mark.parametrize("raised, code, words", [(KeyError("x"), 1, "internal error: KeyError: 'x' (a bug"),
                                                 (KeyboardInterrupt(), 130, "interrupted")])
def test_a_bug_or_ctrl_c_is_one_line_too(monkeypatch, capsys, raised, code, words):
    import latentexplorer.commands.ages as ages

    def run(args):
        raise raised

    monkeypatch.setattr(ages, "run", run)
    assert main(["ages", "nowhere"]) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and words in err and "Traceback" not in err
    with pytest.raises(type(raised)) if code == 1 else contextlib.nullcontext():
        main(["-vv", "ages", "nowhere"])  # -vv: the traceback of a bug


# --- a full and a read-only disk: a real tmpfs in a private mount namespace ----------------------------------
def _unshare_available() -> bool:
    try:
        return subprocess.run(["unshare", "-Urm", "true"], capture_output=True).returncode == 0
    except OSError:
        return False


DISK_CASES = {  # (step, tmpfs options): the one line expected
    ("catalog", "size=16k"): r"No space left on device: .*catalog\.fits needs about .* MB free",  # checked first
    ("catalog", "size=64k"): r"No space left on device while writing .*catalog\.fits",  # fails while writing
    ("orbits", "size=16k"): r"No space left on device: .*orbits\.fits needs about",
    ("orbits", "size=64k"): r"No space left on device while writing .*orbits\.fits",
    ("encode", "size=16k"): r"No space left on device",
    ("pairs", "size=1m"): r"No space left on device: .*pairs\.h5 needs about 7\.7 MB",
    ("catalog", "size=1m,ro"): r"is not writable|Read-only file system",
    ("orbits", "size=1m,ro"): r"is not writable|Read-only file system",
    ("encode", "size=1m,ro"): r"is not writable|Read-only file system",
    ("train", "size=64k"): r"No space left on device: .*model needs about 38 MB, 0\.0\d+ MB free",
    ("train", "size=1m,ro"): r"is not writable|Read-only file system",
    ("simulate", "size=1m"): r"a survey of 300 stars \(stacked spectra\) needs about 14\.\d MB in .*sim, 1\.\d+ MB free",
    ("simulate", "size=100m,ro"): r"cannot create output directory .*sim|is not writable|Read-only file system",
}


@pytest.mark.skipif(not _unshare_available(), reason="needs unshare (a private mount namespace) to mount a tmpfs")
@pytest.mark.parametrize("step, mount", list(DISK_CASES))
def test_a_full_or_read_only_output_disk_gives_one_line_and_no_debris(tmp_path, step, mount):
    message = DISK_CASES[step, mount]
    ws = _copy_workspace(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    before = _snapshot(ws)
    argv = {"catalog": f"catalog {ws} -o {out}/catalog.fits",
            "orbits": f"orbits {ws}/survey/allStar.fits -o {out}/orbits.fits",
            "encode": f"encode {ws}/model {ws}/survey/spectra.h5 -o {out}/latent.h5",
            "pairs": f"pairs {ws}/psd.h5 {ws}/survey/spectra.h5 {ws}/survey/seismic.fits -o {out}/pairs.h5",
            "train": f"train {ws}/pairs.h5 -o {out}/model --epochs 1",
            "simulate": f"simulate --n-stars 300 --n-kepler 0 -o {out}/sim --no-progress"}[step]
    quiet = "" if step in ("train", "simulate") else " --no-progress"
    script = (f"mount -t tmpfs -o {mount} none {out} && {sys.executable} -m latentexplorer {argv}{quiet}; "
              f"rc=$?; ls -A {out}; exit $rc")
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(["unshare", "-Urm", "sh", "-c", script], capture_output=True, text=True, env=env)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2, run.stderr
    assert len(lines) == 1 and re.search(message, lines[0]) and "Traceback" not in run.stderr, run.stderr
    assert run.stdout.strip() == ""  # nothing left on the mounted disk: no .parts, no temporaries, no lock
    assert _snapshot(ws) == before


@pytest.mark.parametrize("make, reason", [
    (lambda d: os.symlink(d / "loop_llc.fits", d / "loop_llc.fits"), r"a symbolic link loop: it leads back to itself"),
    (lambda d: os.symlink(d / "gone.fits", d / "loop_llc.fits"), r"a symbolic link to \S+gone\.fits, which does not"),
    (lambda d: (d / "loop_llc.fits").write_text("notes"), r"Not recognized as a supported data product: \S+\)$"),
])
def test_an_unreadable_light_curve_says_why_and_never_to_delete_it(tmp_path, make, reason):
    from latentexplorer.io.lightcurves import read_light_curve

    make(tmp_path)
    with pytest.raises(ValueError, match=r"loop_llc\.fits: not a readable Kepler/TESS light curve \(") as raised:
        read_light_curve(tmp_path / "loop_llc.fits")
    assert re.search(reason, str(raised.value)) and "remove it" not in str(raised.value)


@pytest.mark.skipif(not _unshare_available(), reason="needs unshare (a private mount namespace) to mount read-only")
def test_demo_build_only_opens_a_complete_read_only_workspace(tmp_path):
    """A finished demo on a read-only disk (a workshop's shared copy) builds nothing and writes nothing."""
    root = tmp_path / "ws"
    shutil.copytree(tiny_workspace(), root)
    script = (f"mount --bind {root} {root} && mount -o remount,bind,ro {root} && {sys.executable} -m latentexplorer "
              f"demo --build-only --size tiny --train --workspace {root}")
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(["unshare", "-Urm", "sh", "-c", script], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert "all stages already built" in run.stdout
