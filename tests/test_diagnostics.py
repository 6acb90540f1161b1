"""Latent-space audits on synthetic populations whose information content is known by construction."""

import json

import numpy as np
import pytest
from scipy import stats

from latentexplorer.audits.ages import age_ablation, age_audit
from latentexplorer.audits.classes import evolstate_audit
from latentexplorer.audits.labels import label_audit, seismic_audit
from latentexplorer.audits.leakage import leakage_audit
from latentexplorer.audits.reference import reference_audit, spectrum_baseline_audit
from latentexplorer.ages.split import calibration_size, split_indices
from latentexplorer.seismo import deltanu_from_numax

FAST = {"n_estimators": 40}


def population(n=3000, alpha_age_slope=0.0, seed=0):
    """Giants whose 5-D "latent space" knows ν_max, excess Δν, the state and age at fixed [Fe/H],
    but nothing of [α/M]; [α/M] depends on age through ``alpha_age_slope`` only."""
    rng = np.random.default_rng(seed)
    rc = rng.random(n) < 0.35
    log_age = np.where(rc, rng.uniform(-0.2, 0.7, n), rng.uniform(0.0, 1.1, n))
    fe_h = rng.normal(-0.1, 0.2, n)
    alpha_m = 0.08 + alpha_age_slope * (log_age - 0.5) + 0.04 * rng.standard_normal(n)
    numax = 10 ** np.where(rc, rng.normal(1.5, 0.05, n), rng.uniform(1.0, 2.3, n))
    deltanu = deltanu_from_numax(numax) * np.where(rc, 0.9, 1.0) * (1 + 0.02 * rng.standard_normal(n))
    teff = 4800.0 - 300.0 * (np.log10(numax) - 1.5) - 200.0 * fe_h + 40.0 * rng.standard_normal(n)
    latent = np.column_stack([
        np.log10(numax) + 0.02 * rng.standard_normal(n),
        np.log10(deltanu / deltanu_from_numax(numax)) + 0.003 * rng.standard_normal(n),
        rc + 0.3 * rng.standard_normal(n),
        log_age - 0.5 * fe_h + 0.04 * rng.standard_normal(n),
        rng.standard_normal(n),
    ])
    log_age_err = np.full(n, 0.05)  # ≈ 12 %
    return {
        "latent": latent, "latent_err": np.full(latent.shape, 0.01), "state": np.where(rc, "RC", "RGB"),
        "log_age": log_age + log_age_err * rng.standard_normal(n), "log_age_true": log_age,
        "log_age_err": log_age_err, "fe_h": fe_h, "alpha_m": alpha_m, "teff": teff,
        "numax": numax, "deltanu": deltanu,
    }


@pytest.fixture(scope="module")
def pop():
    return population()


def test_split_is_seeded_disjoint_and_complete():
    train, cal, test = split_indices(100, 60, seed=3, n_calibration=10)
    assert (train.size, cal.size, test.size) == (60, 10, 30)
    assert np.array_equal(np.sort(np.concatenate([train, cal, test])), np.arange(100))
    assert all(np.array_equal(a, b) for a, b in zip((train, cal, test), split_indices(100, 60, 3, 10)))
    assert not np.array_equal(train, split_indices(100, 60, 4, 10)[0])
    with pytest.raises(ValueError, match="0 stars are left after 100 training stars, too few"):
        split_indices(100, 100)
    with pytest.raises(ValueError, match="1200 training stars asked, but only 110 of the 110 eligible stars"):
        split_indices(110, 1200, n_calibration=calibration_size(np.arange(110), 1200))


def test_split_with_a_holdout_tests_only_reserved_stars():
    reserved = np.arange(0, 100, 4)  # 25 stars, e.g. those the encoder never trained on
    train, cal, test = split_indices(100, 60, seed=1, n_calibration=5, holdout=reserved)
    assert train.size == 60 and not np.isin(train, reserved).any()
    assert np.array_equal(np.sort(np.concatenate([cal, test])), reserved) and cal.size == 5
    with pytest.raises(ValueError, match="only 75 of the 100 eligible stars outside the 25 held out can train"):
        split_indices(100, 80, holdout=reserved)  # only 75 stars may train


