"""A small workspace written with the real writers, whose latent space knows age by construction.

No network is trained: ``latent.h5`` is written in the layout of ``latentexplorer encode`` from a
latent space that holds ν_max, the RC/RGB state and log age at fixed [Fe/H] (but no [α/M]), so the age
steps can be tested in seconds.
"""

import numpy as np
from astropy.table import Table

from latentexplorer.io.allstar import ALLSTAR_COLUMNS, write_allstar
from latentexplorer.io.apogee_spectra import NormalizedSpectraWriter
from latentexplorer.io.latent import LatentSet, write_latent
from latentexplorer.io.seismic import write_seismic_catalog
from latentexplorer.io.truth import write_truth
from latentexplorer.seismo import deltanu_from_numax
from latentexplorer.workspace import Workspace

AGE_REL_ERR = 0.15  # seismic age errors, fractional


def make_workspace(root, n_stars=1500, n_seismic=900, seed=0, spectra=False, latent_dim=5):
    """Write survey/allStar.fits, survey/seismic.fits, truth.fits, latent.h5 (and optionally a
    normalised survey/spectra.h5) under ``root``; returns (Workspace, truth Table).

    Stars 0..n_seismic-1 are the seismic ones; all giants have 2.6 < log g < 3.4 and SNREV > 50, so
    every seismic star passes the age cuts. Row ``n_stars - 1`` is not in latent.h5.
    """
    rng = np.random.default_rng(seed)
    n = n_stars
    rc = rng.random(n) < 0.35
    log_age = np.where(rc, rng.uniform(-0.2, 0.6, n), rng.uniform(0.0, 1.05, n))
    fe_h = rng.normal(-0.1, 0.2, n)
    alpha_m = 0.05 + 0.1 * (log_age - 0.4) + 0.03 * rng.standard_normal(n)
    numax = 10 ** np.where(rc, rng.normal(1.55, 0.04, n), rng.uniform(1.5, 2.2, n))
    deltanu = deltanu_from_numax(numax) * np.where(rc, 0.9, 1.0)
    logg = 2.6 + 0.8 * (np.log10(numax) - 1.4)
    teff = 4800.0 - 300.0 * (np.log10(numax) - 1.5) - 200.0 * fe_h + 30.0 * rng.standard_normal(n)
    ids = np.array([f"2M{i:08d}+0000000" for i in range(n)])
    latent = np.column_stack([
        np.log10(numax), rc + 0.2 * rng.standard_normal(n), log_age - 0.5 * fe_h,
        0.1 * rng.standard_normal(n), rng.standard_normal(n),
    ])[:, :latent_dim].astype(np.float32)
    truth = Table({"APOGEE_ID": ids, "KIC": np.where(np.arange(n) < n_seismic, np.arange(n) + 1, -1),
                   "EVOLSTATE": np.where(rc, "RC", "RGB"), "AGE": 10**log_age, "TEFF": teff, "LOGG": logg,
                   "FE_H": fe_h, "ALPHA_M": alpha_m, "NUMAX": numax, "DELTANU": deltanu})
    ws = Workspace(root)
    ws.paths.survey.mkdir(parents=True, exist_ok=True)
    write_truth(truth, ws.paths.truth)

    allstar = {name: np.zeros(n, dtype) for name, dtype, _ in ALLSTAR_COLUMNS}
    allstar.update(APOGEE_ID=ids, TELESCOPE=np.full(n, "apo25m"), FIELD=np.full(n, "KEPLER"),
                   SNREV=np.full(n, 120.0), TEFF=teff, TEFF_ERR=np.full(n, 30.0), LOGG=logg,
                   LOGG_ERR=np.full(n, 0.05), M_H=fe_h, FE_H=fe_h, FE_H_ERR=np.full(n, 0.02), ALPHA_M=alpha_m,
                   ALPHA_M_ERR=np.full(n, 0.01), C_FE=np.full(n, 0.05), N_FE=np.full(n, 0.2))
    write_allstar(ws.paths.allstar, allstar)

    s = slice(0, n_seismic)
    age_obs = 10 ** log_age[s] * np.exp(AGE_REL_ERR * rng.standard_normal(n_seismic))
    write_seismic_catalog(ws.paths.seismic, {
        "KIC": np.arange(n_seismic) + 1, "APOGEE_ID": ids[s], "NUMAX": numax[s], "NUMAX_ERR": 0.01 * numax[s],
        "DNU": deltanu[s], "DNU_ERR": 0.005 * deltanu[s], "EVOLSTATE": truth["EVOLSTATE"][s],
        "MASS": np.ones(n_seismic), "MASS_ERR": np.full(n_seismic, 0.1), "AGE": age_obs,
        "AGE_ERR": AGE_REL_ERR * age_obs,
    })

    encoded = slice(0, n - 1)
    write_latent(ws.paths.latent, LatentSet(ids[encoded], latent[encoded], np.full_like(latent[encoded], 0.01),
                                            np.zeros(n - 1, np.int32), "synthetic"))
    if spectra:
        # 7514 pixels: a few carry log age and [α/M] (so a spectrum regression can see [α/M])
        pix = np.ones((n, 7514), np.float32)
        pix[:, :50] += (0.05 * (log_age[:, None] - 0.5) + 0.01 * rng.standard_normal((n, 50))).astype(np.float32)
        pix[:, 50:100] += (0.2 * alpha_m[:, None] + 0.01 * rng.standard_normal((n, 50))).astype(np.float32)
        with NormalizedSpectraWriter(ws.paths.survey / "spectra.h5") as writer:
            writer.append(ids, pix)
    return ws, truth