def test_latent_without_alpha_cannot_predict_it(pop):
    audits = label_audit(pop["latent"], {"alpha_m": pop["alpha_m"], "teff": pop["teff"]},
                         latent_err=pop["latent_err"], forest_params=FAST)
    assert audits["alpha_m"].n_train == 2000 and audits["alpha_m"].n_test == 1000
    assert audits["alpha_m"].r2 < 0.05
    assert audits["teff"].r2 > 0.5  # Teff follows ν_max, which the latent space holds
    assert audits["alpha_m"].scatter == pytest.approx(0.04, rel=0.15)  # no better than the spread


def test_seismic_parameters_are_recovered_fractionally(pop):
    audits = seismic_audit(pop["latent"], pop["numax"], pop["deltanu"], forest_params=FAST)
    # ν_max is in z0 with 0.02 dex noise (4.6 %); excess Δν in z1 (0.7 %) up to its 2 % scatter
    assert audits["numax"].fractional and audits["numax"].scatter < 0.07
    assert abs(audits["numax"].bias) < 0.01
    assert audits["deltanu"].scatter < 0.07
    assert audits["excess_deltanu"].scatter < 0.03
    assert audits["numax"].r2 > 0.95


def test_evolstate_confusion_matrix(pop):
    audit = evolstate_audit(pop["latent"], pop["state"], forest_params=FAST)
    cm = np.array(audit.confusion)
    assert audit.labels == ("RC", "RGB") and cm.sum() == audit.n_test == 1000
    # z2 separates the states by 1 with 0.3 noise: ≈ 5 % cross over
    assert audit.misclassification_rate < 0.10
    assert audit.error_rates["RC"] == pytest.approx(cm[0, 1] / cm[0].sum())
    assert audit.misclassification_rate == pytest.approx((cm[0, 1] + cm[1, 0]) / cm.sum())


def test_age_audit_scores_and_calibrates(pop):
    X = np.column_stack([pop["latent"], pop["teff"], pop["fe_h"]])
    X_err = np.column_stack([pop["latent_err"], np.full((3000, 1), 50.0), np.full((3000, 1), 0.02)])
    audit = age_audit(X, pop["log_age"], pop["log_age_err"], pop["state"], features_err=X_err,
                      alpha_m=pop["alpha_m"], forest_params=FAST)
    assert (audit.n_train, audit.n_calibration, audit.n_test) == (1200, 540, 1260)
    assert audit.overall.scatter < 0.25 and abs(audit.overall.bias) < 0.03
    assert set(audit.by_state) == {"RC", "RGB"}
    assert audit.by_state["RC"].n + audit.by_state["RGB"].n == audit.n_test
    assert 0.9 < audit.pull_width_mad < 1.1
    assert not audit.leakage.leaks


def test_ablation_shows_fe_h_matters_and_uses_one_split(pop):
    audits = age_ablation(pop["latent"], {"teff": pop["teff"], "fe_h": pop["fe_h"]}, pop["log_age"],
                          pop["log_age_err"], pop["state"], latent_err=pop["latent_err"],
                          combinations=((), ("fe_h",)), forest_params=FAST)
    assert list(audits) == ["latent", "latent+fe_h"]
    assert np.array_equal(audits["latent"].test_index, audits["latent+fe_h"].test_index)
    # age = z3 + 0.5 [Fe/H]: without [Fe/H] the 0.1 dex it contributes is missing
    assert audits["latent+fe_h"].overall.scatter < 0.75 * audits["latent"].overall.scatter
    assert audits["latent+fe_h"].features == ("fe_h",)


def test_seismic_reference_recovers_the_seismic_parameters_and_the_state(pop):
    features = np.log10(np.column_stack([pop["numax"], pop["deltanu"]]))
    ref = reference_audit(features, name="seismic", feature_names=("log_numax", "log_deltanu"), numax=pop["numax"],
                          deltanu=pop["deltanu"], alpha_m=pop["alpha_m"], evolstate=pop["state"],
                          forest_params=FAST)
    assert ref.seismic["numax"].scatter < 0.01  # the features are ν_max itself
    assert ref.alpha_m.r2 < 0.05  # [α/M] does not depend on the seismic parameters here
    assert ref.evolstate.misclassification_rate < 0.05  # the clump's Δν is 10 % low at its ν_max
    assert ref.age is None and ref.to_dict()["age"] is None


def test_reference_ages_use_the_latent_audits_stars_and_extra_columns(pop):
    kwargs = dict(rows=np.arange(2500), n_train=1200, forest_params=FAST)
    latent = age_audit(np.column_stack([pop["latent"], pop["fe_h"]]), pop["log_age"], pop["log_age_err"],
                       pop["state"], **kwargs)
    perfect = reference_audit(pop["log_age_true"], name="true age", feature_names=("log_age",),
                              log_age=pop["log_age"], log_age_err=pop["log_age_err"], evolstate=pop["state"],
                              age_extras={"fe_h": pop["fe_h"]}, n_state_train=1200, **kwargs)
    assert np.array_equal(perfect.age.test_index, latent.test_index)
    assert perfect.age.features == ("log_age", "fe_h") and perfect.age_features == ("fe_h",)
    # the true age leaves only the labels' 0.05 dex (≈ 12 %) noise
    assert perfect.age.overall.scatter < 0.16 < latent.overall.scatter


def test_injected_alpha_leakage_is_detected_and_clean_features_pass():
    p = population(alpha_age_slope=0.15, seed=5)
    rng = np.random.default_rng(6)
    noisy_age = p["log_age_true"] + 0.15 * rng.standard_normal(3000)
    kwargs = {"alpha_m": p["alpha_m"], "reference_log_age": p["log_age_true"], "forest_params": FAST}
    clean = age_audit(np.column_stack([noisy_age, rng.standard_normal(3000)]), p["log_age"],
                      p["log_age_err"], **kwargs)
    leaky = age_audit(np.column_stack([noisy_age, p["alpha_m"]]), p["log_age"], p["log_age_err"], **kwargs)
    assert not clean.leakage.leaks and abs(clean.leakage.t_statistic) < 2.5
    assert leaky.leakage.leaks and leaky.leakage.slope > 0 and leaky.leakage.p_value < 1e-6


def test_leakage_holds_true_age_fixed():
    rng = np.random.default_rng(7)
    truth = rng.uniform(0.0, 1.1, 1500)
    alpha = 0.2 * truth + 0.03 * rng.standard_normal(1500)
    # regression to the mean: residuals track true age, hence [α/M], without any [α/M] information
    pred = truth - 0.3 * (truth - truth.mean()) + 0.05 * rng.standard_normal(1500)
    assert stats.pearsonr(pred - truth, alpha).pvalue < 1e-10
    clean = leakage_audit(truth, pred, alpha)
    assert not clean.leaks and abs(clean.partial_correlation) < 0.08
    leaky = leakage_audit(truth, pred + 0.5 * (alpha - 0.2 * truth), alpha)
    assert leaky.leaks and abs(leaky.slope - 0.5) < 3 * leaky.slope_err
    assert leaky.slope_err == pytest.approx(0.05 / (0.03 * np.sqrt(1500)), rel=0.15)


def test_leakage_can_hold_fe_h_fixed():
    rng = np.random.default_rng(10)
    truth = rng.uniform(0.0, 1.1, 1500)
    fe_h = rng.normal(-0.1, 0.2, 1500)
    alpha = 0.1 - 0.3 * fe_h + 0.03 * rng.standard_normal(1500)  # the [α/M]–[Fe/H] anti-correlation
    pred = truth + 0.2 * fe_h + 0.05 * rng.standard_normal(1500)  # a residual trend with an input, [Fe/H]
    assert leakage_audit(truth, pred, alpha).leaks
    held = leakage_audit(truth, pred, alpha, covariates=fe_h)
    assert not held.leaks and abs(held.slope) < 3 * held.slope_err


def test_spectrum_baseline_uses_the_same_stars_and_shows_its_leakage():
    p = population(alpha_age_slope=0.15, seed=8)
    rng = np.random.default_rng(9)
    pixels = rng.standard_normal((3, 300))
    spectra = (np.column_stack([p["log_age"] + 0.15 * rng.standard_normal(3000), 5 * p["alpha_m"],
                                p["fe_h"]]) @ pixels + 0.05 * rng.standard_normal((3000, 300))).astype(np.float32)
    X = np.column_stack([p["latent"], p["fe_h"]])
    kwargs = {"alpha_m": p["alpha_m"], "reference_log_age": p["log_age_true"], "forest_params": FAST}
    latent_audit = age_audit(X, p["log_age"], p["log_age_err"], **kwargs)
    baseline = spectrum_baseline_audit(spectra, p["log_age"], p["log_age_err"], n_components=5, **kwargs)
    assert np.array_equal(baseline.train_index, latent_audit.train_index)
    assert np.array_equal(baseline.test_index, latent_audit.test_index)
    assert baseline.leakage.leaks and not latent_audit.leakage.leaks


def test_rows_with_missing_inputs_are_excluded_and_counted(pop):
    teff = pop["teff"].copy()
    teff[:50] = np.nan
    audits = age_ablation(pop["latent"], {"teff": teff}, pop["log_age"], pop["log_age_err"],
                          combinations=((), ("teff",)), forest_params={"n_estimators": 10})
    assert audits["latent"].n_excluded == audits["latent+teff"].n_excluded == 50
    assert not np.isin(np.arange(50), audits["latent"].test_index).any()


def test_to_dict_is_plain_json(pop):
    audit = age_audit(pop["latent"], pop["log_age"], pop["log_age_err"], pop["state"],
                      alpha_m=pop["alpha_m"], forest_params={"n_estimators": 10})
    d = json.loads(json.dumps(audit.to_dict()))
    assert set(d["by_state"]) == {"RC", "RGB"} and isinstance(d["leakage"]["leaks"], bool)
    assert "log_age_pred" not in d and isinstance(d["overall"]["scatter"], float)
    cm = evolstate_audit(pop["latent"], pop["state"], forest_params={"n_estimators": 10}).to_dict()
    assert json.loads(json.dumps(cm))["labels"] == ["RC", "RGB"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: label_audit(p["latent"], {"fe_h": p["fe_h"][:10]}), r"label 'fe_h' has shape \(10, 1\)"),
        (lambda p: age_audit(p["latent"], p["log_age"], p["log_age_err"], features_err=np.ones((3, 5))),
         r"features_err has shape \(3, 5\)"),
        (lambda p: evolstate_audit(p["latent"], p["state"][:-1]), r"state has shape \(2999,\)"),
        (lambda p: age_ablation(p["latent"], {}, p["log_age"], p["log_age_err"]), "not given in extras"),
        (lambda p: seismic_audit(p["latent"], p["numax"], p["deltanu"][:5]), "numax has shape"),
    ],
)
def test_mismatched_inputs_raise(pop, call, message):
    with pytest.raises(ValueError, match=message):
        call(pop)


def test_envelope_audit_counts_reconstructions_within_10_percent():
    from latentexplorer import psd
    from latentexplorer.audits.envelopes import envelope_audit

    freq = psd.frequency_grid()

    def hump(numax):  # a flattened PSD with a Gaussian envelope of the expected width, no granulation
        sigma = 0.66 * numax**0.88 / 2.355
        return np.log1p(3.0 * np.exp(-0.5 * ((freq - numax) / sigma) ** 2))

    true = np.array([20.0, 50.0, 120.0, 80.0])
    reconstructed = np.stack([hump(20.0), hump(51.0), hump(150.0), np.zeros(freq.size)])  # 0 %, 2 %, 25 %, none
    audit = envelope_audit(reconstructed, freq, true)
    assert audit.n == 4 and audit.n_no_envelope == 1
    assert audit.within_10pc == pytest.approx(0.5)
    with pytest.raises(ValueError, match="ν_max values"):
        envelope_audit(reconstructed, freq, true[:3])
